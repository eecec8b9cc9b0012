// Internal to the json_store adapter: its actions (backup, restore, baseline, verify). Each
// runs with params already checked with References::kResolved, so it reads them without
// further type checks. docs/adapters/file.md describes what each does, its outputs and what
// a crash leaves behind.
#pragma once

#include "adapters/adapter.h"

namespace backout::adapters::json_store {

// One `json_store` action. A verify fills outputs (every check's result) on failure too.
Outcome RunAction(const Invocation& invocation);

}  // namespace backout::adapters::json_store
