// FakeAdapter: an adapter for engine tests that does what the test scripted for each step
// and attempt, and records every invocation it was given.
//
//   adapters::Registry registry;
//   testing::FakeAdapter* ops = testing::FakeAdapter::AddTo(registry, "command");
//   ops->On("deploy", 1, testing::FakeReply::Fail(Status::Unavailable("down")))
//       .On("deploy", 2, testing::FakeReply::Succeed({{"version", 7}}));
//   ... engine::Drive(session, {.registry = &registry}) ...
//   EXPECT_EQ(ops->invocations().size(), 2u);
//
// A step with no reply of its own succeeds with no outputs. A check runs under the step id
// "ID.check" (as the engine names it), so it is scripted under that id. Validate accepts
// everything; Lock takes nothing (the Adapter defaults).
//
// Thread safety: every member may be called from any thread: Run on the engine's, while the
// test waits in WaitUntilBlocked and sets the cancel flag on another.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "base/status.h"

namespace backout::testing {

// What one Run of a FakeAdapter does.
class FakeReply {
 public:
  // Returns `outputs` with an OK status.
  static FakeReply Succeed(nlohmann::json outputs = nlohmann::json::object());
  // Returns `status` (not OK) and `outputs`.
  static FakeReply Fail(Status status, nlohmann::json outputs = nlohmann::json::object());
  // Throws std::runtime_error(what): an adapter with a bug.
  static FakeReply Throw(std::string what);
  // Blocks until the invocation's cancel flag is set (polling every millisecond), then
  // returns kCancelled "cancelled", as an adapter stopped by SIGINT does. With no cancel flag
  // in the invocation it returns kFailedPrecondition at once instead of blocking for ever.
  static FakeReply BlockUntilCancelled();

 private:
  friend class FakeAdapter;
  enum class Kind { kReturn, kThrow, kBlockUntilCancelled };
  FakeReply(Kind kind, adapters::Outcome outcome, std::string what)
      : kind_(kind), outcome_(std::move(outcome)), what_(std::move(what)) {}

  Kind kind_;
  adapters::Outcome outcome_;
  std::string what_;
};

class FakeAdapter final : public adapters::Adapter {
 public:
  // Serves the target type and actions `vocabulary` declares. Its string_views must outlive
  // the adapter (the adapters' declarations are static).
  explicit FakeAdapter(adapters::AdapterVocabulary vocabulary)
      : vocabulary_(std::move(vocabulary)) {}

  // Adds to `registry` (which owns it) a FakeAdapter that stands in for the real adapter of
  // `type` ("command", "sqlite", ...): the same vocabulary, so plans using that type parse
  // and check; returns it.
  static FakeAdapter* AddTo(adapters::Registry& registry, std::string_view type);

  // What attempt `attempt` of `step_id` does.
  FakeAdapter& On(const std::string& step_id, int attempt, FakeReply reply);
  // What every attempt of `step_id` without a reply of its own does.
  FakeAdapter& On(const std::string& step_id, FakeReply reply);

  // Every invocation Run was given, in order (copies).
  std::vector<adapters::Invocation> invocations() const;
  // The invocations of one step id, in order.
  std::vector<adapters::Invocation> invocations(std::string_view step_id) const;

  // Waits (real time, up to `limit`) until a Run is blocked in BlockUntilCancelled.
  bool WaitUntilBlocked(std::chrono::milliseconds limit) const;

  const adapters::AdapterVocabulary& vocabulary() const override { return vocabulary_; }
  std::vector<adapters::ParamError> Validate(std::string_view action,
                                             const nlohmann::json& target,
                                             const nlohmann::json& params) const override;
  adapters::Outcome Run(const adapters::Invocation& invocation) override;

 private:
  static constexpr int kEveryAttempt = 0;

  FakeReply ReplyFor(const std::string& step_id, int attempt) const;  // holds mu_
  void Block(const adapters::Invocation& invocation);  // until its cancel flag is set

  const adapters::AdapterVocabulary vocabulary_;
  mutable std::mutex mu_;
  mutable std::condition_variable blocked_changed_;
  std::map<std::pair<std::string, int>, FakeReply> replies_;
  std::vector<adapters::Invocation> invocations_;
  int blocked_ = 0;  // Runs waiting in BlockUntilCancelled now
};

}  // namespace backout::testing
