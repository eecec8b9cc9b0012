// Internal to the file adapter: the `file` target's operations (copy, restore, set_env,
// unset_env).
// Each runs with params already checked with References::kResolved, so it reads them without
// further type checks. docs/adapters/file.md describes what each does, its outputs and what a
// crash leaves behind.
#pragma once

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "base/status.h"

namespace backout::adapters::file {

// One `file` action: the operation its params hold, on paths inside the target's root.
Result<nlohmann::json> RunFileOperation(const Invocation& invocation);

}  // namespace backout::adapters::file
