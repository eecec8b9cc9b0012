// Shared by the adapters' Run(): the frame around an action, so that a step
// fails the same way whatever its adapter when its params are wrong or
// something throws.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "adapters/adapter.h"
#include "base/status.h"

namespace backout::adapters::common {

// An action's outputs as an Outcome: OK with `outputs`, or the error with no
// outputs.
Outcome FromResult(Result<nlohmann::json> outputs);

// The frame of one Run(). `errors` are what checking the expanded invocation
// found (References::kResolved): when there are any, returns kInvalidArgument
// with DescribeErrors(errors) and runs nothing. Else returns `run()`; an
// exception from it becomes kIOError "ACTION: unexpected error: WHAT" and fails
// the step, not the process (params are checked first, so none is expected:
// this is for an overlooked case, or bad_alloc).
Outcome RunChecked(const Invocation& invocation, const std::vector<ParamError>& errors,
                   const std::function<Outcome()>& run);

}  // namespace backout::adapters::common
