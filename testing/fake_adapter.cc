#include "testing/fake_adapter.h"

#include <memory>
#include <stdexcept>
#include <thread>

namespace backout::testing {

FakeReply FakeReply::Succeed(nlohmann::json outputs) {
  return FakeReply(Kind::kReturn, adapters::Outcome{Status::Ok(), std::move(outputs)}, "");
}

FakeReply FakeReply::Fail(Status status, nlohmann::json outputs) {
  return FakeReply(Kind::kReturn, adapters::Outcome{std::move(status), std::move(outputs)}, "");
}

FakeReply FakeReply::Throw(std::string what) {
  return FakeReply(Kind::kThrow, {}, std::move(what));
}

FakeReply FakeReply::BlockUntilCancelled() {
  return FakeReply(Kind::kBlockUntilCancelled, adapters::Outcome{Status::Cancelled("cancelled")},
                   "");
}

FakeAdapter* FakeAdapter::AddTo(adapters::Registry& registry, std::string_view type) {
  const adapters::Registry real = adapters::Registry::Default();
  const adapters::Adapter* stand_in_for = real.Find(type);
  auto adapter = std::make_unique<FakeAdapter>(stand_in_for != nullptr
                                                   ? stand_in_for->vocabulary()
                                                   : adapters::AdapterVocabulary{.type = type});
  FakeAdapter* fake = adapter.get();
  registry.Add(std::move(adapter));
  return fake;
}

FakeAdapter& FakeAdapter::On(const std::string& step_id, int attempt, FakeReply reply) {
  const std::lock_guard lock(mu_);
  replies_.insert_or_assign({step_id, attempt}, std::move(reply));
  return *this;
}

FakeAdapter& FakeAdapter::On(const std::string& step_id, FakeReply reply) {
  return On(step_id, kEveryAttempt, std::move(reply));
}

std::vector<adapters::Invocation> FakeAdapter::invocations() const {
  const std::lock_guard lock(mu_);
  return invocations_;
}

std::vector<adapters::Invocation> FakeAdapter::invocations(std::string_view step_id) const {
  std::vector<adapters::Invocation> of_step;
  for (adapters::Invocation& invocation : invocations()) {
    if (invocation.step_id == step_id) of_step.push_back(std::move(invocation));
  }
  return of_step;
}

bool FakeAdapter::WaitUntilBlocked(std::chrono::milliseconds limit) const {
  std::unique_lock lock(mu_);
  return blocked_changed_.wait_for(lock, limit, [this] { return blocked_ > 0; });
}

std::vector<adapters::ParamError> FakeAdapter::Validate(std::string_view, const nlohmann::json&,
                                                        const nlohmann::json&) const {
  return {};
}

FakeReply FakeAdapter::ReplyFor(const std::string& step_id, int attempt) const {
  if (auto it = replies_.find({step_id, attempt}); it != replies_.end()) return it->second;
  if (auto it = replies_.find({step_id, kEveryAttempt}); it != replies_.end()) return it->second;
  return FakeReply::Succeed();
}

adapters::Outcome FakeAdapter::Run(const adapters::Invocation& invocation) {
  FakeReply reply = FakeReply::Succeed();
  {
    const std::lock_guard lock(mu_);
    invocations_.push_back(invocation);
    reply = ReplyFor(invocation.step_id, invocation.attempt);
  }
  switch (reply.kind_) {
    case FakeReply::Kind::kReturn:
      return std::move(reply.outcome_);
    case FakeReply::Kind::kThrow:
      throw std::runtime_error(reply.what_);
    case FakeReply::Kind::kBlockUntilCancelled:
      if (invocation.cancel == nullptr) {
        return {Status::FailedPrecondition("fake adapter: asked to block with no cancel flag")};
      }
      Block(invocation);
      return std::move(reply.outcome_);
  }
  return {Status::FailedPrecondition("fake adapter: unknown reply")};  // unreachable
}

void FakeAdapter::Block(const adapters::Invocation& invocation) {
  {
    const std::lock_guard lock(mu_);
    ++blocked_;
  }
  blocked_changed_.notify_all();
  // Polled: a signal handler sets the flag with a plain store, which no wait() would see.
  while (!invocation.cancel->load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  {
    const std::lock_guard lock(mu_);
    --blocked_;
  }
  blocked_changed_.notify_all();
}

}  // namespace backout::testing
