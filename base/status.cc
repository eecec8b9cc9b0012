#include "base/status.h"

#include <fmt/format.h>

namespace backout {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "Invalid argument";
    case Code::kNotFound: return "Not found";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "I/O error";
    case Code::kLocked: return "Locked";
    case Code::kFailedPrecondition: return "Failed precondition";
    case Code::kTimeout: return "Timeout";
    case Code::kCancelled: return "Cancelled";
    case Code::kExpectationFailed: return "Expectation failed";
    case Code::kUnavailable: return "Unavailable";
  }
  return "Unknown";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, message_));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", CodeName(code_), message_);
}

}  // namespace backout
