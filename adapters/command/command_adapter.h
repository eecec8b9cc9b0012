// Command target adapter: runs a program (argv, no shell) or a shell script (`shell:`),
// with cwd, env, a timeout that kills the whole process group, and accepted exit codes.
// See docs/adapters/command.md for every parameter.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeCommandAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& CommandVocabulary();

// The adapter's Preflight (preflight.cc beside this header).
std::vector<PreflightFinding> CommandPreflight(const PreflightRequest& request);

}  // namespace backout::adapters
