// Shared by the adapters: when a step's work must stop. SIGINT/SIGTERM set the
// invocation's `cancel` flag, or the step's timeout passes; long work polls
// Fired() or Check(), and anything that waits (a network call, a backoff sleep,
// a statement timeout) is cut to what is left.
//
// Thread safety: used by one thread; it only reads the cancel flag, which a
// signal handler may set.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/env.h"
#include "base/status.h"

namespace backout::adapters::common {

// How Check() words its two answers. Each adapter keeps the words its users
// already see.
struct StopWording {
  std::string_view cancelled;                                   // kCancelled's message
  std::string (*timed_out)(std::chrono::milliseconds timeout);  // kTimeout's, from the timeout
};

// "cancelled", "deadline of 5s passed".
extern const StopWording kPlainStopWording;

class StopCondition {
 public:
  // `cancel` may be null (never cancelled); a zero `timeout` means no deadline.
  // The deadline starts counting now (on the steady clock). Sleep() sleeps through `env`
  // (the invocation's; not owned, must outlive this).
  StopCondition(const std::atomic<bool>* cancel, std::chrono::milliseconds timeout,
                const StopWording& wording = kPlainStopWording, Env* env = Env::Default());

  // True once the cancel flag is set (the deadline aside).
  bool Cancelled() const;

  // True once work must stop. Cheap enough to call every few thousand SQLite
  // instructions.
  bool Fired() const;

  // OK while work may go on; otherwise kCancelled or kTimeout saying which.
  Status Check() const;

  // What is left before the deadline (nullopt: none). Never negative.
  std::optional<std::chrono::milliseconds> Remaining() const;

  // `wanted`, shortened to the time left before the deadline; at least 1 ms (a
  // zero timeout means "none" to curl).
  std::chrono::milliseconds Cap(std::chrono::milliseconds wanted) const;

  // Sleeps `d` (capped to the deadline), waking early on cancel; then Check().
  Status Sleep(std::chrono::milliseconds d) const;

  const std::atomic<bool>* cancel() const { return cancel_; }

 private:
  const std::atomic<bool>* cancel_;
  std::chrono::milliseconds timeout_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  StopWording wording_;
  Env* env_;
};

}  // namespace backout::adapters::common
