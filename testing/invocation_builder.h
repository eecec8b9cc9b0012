// InvocationBuilder: one way for tests to make the adapters::Invocation an adapter is run
// with, naming only what the test cares about.
//
//   Outcome out = adapter->Run(testing::InvocationBuilder("backup")
//                                  .Target("appdb", {{"type", "sqlite"}, {"path", "app.db"}})
//                                  .Params({{"to", "backups/"}})
//                                  .Dirs(dir.path())
//                                  .Build());
//
// Unless set: no target, empty params, no baseline, no run facts, run id "", step id "step",
// attempt 1, no directories, no log, no timeout, now_micros 0, no cancel flag, no progress callback,
// Env::Default().
//
// Thread safety: a builder is used by one thread. Ownership: the cancel flag, the log and the
// Env are not owned; they must outlive the invocations built with them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "base/env.h"

namespace backout::testing {

class InvocationBuilder {
 public:
  explicit InvocationBuilder(std::string action);

  // The target's config (with its "type"); with `name`, params["target"] is set to it too,
  // as the plan does (whatever Params() says).
  InvocationBuilder& Target(nlohmann::json config);
  InvocationBuilder& Target(std::string name, nlohmann::json config);
  InvocationBuilder& Params(nlohmann::json params);
  InvocationBuilder& RunId(std::string run_id);
  InvocationBuilder& StepId(std::string step_id);
  InvocationBuilder& Attempt(int attempt);
  InvocationBuilder& BaseDir(std::filesystem::path dir);
  InvocationBuilder& LogDir(std::filesystem::path dir);
  // The attempt's full output log (not owned; must outlive the invocations built with it).
  InvocationBuilder& Log(adapters::AttemptLog* log);
  // Both base_dir and log_dir.
  InvocationBuilder& Dirs(const std::filesystem::path& dir);
  InvocationBuilder& Timeout(std::chrono::milliseconds timeout);
  InvocationBuilder& NowMicros(std::int64_t now_micros);
  InvocationBuilder& Cancel(const std::atomic<bool>* cancel);
  InvocationBuilder& Progress(std::function<void(std::string_view)> progress);
  InvocationBuilder& UseEnv(Env* env);
  // What the engine passes a verify step (the outputs of the baseline it compares with) and
  // a notify step (the run's facts).
  InvocationBuilder& Baseline(nlohmann::json baseline);
  InvocationBuilder& RunFacts(nlohmann::json facts);

  adapters::Invocation Build() const;

 private:
  adapters::Invocation invocation_;
  std::string target_name_;  // empty: params["target"] is left as Params() gave it
};

}  // namespace backout::testing
