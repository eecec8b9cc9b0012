// FakeEnv: an Env for tests (base/env.h). Its clock stands still until the test sets or
// advances it; SleepFor advances that clock by the delay instead of sleeping, and records
// the delay asked for; its environment variables are only those the test set (the process's
// environment is not seen). HostName, LoginName and ProcessUser are forwarded to the target
// Env until the test sets a host name or a process user of its own.
//
// Only what asks the Env moves with it: code that waits for a deadline on the steady clock
// (adapters' step timeouts) while sleeping through the Env polls without pause until the
// real deadline passes, so give such code a cancel flag or no deadline.
//
//   testing::FakeEnv env;                       // 2025-11-24T16:00:00Z
//   env.SetVar("DB_PASSWORD", "hunter2");
//   ... code under test sleeps 5 s, then 10 s ...
//   EXPECT_EQ(env.sleeps(), (std::vector<std::chrono::milliseconds>{5s, 10s}));
//
// Thread safety: every member may be called from any thread (one mutex guards the state), so
// a test may advance the clock while the code under test reads it.
// Ownership: the target Env is not owned and must outlive the FakeEnv.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"

namespace backout::testing {

class FakeEnv final : public EnvWrapper {
 public:
  // 2025-11-24T16:00:00Z: a fixed instant, so timestamped names come out the same every run.
  static constexpr std::int64_t kDefaultNowMicros = 1'764'000'000'000'000;

  explicit FakeEnv(std::int64_t now_micros = kDefaultNowMicros, Env* target = Env::Default());

  std::int64_t NowMicros() override;
  // Returns false at once (the clock unmoved) when *cancel is already true; otherwise moves
  // the clock by `d` and returns true. The delay is recorded either way.
  bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel) override;
  std::optional<std::string> GetVar(const std::string& name) override;
  std::string HostName() override;
  OsUser ProcessUser() override;

  void SetNowMicros(std::int64_t now_micros);
  void Advance(std::chrono::microseconds d);
  void SetVar(const std::string& name, std::string value);
  void UnsetVar(const std::string& name);
  void SetHostName(std::string host);
  void SetProcessUser(OsUser user);

  // Every delay SleepFor was asked for, in order.
  std::vector<std::chrono::milliseconds> sleeps() const;

 private:
  mutable std::mutex mu_;
  std::int64_t now_micros_;
  std::map<std::string, std::string> vars_;
  std::vector<std::chrono::milliseconds> sleeps_;
  std::optional<std::string> host_;
  std::optional<OsUser> process_user_;
};

}  // namespace backout::testing
