#include "adapters/common/stop.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/time.h"

namespace backout::adapters::common {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const StopWording kPlainStopWording = {"cancelled", [](milliseconds timeout) {
                                         return fmt::format("deadline of {} passed",
                                                            FormatDuration(timeout));
                                       }};

StopCondition::StopCondition(const std::atomic<bool>* cancel, milliseconds timeout,
                             const StopWording& wording, Env* env)
    : cancel_(cancel), timeout_(timeout), wording_(wording), env_(env) {
  if (timeout.count() > 0) deadline_ = Clock::now() + timeout;
}

bool StopCondition::Cancelled() const { return cancel_ != nullptr && cancel_->load(); }

bool StopCondition::Fired() const {
  return Cancelled() || (deadline_.has_value() && Clock::now() >= *deadline_);
}

Status StopCondition::Check() const {
  if (Cancelled()) return Status::Cancelled(std::string(wording_.cancelled));
  if (Fired()) return Status::Timeout(wording_.timed_out(timeout_));
  return Status::Ok();
}

std::optional<milliseconds> StopCondition::Remaining() const {
  if (!deadline_.has_value()) return std::nullopt;
  const auto left = std::chrono::duration_cast<milliseconds>(*deadline_ - Clock::now());
  return std::max(left, milliseconds(0));
}

milliseconds StopCondition::Cap(milliseconds wanted) const {
  if (!deadline_.has_value()) return wanted;
  const auto left = std::chrono::duration_cast<milliseconds>(*deadline_ - Clock::now());
  return std::clamp(left, milliseconds(1), std::max(wanted, milliseconds(1)));
}

Status StopCondition::Sleep(milliseconds d) const {
  env_->SleepFor(Cap(d), cancel_);
  return Check();
}

}  // namespace backout::adapters::common
