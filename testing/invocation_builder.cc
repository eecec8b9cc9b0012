#include "testing/invocation_builder.h"

#include <utility>

namespace backout::testing {

InvocationBuilder::InvocationBuilder(std::string action) {
  invocation_.action = std::move(action);
  invocation_.params = nlohmann::json::object();
  invocation_.step_id = "step";
}

InvocationBuilder& InvocationBuilder::Target(nlohmann::json config) {
  invocation_.target = std::move(config);
  return *this;
}

InvocationBuilder& InvocationBuilder::Target(std::string name, nlohmann::json config) {
  target_name_ = std::move(name);
  return Target(std::move(config));
}

InvocationBuilder& InvocationBuilder::Params(nlohmann::json params) {
  invocation_.params = std::move(params);
  return *this;
}

InvocationBuilder& InvocationBuilder::RunId(std::string run_id) {
  invocation_.run_id = std::move(run_id);
  return *this;
}

InvocationBuilder& InvocationBuilder::StepId(std::string step_id) {
  invocation_.step_id = std::move(step_id);
  return *this;
}

InvocationBuilder& InvocationBuilder::Attempt(int attempt) {
  invocation_.attempt = attempt;
  return *this;
}

InvocationBuilder& InvocationBuilder::BaseDir(std::filesystem::path dir) {
  invocation_.base_dir = std::move(dir);
  return *this;
}

InvocationBuilder& InvocationBuilder::LogDir(std::filesystem::path dir) {
  invocation_.log_dir = std::move(dir);
  return *this;
}

InvocationBuilder& InvocationBuilder::Log(adapters::AttemptLog* log) {
  invocation_.log = log;
  return *this;
}

InvocationBuilder& InvocationBuilder::Dirs(const std::filesystem::path& dir) {
  return BaseDir(dir).LogDir(dir);
}

InvocationBuilder& InvocationBuilder::Timeout(std::chrono::milliseconds timeout) {
  invocation_.timeout = timeout;
  return *this;
}

InvocationBuilder& InvocationBuilder::NowMicros(std::int64_t now_micros) {
  invocation_.now_micros = now_micros;
  return *this;
}

InvocationBuilder& InvocationBuilder::Cancel(const std::atomic<bool>* cancel) {
  invocation_.cancel = cancel;
  return *this;
}

InvocationBuilder& InvocationBuilder::Progress(std::function<void(std::string_view)> progress) {
  invocation_.progress = std::move(progress);
  return *this;
}

InvocationBuilder& InvocationBuilder::UseEnv(Env* env) {
  invocation_.env = env;
  return *this;
}

InvocationBuilder& InvocationBuilder::Baseline(nlohmann::json baseline) {
  invocation_.baseline = std::move(baseline);
  return *this;
}

InvocationBuilder& InvocationBuilder::RunFacts(nlohmann::json facts) {
  invocation_.run_facts = std::move(facts);
  return *this;
}

adapters::Invocation InvocationBuilder::Build() const {
  adapters::Invocation invocation = invocation_;
  if (!target_name_.empty()) invocation.params["target"] = target_name_;
  return invocation;
}

}  // namespace backout::testing
