// Env: the process's view of the outside world that is not a target: the clock, sleeping,
// environment variables and the machine's identity.
//
// Everything with side effects or nondeterminism that the engine needs goes through an Env,
// so tests can inject a fixed clock or a synthetic environment. The state machine never sees
// an Env: time reaches it only inside events.
//
// Thread safety: Env::Default() is safe to use from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace backout {

class Env {
 public:
  virtual ~Env() = default;

  // Microseconds since the Unix epoch, UTC.
  virtual std::int64_t NowMicros() = 0;

  // Sleeps for `d`, waking early (and returning false) once *cancel becomes true.
  virtual bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel) = 0;

  virtual std::optional<std::string> GetVar(const std::string& name) = 0;

  virtual std::string HostName() = 0;

  // The login name of the user running backout ("unknown" when it cannot be told).
  virtual std::string LoginName() = 0;

  // The real operating-system environment. Never destroyed.
  static Env* Default();
};

}  // namespace backout
