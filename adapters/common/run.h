// Shared by the adapters' Run(): the frame around an action, so that a step
// fails the same way whatever its adapter when its params are wrong or
// something throws.
#pragma once

#include <functional>
#include <string_view>
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

// The one function that checks an adapter's invocation, at plan time
// (References::kUnresolved, from Validate()) and at run time (kResolved).
using InvocationValidator = std::vector<ParamError> (*)(std::string_view action,
                                                        const nlohmann::json& target,
                                                        const nlohmann::json& params,
                                                        References references);

// The Run() of an adapter checked by an InvocationValidator: `validate` at run
// time, then `run()`, in the frame of RunChecked.
Outcome RunValidated(const Invocation& invocation, InvocationValidator validate,
                     const std::function<Outcome()>& run);

// For an adapter that reads its invocation into a typed value as it checks it (command,
// http, notify): `read(action, target, params, references, value)` fills `value` and
// returns every problem found.
template <typename Value>
using InvocationReader = std::vector<ParamError> (*)(std::string_view action,
                                                     const nlohmann::json& target,
                                                     const nlohmann::json& params,
                                                     References references, Value& value);

// Its Validate(): `read` at plan time (References::kUnresolved).
template <typename Value>
std::vector<ParamError> CheckRead(InvocationReader<Value> read, std::string_view action,
                                  const nlohmann::json& target, const nlohmann::json& params) {
  Value value;
  return read(action, target, params, References::kUnresolved, value);
}

// Its Run(): `read` at run time, then `act(value)`, in the frame of RunChecked (the params
// named as the action: ParamsNoun::kAction).
template <typename Value, typename Act>
Outcome RunRead(const Invocation& invocation, InvocationReader<Value> read, Act act) {
  Value value;
  return RunChecked(
      invocation,
      [&] {
        return read(invocation.action, invocation.target, invocation.params,
                    References::kResolved, value);
      },
      [&] { return act(static_cast<const Value&>(value)); }, ParamsNoun::kAction);
}

}  // namespace backout::adapters::common
