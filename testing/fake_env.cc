#include "testing/fake_env.h"

#include <utility>

namespace backout::testing {

FakeEnv::FakeEnv(std::int64_t now_micros, Env* target)
    : EnvWrapper(target), now_micros_(now_micros) {}

std::int64_t FakeEnv::NowMicros() {
  const std::lock_guard lock(mu_);
  return now_micros_;
}

bool FakeEnv::SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel) {
  const std::lock_guard lock(mu_);
  sleeps_.push_back(d);
  if (cancel != nullptr && cancel->load()) return false;
  now_micros_ += std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return true;
}

std::optional<std::string> FakeEnv::GetVar(const std::string& name) {
  const std::lock_guard lock(mu_);
  const auto it = vars_.find(name);
  if (it == vars_.end()) return std::nullopt;
  return it->second;
}

std::string FakeEnv::HostName() {
  const std::lock_guard lock(mu_);
  return host_ ? *host_ : EnvWrapper::HostName();
}

OsUser FakeEnv::ProcessUser() {
  const std::lock_guard lock(mu_);
  return process_user_ ? *process_user_ : EnvWrapper::ProcessUser();
}

void FakeEnv::SetNowMicros(std::int64_t now_micros) {
  const std::lock_guard lock(mu_);
  now_micros_ = now_micros;
}

void FakeEnv::Advance(std::chrono::microseconds d) {
  const std::lock_guard lock(mu_);
  now_micros_ += d.count();
}

void FakeEnv::SetVar(const std::string& name, std::string value) {
  const std::lock_guard lock(mu_);
  vars_.insert_or_assign(name, std::move(value));
}

void FakeEnv::UnsetVar(const std::string& name) {
  const std::lock_guard lock(mu_);
  vars_.erase(name);
}

void FakeEnv::SetHostName(std::string host) {
  const std::lock_guard lock(mu_);
  host_ = std::move(host);
}

void FakeEnv::SetProcessUser(OsUser user) {
  const std::lock_guard lock(mu_);
  process_user_ = std::move(user);
}

std::vector<std::chrono::milliseconds> FakeEnv::sleeps() const {
  const std::lock_guard lock(mu_);
  return sleeps_;
}

}  // namespace backout::testing
