// Tests of the command adapter with real processes: parameters, statuses and outputs.
// The process mechanics (groups, signals, descriptors) are tested in subprocess_test.cc.
#include "adapters/command/command_adapter.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <thread>

#include "adapters/common/run_log.h"
#include "base/sha256.h"
#include "testing/invocation_builder.h"
#include "testing/run_log.h"
#include "testing/temp_dir.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

class CommandAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directory(dir_ / "logs"); }

  Invocation MakeInvocation(json params, json target = json::object()) {
    target["type"] = "command";
    attempt_log_ = std::make_unique<AttemptLog>(run_log_, LogFileName("step", 2));
    return testing::InvocationBuilder("command")
        .Target("ops", std::move(target))
        .Params(std::move(params))
        .Attempt(2)
        .BaseDir(dir_)
        .LogDir(dir_ / "logs")
        .Log(attempt_log_.get())
        .Build();
  }

  Outcome Run(json params, json target = json::object()) {
    Outcome outcome = adapter_->Run(MakeInvocation(std::move(params), std::move(target)));
    EXPECT_EQ(UndeclaredOutputs(adapter_->vocabulary(), "command", outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }

  std::vector<ParamError> Validate(json params, json target = json::object()) {
    target["type"] = "command";
    params["target"] = "ops";
    return adapter_->Validate("command", target, params);
  }

  const testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
  std::unique_ptr<Adapter> adapter_ = MakeCommandAdapter();
  RunLog run_log_{dir_ / "logs" / kRunLogFileName};
  std::unique_ptr<AttemptLog> attempt_log_;
};

TEST_F(CommandAdapterTest, AcceptedExitCodeIsOkWithOutputs) {
  const Outcome out = Run({{"argv", {"echo", "hello"}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["exit_code"], 0);
  EXPECT_FALSE(out.outputs.contains("signal"));
  EXPECT_EQ(out.outputs["output_tail"], "hello\n");
  EXPECT_TRUE(out.outputs["duration_ms"].is_number_integer());
  const fs::path log = out.outputs["log"].get<std::string>();
  EXPECT_EQ(log, fs::absolute(dir_ / "logs" / "run.log"));
  EXPECT_EQ(testing::ReadAttemptLog(dir_ / "logs", "step.2.log"), "hello\n");
  const FileDigest digest = attempt_log_->Finish();
  EXPECT_EQ(digest.bytes, 6u);
  EXPECT_EQ(digest.sha256_hex, Sha256Hex("hello\n"));
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CommandAdapterTest, UnacceptedExitCodeIsExpectationFailed) {
  const Outcome out = Run({{"shell", "echo first; echo boom >&2; exit 3"}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.status.message(), "command exited with code 3 (accepted: 0); last output: boom");
  EXPECT_EQ(out.outputs["exit_code"], 3);
  EXPECT_EQ(out.outputs["output_tail"], "first\nboom\n");
}

TEST_F(CommandAdapterTest, AcceptExitListsTheCodesThatMeanSuccess) {
  EXPECT_TRUE(Run({{"shell", "exit 3"}, {"accept_exit", {0, 3}}}).status.ok());
  const Outcome out = Run({{"shell", "exit 4"}, {"accept_exit", {0, 3}}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.status.message(), "command exited with code 4 (accepted: 0, 3)");
}

TEST_F(CommandAdapterTest, ArgvIsPassedIntactWithoutAShell) {
  const Outcome out = Run({{"argv", {"printf", "[%s]", "a b  c", "$HOME", "*", "'q'"}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["output_tail"], "[a b  c][$HOME][*]['q']");
}

TEST_F(CommandAdapterTest, ShellRunsPipelines) {
  const Outcome out = Run({{"shell", "printf 'a\\nb\\nc\\n' | wc -l | tr -d ' '"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["output_tail"], "3\n");
}

TEST_F(CommandAdapterTest, CwdIsRelativeToTheTargetsCwdWhichIsRelativeToTheBaseDir) {
  const fs::path sub = dir_ / "ops" / "sub";
  fs::create_directories(sub);
  {
    std::ofstream script(sub / "where.sh");
    script << "#!/bin/sh\npwd -P\n";
  }
  fs::permissions(sub / "where.sh", fs::perms::owner_all);
  // `./where.sh` is found relative to the command's cwd, not ours.
  const Outcome out = Run({{"argv", {"./where.sh"}}, {"cwd", "sub"}}, {{"cwd", "ops"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["output_tail"], fs::canonical(sub).string() + "\n");
}

TEST_F(CommandAdapterTest, EnvLayersInheritedThenTargetThenAction) {
  ::setenv("BACKOUT_TEST_A", "inherited", 1);
  ::setenv("BACKOUT_TEST_B", "inherited", 1);
  ::setenv("BACKOUT_TEST_C", "inherited", 1);
  const Outcome out = Run({{"shell", "echo $BACKOUT_TEST_A $BACKOUT_TEST_B $BACKOUT_TEST_C"},
                           {"env", {{"BACKOUT_TEST_C", "action"}}}},
                          {{"env", {{"BACKOUT_TEST_B", "target"}, {"BACKOUT_TEST_C", "target"}}}});
  ::unsetenv("BACKOUT_TEST_A");
  ::unsetenv("BACKOUT_TEST_B");
  ::unsetenv("BACKOUT_TEST_C");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["output_tail"], "inherited target action\n");
}

TEST_F(CommandAdapterTest, EnvValuesStayOutOfMessagesAndOutputs) {
  const Outcome out = Run({{"shell", "exit 1"}, {"env", {{"TOKEN", "hunter2"}}}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.status.message().find("hunter2"), std::string::npos);
  EXPECT_EQ(out.outputs.dump().find("hunter2"), std::string::npos);
}

TEST_F(CommandAdapterTest, TailHoldsTheLastBytesAndTheLogHoldsAll) {
  const Outcome out = Run({{"argv", {"seq", "1", "100000"}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  std::string expected;
  for (int i = 1; i <= 100000; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(out.outputs["output_tail"], expected.substr(expected.size() - 4096));
  EXPECT_EQ(testing::ReadAttemptLog(dir_ / "logs", "step.2.log"), expected);
  EXPECT_EQ(attempt_log_->Finish().sha256_hex, Sha256Hex(expected));
}

TEST_F(CommandAdapterTest, TailKeepsWholeCharactersAndTheBytesAsWritten) {
  // A two-byte character cut in half by the 4096-byte window is dropped, not garbled.
  const Outcome cut = Run({{"shell",
                            "i=0; while [ $i -lt 3000 ]; do printf '\\303\\251'; i=$((i+1)); "
                            "done; printf x"}});
  std::string expected;
  for (int i = 0; i < 2047; ++i) expected += "\xC3\xA9";
  EXPECT_EQ(cut.outputs["output_tail"], expected + "x");
  // Bytes that are not UTF-8 stay as written: the engine marks them when it journals the
  // outputs (base/utf8.h), losslessly.
  const Outcome invalid = Run({{"shell", "printf 'a\\377b'"}});
  EXPECT_EQ(invalid.outputs["output_tail"], "a\xFF" "b");
}

TEST_F(CommandAdapterTest, TimeoutIsReportedWithTheOutputs) {
  Invocation invocation = MakeInvocation({{"shell", "echo started; sleep 30"}});
  invocation.timeout = milliseconds(300);
  const Outcome out = adapter_->Run(invocation);
  EXPECT_EQ(out.status.code(), Code::kTimeout);
  EXPECT_EQ(out.status.message(), "command timed out after 300ms; process group killed");
  EXPECT_TRUE(out.outputs["exit_code"].is_null());
  EXPECT_EQ(out.outputs["signal"], SIGTERM);
  EXPECT_EQ(out.outputs["output_tail"], "started\n");
}

TEST_F(CommandAdapterTest, CancelIsReportedAsCancelled) {
  std::atomic<bool> cancel{false};
  Invocation invocation = MakeInvocation({{"argv", {"sleep", "30"}}});
  invocation.cancel = &cancel;
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel = true;
  });
  const auto start = std::chrono::steady_clock::now();
  const Outcome out = adapter_->Run(invocation);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(out.status.code(), Code::kCancelled);
  EXPECT_EQ(out.outputs["signal"], SIGTERM);
}

TEST_F(CommandAdapterTest, MissingProgramIsNotFound) {
  const Outcome out = Run({{"argv", {"backout-no-such-program", "x"}}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
  EXPECT_EQ(out.status.message(),
            "cannot run 'backout-no-such-program': No such file or directory");
}

TEST_F(CommandAdapterTest, DeathBySignalIsExpectationFailed) {
  const Outcome out = Run({{"shell", "echo dying; kill -KILL $$"}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.status.message(), "command was killed by signal 9 (SIGKILL); last output: dying");
  EXPECT_TRUE(out.outputs["exit_code"].is_null());
  EXPECT_EQ(out.outputs["signal"], SIGKILL);
}

TEST_F(CommandAdapterTest, NoLogWithoutALog) {
  Invocation invocation = MakeInvocation({{"argv", {"true"}}});
  invocation.log = nullptr;
  const Outcome out = adapter_->Run(invocation);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(out.outputs["log"].is_null());
  EXPECT_FALSE(fs::exists(dir_ / "logs" / "run.log"));
}

TEST_F(CommandAdapterTest, RunRejectsInvalidParams) {
  const Outcome out = Run({{"argv", {"echo", true}}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(out.status.message(), "invalid command action: /argv/1: expected a string");
}

// "pointer" for params, "target:pointer" for the target's config, one per error.
std::vector<std::string> Pointers(const std::vector<ParamError>& errors) {
  std::vector<std::string> pointers;
  for (const ParamError& e : errors) {
    pointers.push_back((e.in_target ? "target:" : "") + e.pointer);
  }
  return pointers;
}

using Strings = std::vector<std::string>;

TEST_F(CommandAdapterTest, ValidateAcceptsAWellFormedAction) {
  EXPECT_TRUE(Validate({{"argv", {"kubectl", "scale", "3"}},
                        {"timeout", "60s"},
                        {"cwd", "sub"},
                        {"env", {{"A", "1"}}},
                        {"accept_exit", {0, 3}},
                        {"kill_grace", 300}},
                       {{"cwd", "."}, {"env", {{"B", "2"}}}})
                  .empty());
  EXPECT_TRUE(Validate({{"shell", "ls | wc -l"}, {"kill_grace", "2s"}}).empty());
}

TEST_F(CommandAdapterTest, ValidateTakesReferencesForAnyType) {
  EXPECT_TRUE(Validate({{"argv", {"${steps.a.outputs.program}"}},
                        {"accept_exit", {0, "${steps.a.outputs.code}"}},
                        {"kill_grace", "${GRACE}"},
                        {"env", {{"TOKEN", "${TOKEN}"}}}})
                  .empty());
}

TEST_F(CommandAdapterTest, ValidatePointsAtEachProblem) {
  EXPECT_EQ(Pointers(Validate({{"argv", {"ls", {{"a", 1}}}}})), Strings{"/argv/1"});
  EXPECT_EQ(Pointers(Validate({{"argv", json::array()}})), Strings{"/argv"});
  EXPECT_EQ(Pointers(Validate({{"argv", {"sleep", 1}}})), Strings{"/argv/1"});
  EXPECT_EQ(Pointers(Validate({{"argv", {"ls"}}, {"shell", "ls"}})), Strings{""});
  EXPECT_EQ(Pointers(Validate(json::object())), Strings{""});
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}, {"cwd", false}})), Strings{"/cwd"});
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}, {"accept_exit", {0, 256, -1}}})),
            (Strings{"/accept_exit/1", "/accept_exit/2"}));
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}, {"accept_exit", 0}})), Strings{"/accept_exit"});
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}, {"env", {{"A", {"x"}}, {"B=C", "y"}}}})),
            (Strings{"/env/A", "/env/B=C"}));
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}, {"kill_grace", -1}})), Strings{"/kill_grace"});
  EXPECT_EQ(Pointers(Validate({{"shel", "x"}, {"shell", "x"}})), Strings{"/shel"});
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}}, {{"cmd", "x"}, {"env", {{"X", json()}}}})),
            (Strings{"target:/cmd", "target:/env/X"}));
  EXPECT_EQ(Pointers(Validate({{"shell", "x"}, {"env", {{"a/b", false}}}})), Strings{"/env/a~1b"});
}

TEST_F(CommandAdapterTest, ValidateRejectsOtherActions) {
  const std::vector<ParamError> errors =
      adapter_->Validate("sql", {{"type", "command"}}, {{"target", "ops"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "");
  EXPECT_EQ(errors[0].message, "command targets support only the 'command' action, not 'sql'");
}

}  // namespace
}  // namespace backout::adapters
