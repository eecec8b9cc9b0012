#include "adapters/common/run.h"

#include <fmt/format.h>

#include <exception>
#include <utility>

#include "adapters/common/params.h"

namespace backout::adapters::common {

Outcome FromResult(Result<nlohmann::json> outputs) {
  if (!outputs.ok()) return Outcome{outputs.status()};
  return Outcome{Status::Ok(), std::move(outputs).value()};
}

Outcome RunChecked(const Invocation& invocation,
                   const std::function<std::vector<ParamError>()>& check,
                   const std::function<Outcome()>& run, ParamsNoun noun) {
  try {
    if (const std::vector<ParamError> errors = check(); !errors.empty()) {
      return Outcome{Status::InvalidArgument(DescribeErrors(errors, noun, invocation.action))};
    }
    return run();
  } catch (const std::exception& e) {
    return Outcome{
        Status::IOError(fmt::format("{}: unexpected error: {}", invocation.action, e.what()))};
  }
}

Outcome RunValidated(const Invocation& invocation, InvocationValidator validate,
                     const std::function<Outcome()>& run) {
  return RunChecked(
      invocation,
      [&] {
        return validate(invocation.action, invocation.target, invocation.params,
                        References::kResolved);
      },
      run);
}

}  // namespace backout::adapters::common
