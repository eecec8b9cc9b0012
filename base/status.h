// Status and Result<T>: how every module boundary in backout reports success or failure.
//
// A Status carries a code (what kind of failure, which the CLI maps to an exit code) and a
// human-readable message that already names the thing that failed. Context is added on the
// way up with WithContext(), so a message reads outermost first:
//   "step backup: sqlite appdb (/data/app.db): unable to open database file"
//
// Thread safety: Status and Result are plain values; distinct objects may be used from
// distinct threads without synchronization.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace backout {

enum class Code {
  kOk,
  kInvalidArgument,    // a plan, flag or request is malformed (exit 2)
  kNotFound,           // a run, step, file or table that should exist does not
  kCorruption,         // the journal's records or chain are damaged (exit 4)
  kIOError,            // the operating system or a library refused an operation
  kLocked,             // another runner holds the run (exit 5)
  kFailedPrecondition, // the request is well-formed but the state forbids it now
  kTimeout,            // an action ran past its deadline
  kCancelled,          // SIGINT/SIGTERM asked us to stop; the outcome may be unknown
  kExpectationFailed,  // an action ran and its answer was "no" (exit code, check, verify)
  kUnavailable,        // a target could not be reached
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status Locked(std::string m) { return {Code::kLocked, std::move(m)}; }
  static Status FailedPrecondition(std::string m) {
    return {Code::kFailedPrecondition, std::move(m)};
  }
  static Status Timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status Cancelled(std::string m) { return {Code::kCancelled, std::move(m)}; }
  static Status ExpectationFailed(std::string m) {
    return {Code::kExpectationFailed, std::move(m)};
  }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message"; an OK status stays OK.
  Status WithContext(std::string_view context) const;

  // "Corruption: message", or "OK".
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "a Result built from a Status must carry an error");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace backout

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define BACKOUT_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::backout::Status backout_status_ = (expr);    \
    if (!backout_status_.ok()) return backout_status_; \
  } while (0)
