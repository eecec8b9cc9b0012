// Env: the process's view of the outside world that is not a target: the clock, sleeping,
// environment variables and the machine's identity.
//
// Everything with side effects or nondeterminism that the engine and the adapters need goes
// through an Env, so tests can inject a fixed clock or a synthetic environment
// (testing/fake_env.h). The state machine never sees an Env: time reaches it only inside
// events. The engine passes its session's Env to adapters in Invocation::env and
// LockRequest::env.
//
// Thread safety: every Env must be safe to use from any thread (an adapter may sleep on one
// thread while the engine reads the clock on another). Env::Default() is.
//
// Ownership: an Env is never owned by what uses it; whoever creates one keeps it alive for
// as long as anything holds its pointer (Env::Default() lives for the whole process).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace backout {

// An operating-system user as a fact about a process: its real uid (getuid, who started it,
// also under a setuid binary) and that uid's name in the user database.
struct OsUser {
  // (uid_t)-1, which the kernel gives no user (setuid(-1) means "leave unchanged").
  static constexpr std::uint32_t kUnknownUid = 0xffffffff;

  std::uint32_t uid = kUnknownUid;
  std::string name;  // empty when the user database has no entry for `uid`

  bool operator==(const OsUser&) const = default;
};

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

  // The real user of this process, from the kernel and the user database only (never from
  // environment variables, which the caller controls): what the journal records as the OS
  // user of every record it appends. The default Env looks the name up once per uid.
  virtual OsUser ProcessUser() = 0;

  // The real operating-system environment. Never destroyed.
  static Env* Default();
};

// An Env that forwards every call to a target Env (LevelDB's EnvWrapper): a test or a tool
// derives from it and overrides only what it needs to change.
//
// Ownership: the target is not owned and must outlive the wrapper. Thread safety: as the
// target's, plus whatever the overrides add.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}

  Env* target() const { return target_; }

  std::int64_t NowMicros() override { return target_->NowMicros(); }
  bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel) override {
    return target_->SleepFor(d, cancel);
  }
  std::optional<std::string> GetVar(const std::string& name) override {
    return target_->GetVar(name);
  }
  std::string HostName() override { return target_->HostName(); }
  std::string LoginName() override { return target_->LoginName(); }
  OsUser ProcessUser() override { return target_->ProcessUser(); }

 private:
  Env* target_;
};

}  // namespace backout
