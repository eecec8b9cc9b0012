// The testing library itself: the fake Env and the EnvWrapper it is built on, temp dirs, the
// invocation builder and the fake adapter.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "adapters/command/command_adapter.h"
#include "testing/fake_adapter.h"
#include "testing/fake_env.h"
#include "testing/invocation_builder.h"
#include "testing/temp_dir.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

TEST(FakeEnv, TheClockMovesOnlyWhenSetAdvancedOrSlept) {
  FakeEnv env;
  EXPECT_EQ(env.NowMicros(), FakeEnv::kDefaultNowMicros);
  EXPECT_EQ(env.NowMicros(), FakeEnv::kDefaultNowMicros);
  env.Advance(std::chrono::seconds(2));
  EXPECT_EQ(env.NowMicros(), FakeEnv::kDefaultNowMicros + 2'000'000);
  env.SetNowMicros(5);
  EXPECT_TRUE(env.SleepFor(milliseconds(1500), nullptr));
  EXPECT_EQ(env.NowMicros(), 5 + 1'500'000);
  EXPECT_EQ(env.sleeps(), std::vector<milliseconds>{milliseconds(1500)});
}

TEST(FakeEnv, SleepingWithTheCancelFlagSetReturnsFalseAndLeavesTheClock) {
  FakeEnv env(100);
  const std::atomic<bool> cancel{true};
  EXPECT_FALSE(env.SleepFor(milliseconds(10), &cancel));
  EXPECT_EQ(env.NowMicros(), 100);
  EXPECT_EQ(env.sleeps(), std::vector<milliseconds>{milliseconds(10)});
}

TEST(FakeEnv, SeesOnlyTheVariablesItWasGiven) {
  FakeEnv env;
  EXPECT_EQ(env.GetVar("PATH"), std::nullopt);  // the process's environment is not seen
  env.SetVar("TOKEN", "s3cret");
  EXPECT_EQ(env.GetVar("TOKEN"), "s3cret");
  env.UnsetVar("TOKEN");
  EXPECT_EQ(env.GetVar("TOKEN"), std::nullopt);
}

TEST(EnvWrapper, ForwardsWhatItDoesNotOverride) {
  FakeEnv fake(42);
  fake.SetVar("A", "1");
  class RenamedHost final : public EnvWrapper {
   public:
    using EnvWrapper::EnvWrapper;
    std::string HostName() override { return "test-host"; }
  } wrapper(&fake);
  EXPECT_EQ(wrapper.target(), &fake);
  EXPECT_EQ(wrapper.HostName(), "test-host");
  EXPECT_EQ(wrapper.NowMicros(), 42);
  EXPECT_EQ(wrapper.GetVar("A"), "1");
  EXPECT_TRUE(wrapper.SleepFor(milliseconds(3), nullptr));
  EXPECT_EQ(fake.NowMicros(), 42 + 3000);
  EXPECT_EQ(wrapper.LoginName(), Env::Default()->LoginName());
}

TEST(TempDir, IsAFreshDirectoryRemovedWithItsContents) {
  fs::path kept;
  {
    const TempDir one;
    const TempDir two;
    EXPECT_NE(one.path(), two.path());
    ASSERT_TRUE(fs::is_directory(one.path()));
    EXPECT_TRUE(fs::is_empty(one.path()));
    fs::create_directories(one.path() / "a" / "b");
    std::ofstream(one.path() / "a" / "b" / "f") << "x";
    kept = one.path();
  }
  EXPECT_FALSE(fs::exists(kept));
}

