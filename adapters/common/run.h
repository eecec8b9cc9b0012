// Shared by the adapters' Run(): the frame around an action, so that a step
// fails the same way whatever its adapter when its params are wrong or
// something throws.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/params.h"
#include "base/status.h"

namespace backout::adapters::common {

// An action's outputs as an Outcome: OK with `outputs`, or the error with no
// outputs.
Outcome FromResult(Result<nlohmann::json> outputs);

// The frame of every adapter's Run(). `check()` checks the expanded invocation
// (References::kResolved); when it finds errors, returns kInvalidArgument with
// DescribeErrors(errors, noun, invocation.action) and runs nothing. Else
// returns `run()`. An exception from either becomes kIOError "ACTION:
// unexpected error: WHAT" and fails the step, not the process (params are
// checked first, so none is expected: this is for an overlooked case, or
// bad_alloc).
Outcome RunChecked(const Invocation& invocation,
                   const std::function<std::vector<ParamError>()>& check,
                   const std::function<Outcome()>& run, ParamsNoun noun = ParamsNoun::kParams);

}  // namespace backout::adapters::common
