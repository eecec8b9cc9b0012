// Tests of the frame every adapter's Run() goes through: params checked first, and an
// exception (from the check or the action) failing the step the same way for every adapter.
#include "adapters/common/run.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>

namespace backout::adapters::common {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Invocation MakeInvocation(std::string action, json target, json params) {
  Invocation invocation;
  invocation.action = std::move(action);
  invocation.target = std::move(target);
  invocation.params = std::move(params);
  invocation.step_id = "step";
  return invocation;
}

std::vector<ParamError> NoErrors() { return {}; }

TEST(RunCheckedTest, ErrorsRunNothing) {
  bool ran = false;
  const Outcome outcome = RunChecked(
      MakeInvocation("backup", json::object(), json::object()),
      [] { return std::vector<ParamError>{{"/to", "is required", false}}; },
      [&] {
        ran = true;
        return Outcome{};
      });
  EXPECT_FALSE(ran);
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.status.message(), "invalid params/to: is required");
}

TEST(RunCheckedTest, AnExceptionFailsTheStep) {
  const Invocation invocation = MakeInvocation("backup", json::object(), json::object());
  const Outcome from_run =
      RunChecked(invocation, NoErrors, []() -> Outcome { throw std::runtime_error("boom"); });
  EXPECT_EQ(from_run.status.code(), Code::kIOError);
  EXPECT_EQ(from_run.status.message(), "backup: unexpected error: boom");
  const Outcome from_check = RunChecked(
      invocation, []() -> std::vector<ParamError> { throw std::runtime_error("boom"); },
      [] { return Outcome{}; });
  EXPECT_EQ(from_check.status.message(), "backup: unexpected error: boom");
}

// Every adapter's Run() is in the frame: a progress sink that throws fails the step with
// "ACTION: unexpected error: WHAT", whatever the adapter.
class AdapterFrameTest : public ::testing::Test {
 protected:
  Outcome RunThrowing(std::string_view type, Invocation invocation) {
    Adapter* adapter = registry_.Find(type);
    EXPECT_NE(adapter, nullptr) << type;
    invocation.progress = [](std::string_view) { throw std::runtime_error("sink closed"); };
    return adapter->Run(invocation);
  }

  Registry registry_ = Registry::Default();
};

TEST_F(AdapterFrameTest, HttpFailsTheStepWhenItsProgressSinkThrows) {
  // Port 9 (discard) is never asked: the progress line comes before the request.
  const Outcome outcome = RunThrowing(
      "http", MakeInvocation("http", json{{"type", "http"}},
                             json{{"target", "api"}, {"url", "http://127.0.0.1:9/healthz"}}));
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_EQ(outcome.status.message(), "http: unexpected error: sink closed");
}

TEST_F(AdapterFrameTest, NotifyFailsTheStepWhenItsProgressSinkThrows) {
  const Outcome outcome = RunThrowing(
      "notify", MakeInvocation("notify", json::object(),
                               json{{"message", "done"}, {"to", {{"url", "http://127.0.0.1:9/"}}}}));
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_EQ(outcome.status.message(), "notify: unexpected error: sink closed");
}

TEST_F(AdapterFrameTest, NotifyFailsTheStepOnAnOverlookedParamType) {
  // The engine's own `target` key is not the adapter's to check; a number there made
  // nlohmann throw when the outputs named the target.
  const Outcome outcome = RunThrowing(
      "notify",
      MakeInvocation("notify", json{{"type", "http"}, {"base_url", "http://127.0.0.1:9"}},
                     json{{"target", 5}, {"message", "done"}, {"path", "/hook"}}));
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_TRUE(outcome.status.message().starts_with("notify: unexpected error: "))
      << outcome.status.message();
}

TEST_F(AdapterFrameTest, SqliteFailsTheStepTheSameWay) {
  std::string pattern = (fs::path(::testing::TempDir()) / "backout-frame-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "app.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Invocation invocation =
      MakeInvocation("backup", json{{"type", "sqlite"}, {"path", "app.db"}},
                     json{{"target", "db"}, {"to", "app.backup.db"}});
  invocation.base_dir = dir;
  const Outcome outcome = RunThrowing("sqlite", invocation);
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_EQ(outcome.status.message(), "backup: unexpected error: sink closed");
  fs::remove_all(dir);
}

TEST_F(AdapterFrameTest, CommandChecksItsParamsInTheFrame) {
  // Nothing a command step is given can make it throw; what shows it runs in the frame is
  // the frame's answer to an action it does not offer.
  const Outcome outcome =
      RunThrowing("command", MakeInvocation("sql", json{{"type", "command"}},
                                            json{{"target", "ops"}, {"argv", {"true"}}}));
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.status.message(),
            "invalid sql action: command targets support only the 'command' action, not 'sql'");
}

}  // namespace
}  // namespace backout::adapters::common
