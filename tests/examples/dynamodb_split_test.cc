// examples/dynamodb-split-rollback (seed 000) end to end, against one real dynalite started
// for the test binary (tests/support/dynamo_server.h): the real `backout` binary, real
// files, a real git repository and the example's stand-in service manager. The run, the
// journal's verification and report, two failures that must stop the run cleanly (an
// unreachable DynamoDB endpoint, a malformed .env.backup), and the crash matrix with its
// counts printed.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/crash_matrix.h"
#include "tests/support/dynamo_server.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

constexpr const char* kExample = "dynamodb-split-rollback";
constexpr int kRows = 30;
constexpr const char* kApprove = "--approve=confirm-delete=DELETE_SC_V2";
const std::vector<std::string> kOldTables = {"sc-accounts", "sc-repositories"};
const std::vector<std::string> kNewTables = {"sc-v2-users", "sc-v2-organizations",
                                             "sc-v2-repositories"};
const std::vector<std::string> kSteps = {"preflight",         "stop-app",
                                          "baseline",          "confirm-delete",
                                          "delete-new-tables", "verify-old-tables",
                                          "restore-env",       "checkout-pre-migration",
                                          "start-app",         "final-verify",
                                          "health-check"};

// The snapshot's line for `table` ("NAME: N items, sha256 HEX"), or "" when it is absent.
std::string TableLine(const std::string& snapshot, const std::string& table) {
  std::istringstream lines(snapshot);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(table + ": ", 0) == 0) return line;
  }
  return "";
}

std::string Git(const Example& ex, const std::vector<std::string>& args) {
  ProcessSpec spec{.argv = {"/usr/bin/git", "-C", (ex.dir() / "app").string()}};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  const ProcessResult r = RunProcess(spec);
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  return r.out;
}

std::string ServiceLog(const Example& ex) { return ReadFile(ex.dir() / "service.log"); }

class DynamoSplitRollback : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Result<std::unique_ptr<DynamoServer>> started = DynamoServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << "dynalite did not start"; }

  // For generate.sh and every backout call.
  static std::map<std::string, std::string> Env() {
    return {{"DYNAMO_ENDPOINT", server_->endpoint()},
            {"AWS_REGION", "us-east-1"},
            {"AWS_ACCESS_KEY_ID", kTestAccessKeyId},
            {"AWS_SECRET_ACCESS_KEY", kTestSecretAccessKey},
            {"APP_DRAIN_SECONDS", "0.2"}};
  }

  static std::string Tables() {
    Result<std::string> snapshot = server_->Snapshot();
    EXPECT_TRUE(snapshot.ok()) << snapshot.status().ToString();
    return snapshot.ok() ? *snapshot : snapshot.status().ToString();
  }

  // Every target the plan touches.
  static std::string EndState(const Example& ex) {
    return "tables:\n" + Tables() + ".env:\n" + ReadFile(ex.dir() / "app/.env") + "HEAD " +
           Git(ex, {"rev-parse", "HEAD"}) + "worktree:\n" + Git(ex, {"status", "--porcelain"}) +
           "service.log:\n" + ServiceLog(ex);
  }

  static CrashScenario Scenario() {
    return CrashScenario{
        .example = kExample,
        .rows = kRows,
        .env = Env(),
        .run_args = {kApprove},
        .resume_args = {kApprove},
        .end_state = EndState,
        .exactly_once =
            [](const Example& ex, const std::string& label) {
              // One stop and one start since the application came up on schema 2: a start
              // that ran twice would show as a second restart.
              const std::string tag = Git(ex, {"rev-parse", "--short=12", "pre-migration"});
              const std::string migrated = Git(ex, {"rev-parse", "--short=12", "main"});
              EXPECT_EQ(ServiceLog(ex), "running schema=2 commit=" + migrated + "stopped\n" +
                                            "running schema=1 commit=" + tag)
                  << label << ": start-app and stop-app must each take effect exactly once";
            },
        .min_appends = 20,
    };
  }

  static DynamoServer* server_;
};

DynamoServer* DynamoSplitRollback::server_ = nullptr;

TEST_F(DynamoSplitRollback, RollsBackEndToEnd) {
  Example ex(kExample, kRows, Env());
  const std::string before = Tables();
  const std::string migrated_env = ReadFile(ex.dir() / "app/.env");
  const std::string backup_env = ReadFile(ex.dir() / "app/.env.backup");
  ASSERT_NE(migrated_env, backup_env);
  const std::string tag = Git(ex, {"rev-parse", "pre-migration^{commit}"});
  ASSERT_NE(Git(ex, {"rev-parse", "HEAD"}), tag);
  for (const std::string& table : kNewTables) ASSERT_NE(TableLine(before, table), "") << table;

  const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_TRUE(Contains(run.out, "run " + run_id + " succeeded")) << run.out;

  // DynamoDB: the new tables are gone; the old ones hold the same items, byte for byte.
  const std::string after = Tables();
  for (const std::string& table : kNewTables) EXPECT_EQ(TableLine(after, table), "") << after;
  for (const std::string& table : kOldTables) {
    EXPECT_TRUE(Contains(TableLine(after, table), ": 30 items, sha256 ")) << after;
    EXPECT_EQ(TableLine(after, table), TableLine(before, table));
  }
  // The configuration, the code and the application.
  EXPECT_EQ(ReadFile(ex.dir() / "app/.env"), backup_env);
  EXPECT_EQ(Git(ex, {"rev-parse", "HEAD"}), tag);
  EXPECT_EQ(Git(ex, {"status", "--porcelain"}), "");
  const std::string short_tag = Git(ex, {"rev-parse", "--short=12", "pre-migration"});
  EXPECT_TRUE(ServiceLog(ex).ends_with("stopped\nrunning schema=1 commit=" + short_tag))
      << ServiceLog(ex);

  const ProcessResult verify = ex.Backout({"verify", run_id});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  EXPECT_TRUE(Contains(verify.out, "hash chain intact")) << verify.out;

  const ProcessResult report = ex.Backout({"report", run_id, "--format", "md"});
  ASSERT_EQ(report.exit_code, 0) << Show(report);
  EXPECT_TRUE(Contains(report.out, "11 of 11 steps succeeded")) << report.out;
  for (const std::string& step : kSteps) {
    EXPECT_TRUE(Contains(report.out, "`" + step + "`")) << step << "\n" << report.out;
  }

  // The secret key reaches curl's signing and nothing else.
  const ProcessResult events = ex.Backout({"events", run_id, "--json"});
  for (const std::string& said : {run.out, run.err, events.out, report.out}) {
    EXPECT_FALSE(Contains(said, kTestSecretAccessKey));
  }
}