TEST(InvocationBuilder, FillsOnlyWhatIsAskedAndNamesTheTargetInTheParams) {
  const adapters::Invocation plain = InvocationBuilder("query").Build();
  EXPECT_EQ(plain.action, "query");
  EXPECT_EQ(plain.params, json::object());
  EXPECT_EQ(plain.step_id, "step");
  EXPECT_EQ(plain.attempt, 1);
  EXPECT_EQ(plain.run_id, "");
  EXPECT_EQ(plain.env, Env::Default());
  EXPECT_EQ(plain.cancel, nullptr);

  FakeEnv env;
  const std::atomic<bool> cancel{false};
  std::vector<std::string> said;
  const adapters::Invocation full =
      InvocationBuilder("backup")
          .Params({{"to", "b/"}, {"target", "other"}})
          .Target("appdb", {{"type", "sqlite"}, {"path", "app.db"}})
          .RunId("run-1")
          .StepId("save")
          .Attempt(3)
          .Dirs("/d")
          .LogDir("/logs")
          .Timeout(milliseconds(7))
          .NowMicros(9)
          .Cancel(&cancel)
          .Progress([&](std::string_view line) { said.emplace_back(line); })
          .UseEnv(&env)
          .Build();
  EXPECT_EQ(full.params, json({{"to", "b/"}, {"target", "appdb"}}));
  EXPECT_EQ(full.target["path"], "app.db");
  EXPECT_EQ(full.run_id, "run-1");
  EXPECT_EQ(full.step_id, "save");
  EXPECT_EQ(full.attempt, 3);
  EXPECT_EQ(full.base_dir, "/d");
  EXPECT_EQ(full.log_dir, "/logs");
  EXPECT_EQ(full.timeout, milliseconds(7));
  EXPECT_EQ(full.now_micros, 9);
  EXPECT_EQ(full.cancel, &cancel);
  EXPECT_EQ(full.env, &env);
  full.progress("hello");
  EXPECT_EQ(said, std::vector<std::string>{"hello"});
}

TEST(FakeAdapter, AnswersAsScriptedPerStepAndAttemptAndRecordsTheInvocations) {
  adapters::Registry registry;
  FakeAdapter* fake = FakeAdapter::AddTo(registry, "command");
  EXPECT_EQ(registry.Find("command"), fake);
  fake->On("deploy", 1, FakeReply::Fail(Status::Unavailable("down"), {{"try", 1}}))
      .On("deploy", FakeReply::Succeed({{"version", 7}}));
  auto run = [&](const std::string& step, int attempt) {
    return fake->Run(InvocationBuilder("command").StepId(step).Attempt(attempt).Build());
  };
  const adapters::Outcome first = run("deploy", 1);
  EXPECT_EQ(first.status.code(), Code::kUnavailable);
  EXPECT_EQ(first.outputs, json({{"try", 1}}));
  EXPECT_EQ(run("deploy", 2).outputs, json({{"version", 7}}));
  const adapters::Outcome other = run("other", 1);
  EXPECT_TRUE(other.status.ok());
  EXPECT_EQ(other.outputs, json::object());
  ASSERT_EQ(fake->invocations().size(), 3u);
  EXPECT_EQ(fake->invocations("deploy").size(), 2u);
  EXPECT_EQ(fake->invocations("deploy")[1].attempt, 2);
  EXPECT_TRUE(fake->Validate("anything", json::object(), json::object()).empty());
}

TEST(FakeAdapter, ThrowsWhenScriptedTo) {
  FakeAdapter fake(adapters::CommandVocabulary());
  fake.On("bad", FakeReply::Throw("boom"));
  EXPECT_THROW(fake.Run(InvocationBuilder("command").StepId("bad").Build()), std::runtime_error);
  EXPECT_EQ(fake.invocations().size(), 1u);
}

TEST(FakeAdapter, BlocksUntilTheCancelFlagIsSet) {
  FakeAdapter fake(adapters::CommandVocabulary());
  fake.On("long", FakeReply::BlockUntilCancelled());
  std::atomic<bool> cancel{false};
  adapters::Outcome outcome;
  std::thread runner([&] {
    outcome = fake.Run(InvocationBuilder("command").StepId("long").Cancel(&cancel).Build());
  });
  ASSERT_TRUE(fake.WaitUntilBlocked(milliseconds(10'000)));
  cancel = true;
  runner.join();
  EXPECT_EQ(outcome.status.code(), Code::kCancelled);
  // With no flag to wait for it refuses rather than hang.
  EXPECT_EQ(fake.Run(InvocationBuilder("command").StepId("long").Build()).status.code(),
            Code::kFailedPrecondition);
}

}  // namespace
}  // namespace backout::testing