// Every request the real binary signs during the whole rollback (describe, scan, delete,
// wait) is checked by an independent SigV4 verifier (botocore, in the proxy): each header
// named in SignedHeaders is on the wire and the signature covers what was received.
TEST_F(DynamoSplitRollback, EverySignedRequestOfTheRunCoversExactlyTheHeadersSent) {
  Example ex(kExample, kRows, Env());
  Result<std::unique_ptr<ThrottlingProxy>> proxy =
      ThrottlingProxy::Start(server_->endpoint(), 0, /*check_signatures=*/true);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", kApprove}, {{"DYNAMO_ENDPOINT", (*proxy)->endpoint()}});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  std::istringstream log(ReadFile((*proxy)->signature_log()));
  int checked = 0;
  for (std::string verdict; std::getline(log, verdict);) {
    ++checked;
    EXPECT_TRUE(verdict.starts_with("ok ")) << verdict;
  }
  // At least a describe per old table, a scan each, a delete and a wait per new table.
  EXPECT_GE(checked, 10) << run.out;
}

TEST_F(DynamoSplitRollback, UnreachableEndpointFailsTheBaselineWithOneMessage) {
  Example ex(kExample, kRows, Env());
  const std::string before = Tables();
  const std::string migrated_env = ReadFile(ex.dir() / "app/.env");
  const std::string head = Git(ex, {"rev-parse", "HEAD"});
  Result<int> port = FreePort();
  ASSERT_TRUE(port.ok());

  // The step's own failure, past preflight (which refuses this plan before the run exists).
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", kApprove, "--skip-preflight"},
                 {{"DYNAMO_ENDPOINT", "http://127.0.0.1:" + std::to_string(*port)}});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  const std::string said = run.out + run.err;
  EXPECT_EQ(Occurrences(said, "Couldn't connect to server"), 1) << said;
  EXPECT_TRUE(Contains(run.out, "step 3/11 baseline: failed in ")) << run.out;
  EXPECT_TRUE(Contains(run.out, "baseline sc-accounts: POST ")) << run.out;

  const auto failed = EventsOfType(Events(ex, RunIdFrom(run)), "StepFailed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["payload"]["step"], "baseline");
  const std::string error = failed[0]["payload"]["error"];
  EXPECT_TRUE(Contains(error, "Couldn't connect to server")) << error;

  // Nothing after the baseline ran: every table, the configuration and the code are as the
  // migration left them (the application stays stopped for the operator).
  EXPECT_EQ(Tables(), before);
  EXPECT_EQ(ReadFile(ex.dir() / "app/.env"), migrated_env);
  EXPECT_EQ(Git(ex, {"rev-parse", "HEAD"}), head);
  EXPECT_TRUE(ServiceLog(ex).ends_with("\nstopped\n")) << ServiceLog(ex);
}

TEST_F(DynamoSplitRollback, MalformedEnvBackupStopsTheRunBeforeAnythingChanges) {
  Example ex(kExample, kRows, Env());
  WriteFile(ex.dir() / "app/.env.backup",
            "# sc application configuration\nNODE_ENV=production\nSCHEMA_VERSION 1\n"
            "ACCOUNTS_TABLE=sc-accounts\nREPOSITORIES_TABLE=sc-repositories\n");
  const std::string before = EndState(ex);

  const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  const std::string message = "app/.env.backup:3: expected KEY=VALUE, a comment or a blank line";
  EXPECT_EQ(Occurrences(run.out + run.err, message), 1) << Show(run);
  EXPECT_TRUE(Contains(run.out, "step 1/11 preflight: failed in ")) << run.out;

  const auto failed = EventsOfType(Events(ex, RunIdFrom(run)), "StepFailed");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["payload"]["step"], "preflight");
  const std::string error = failed[0]["payload"]["error"];
  EXPECT_TRUE(Contains(error, message)) << error;

  // The application still runs on schema 2 and every table is there.
  EXPECT_EQ(EndState(ex), before);
}

TEST_F(DynamoSplitRollback, CrashMatrixKillAfterEveryJournalAppendThenResume) {
  RecordProperty("crash_points_after_appends", KillAfterEveryAppend(Scenario()));
}

// The slow step is stop-app: the stand-in service manager draining for a second.
TEST_F(DynamoSplitRollback, CrashMatrixKillAtRandomMomentsWhileTheAppDrains) {
  RecordProperty("random_kills_landed",
                 KillAtRandomMoments(Scenario(), {.step = "stop-app",
                                                  .kills = 8,
                                                  .window_ms = 1100,
                                                  .env = {{"APP_DRAIN_SECONDS", "1"}}}));
}

}  // namespace
}  // namespace backout::testing
