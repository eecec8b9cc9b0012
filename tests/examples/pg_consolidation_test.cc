// Seed 002 (examples/pg-consolidation-rollback) end to end on a real PostgreSQL: the three
// rollback plans (schema only, per-table data, full restore behind CONFIRM_FULL_RESTORE),
// each checked against the database itself (tests/support/pg_server.h's Snapshot, plain SQL)
// and through `backout verify` and `report`; the failures of issue 3 (wrong password,
// unreachable server, missing table, lock timeout) through the CLI, with a scan for the
// password in everything the runs left; a rehearsal that leaves the real database alone;
// and the server stopped under a running restore.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/examples/pg_example.h"

namespace backout::testing {
namespace {
using nlohmann::json;

constexpr int kRows = 300;
constexpr const char* kApprove = "--approve=confirm=CONFIRM_FULL_RESTORE";
const std::set<std::string> kAllTables = {"accounts", "objects", "media", "chakai",
                                          "local_classes", "schema_migrations"};

// What a plan puts back as it was before the migration.
struct Goal {
  std::string label;
  std::string plan;
  std::set<std::string> tables;  // their rows
  bool schema = false;           // the whole schema of public
};

// The snapshot `post` (as the migration left it) with the goal's parts taken from `pre`.
std::string Expected(const std::string& post, const std::string& pre, const Goal& goal) {
  const SnapshotParts before = SplitSnapshot(pre);
  const SnapshotParts after = SplitSnapshot(post);
  SnapshotParts expected = goal.schema ? before : after;
  for (auto& [table, line] : expected.tables) {
    const bool restored = goal.tables.contains(table);
    const auto& source = restored ? before.tables : after.tables;
    if (auto it = source.find(table); it != source.end()) line = it->second;
  }
  return JoinSnapshot(expected);
}

class ConsolidationPlan : public ::testing::TestWithParam<Goal> {};

TEST_P(ConsolidationPlan, RollsBackToItsGoalAndVerifies) {
  const Goal& goal = GetParam();
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  const std::string post = PgServer::Shared().Snapshot(db);
  const std::string pre = PreMigrationSnapshot("pg-consolidation-rollback", kRows);
  ASSERT_NE(post, pre) << "the generator must apply the bad migration";

  std::vector<std::string> args = {"run", goal.plan};
  if (goal.plan == "plan-full-restore.yaml") args.push_back(kApprove);
  const ProcessResult run = ex.Backout(args);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(PgServer::Shared().Snapshot(db), Expected(post, pre, goal));
  ExpectVerifiedAndReported(ex, RunIdFrom(run), "succeeded");
}

INSTANTIATE_TEST_SUITE_P(
    Seed002, ConsolidationPlan,
    ::testing::Values(
        // The data of media and local_classes stays as the migration left it.
        Goal{"SchemaOnly", "plan-schema-only.yaml", {"accounts", "objects", "chakai", "schema_migrations"}, true},
        // The schema stays as the migration left it.
        Goal{"Tables", "plan-tables.yaml", {"media", "local_classes"}, false},
        Goal{"FullRestore", "plan-full-restore.yaml", kAllTables, true}),
    [](const auto& param_info) { return param_info.param.label; });

TEST(Seed002, FullRestoreWaitsForTheTypedPhrase) {
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  const std::string post = PgServer::Shared().Snapshot(db);
  const ProcessResult run = ex.Backout({"run", "plan-full-restore.yaml"});
  ASSERT_EQ(run.exit_code, 3) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_TRUE(Contains(run.out, "backout approve " + run_id + " confirm --phrase CONFIRM_FULL_RESTORE"))
      << run.out;
  EXPECT_EQ(PgServer::Shared().Snapshot(db), post) << "nothing may change before the approval";

  const ProcessResult wrong = ex.Backout({"approve", run_id, "confirm", "--phrase", "yes"});
  EXPECT_EQ(wrong.exit_code, 2) << Show(wrong);
  const ProcessResult approve =
      ex.Backout({"approve", run_id, "confirm", "--phrase", "CONFIRM_FULL_RESTORE"});
  ASSERT_EQ(approve.exit_code, 0) << Show(approve);
  const ProcessResult resumed = ex.Backout({"resume", run_id});
  ASSERT_EQ(resumed.exit_code, 0) << Show(resumed);
  EXPECT_EQ(PgServer::Shared().Snapshot(db),
            PreMigrationSnapshot("pg-consolidation-rollback", kRows));
  ExpectVerifiedAndReported(ex, run_id, "succeeded");
  bool granted = false;
  for (const json& e : Events(ex, run_id)) {
    if (e["type"] == "ApprovalGranted") granted = e["payload"]["phrase"] == "CONFIRM_FULL_RESTORE";
  }
  EXPECT_TRUE(granted);
}

// A failure of the target: the step that met it fails with `message`, once, journaled as
// StepFailed, and the password is nowhere in the output or the example's files.
struct TargetFailure {
  std::string label;
  std::string step;
  std::string message;
};

void ExpectOneClearFailure(const Example& ex, const ProcessResult& run, const TargetFailure& f,
                           const std::vector<std::string>& secrets) {
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  const std::string output = run.out + run.err;
  const std::size_t first = output.find(f.message);
  ASSERT_NE(first, std::string::npos) << f.label << "\n" << Show(run);
  EXPECT_EQ(output.find(f.message, first + 1), std::string::npos)
      << f.label << ": the message should appear once\n" << Show(run);
  const std::string run_id = RunIdFrom(run);
  int failures = 0;
  for (const json& e : Events(ex, run_id)) {
    if (e["type"] != "StepFailed") continue;
    ++failures;
    EXPECT_EQ(e["payload"]["step"], f.step) << e.dump();
    EXPECT_TRUE(Contains(e["payload"]["error"].get<std::string>(), f.message)) << e.dump();
  }
  EXPECT_EQ(failures, 1) << f.label;
  ExpectVerifiedAndReported(ex, run_id, "failed");
  ExpectNoSecretIn(ex, {output}, secrets, run_id);
}

TEST(Seed002, WrongPasswordIsOneClearJournaledFailure) {
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  const std::string wrong = "Wrong-pw-51c2e8d0";
  std::string dsn = PgServer::Shared().dsn(db);
  dsn.replace(dsn.find(PgServer::kTestPassword), std::string(PgServer::kTestPassword).size(),
              wrong);
  // The step's own failure, past preflight (which refuses this plan before the run exists:
  // tests/preflight_pg_corpus_test.cc).
  const ProcessResult run = ex.Backout({"run", "plan-schema-only.yaml", "--skip-preflight"},
                                       {{"DATABASE_URL", dsn}});
  ExpectOneClearFailure(
      ex, run,
      {"wrong password", "baseline",
       "password authentication failed for user \"" + std::string(PgServer::kTestRole) + "\""},
      {wrong, PgServer::kTestPassword});
}

TEST(Seed002, UnreachableServerIsOneClearJournaledFailure) {
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  // A port nobody listens on (the server's own, plus one, is not guaranteed free: ask).
  const std::string dsn = "postgresql://backout_test:" + std::string(PgServer::kTestPassword) +
                          "@127.0.0.1:" + std::to_string(FreeTcpPort()) + "/" + db;
  // Past preflight, as above.
  const ProcessResult run = ex.Backout({"run", "plan-schema-only.yaml", "--skip-preflight"},
                                       {{"DATABASE_URL", dsn}});
  ExpectOneClearFailure(ex, run,
                        {"unreachable server", "baseline", "cannot connect: Connection refused"},
                        {PgServer::kTestPassword});
}

TEST(Seed002, MissingTableIsOneClearJournaledFailure) {
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  PgServer::Shared().Psql("DROP TABLE chakai", db);
  const std::string post = PgServer::Shared().Snapshot(db);
  const ProcessResult run = ex.Backout({"run", "plan-schema-only.yaml"});
  ExpectOneClearFailure(
      ex, run,
      {"missing table", "schema-rollback", "sql: relation \"chakai\" does not exist (SQLSTATE 42P01)"},
      {PgServer::kTestPassword});
  EXPECT_EQ(PgServer::Shared().Snapshot(db), post) << "the failed script must be rolled back";
}

TEST(Seed002, LockTimeoutIsOneClearJournaledFailure) {
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  LockHolder holder(db, "LOCK TABLE chakai IN ACCESS EXCLUSIVE MODE", "chakai");
  const ProcessResult run = ex.Backout({"run", "plan-schema-only.yaml"});
  ExpectOneClearFailure(
      ex, run,
      {"lock timeout", "baseline",
       "waited longer than lock_timeout (5.0s) for a lock another session holds; the statement "
       "was cancelled"},
      {PgServer::kTestPassword});
}

TEST(Seed002, RehearsalLeavesTheRealDatabaseAloneAndDropsItsCopy) {
  const std::string db = TestDatabase();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  const std::string before = PgServer::Shared().Snapshot(db);
  const std::string databases_before = Databases();

  const ProcessResult run = ex.Backout({"run", "plan-tables.yaml", "--rehearse"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  // The plan's verify (media and local_classes as before the migration) passed: on the copy.
  EXPECT_TRUE(Contains(run.out, "step 6/6 verify: succeeded")) << run.out;
  EXPECT_EQ(PgServer::Shared().Snapshot(db), before) << "a rehearsal must not touch the real database";
  EXPECT_EQ(Databases(), databases_before) << "the scratch database must be dropped";

  EXPECT_EQ(ReportJson(ex, run_id)["summary"]["rehearsal"], true);
  const ProcessResult md = ex.Backout({"report", run_id, "--format", "md"});
  EXPECT_TRUE(Contains(md.out, "rehearsal")) << md.out;
  ExpectVerifiedAndReported(ex, run_id, "succeeded");
}

// The server goes away while the restore waits for a lock (made to wait by another session,
// with the plan's lock_timeout raised so that only the stop ends the wait): the step fails,
// journaled, the run pauses (on_failure: pause); with the server back, resume finishes it.
TEST(Seed002, ServerStoppedMidRestoreThenResumed) {
  const std::string db = TestDatabase();
  PgServer& pg = PgServer::Shared();
  Example ex("pg-consolidation-rollback", kRows, PgExampleEnv(db));
  ReplaceInFile(ex.dir() / "plan-tables.yaml", "lock_timeout: 5s", "lock_timeout: 10m");
  const std::string post = pg.Snapshot(db);

  ProcessResult run;
  {
    LockHolder holder(db, "LOCK TABLE media IN ACCESS SHARE MODE", "media");
    BackgroundProcess runner(ex.BackoutSpec({"run", "plan-tables.yaml"}));
    ASSERT_TRUE(WaitFor([&] { return BackoutWaitsForALock(db) || !runner.Running(); },
                        std::chrono::seconds(120)))
        << "the restore never queued behind the lock";
    ASSERT_TRUE(runner.Running()) << Show(runner.Wait());
    pg.Stop();
    run = runner.Wait();
    pg.Start();
  }
  ASSERT_EQ(run.exit_code, 3) << Show(run);
  const std::string run_id = RunIdFrom(run);
  bool failed = false;
  for (const json& e : Events(ex, run_id)) {
    if (e["type"] == "StepFailed") failed = e["payload"]["step"] == "restore-tables";
  }
  EXPECT_TRUE(failed) << "the restore's failure must be journaled";
  EXPECT_EQ(pg.Snapshot(db), post) << "the interrupted restore must have been rolled back";

  const ProcessResult resumed = ex.Backout({"resume", run_id});
  ASSERT_EQ(resumed.exit_code, 0) << Show(resumed);
  EXPECT_EQ(pg.Snapshot(db),
            Expected(post, PreMigrationSnapshot("pg-consolidation-rollback", kRows),
                     {"Tables", "plan-tables.yaml", {"media", "local_classes"}, false}));
  ExpectVerifiedAndReported(ex, run_id, "succeeded");
}

}  // namespace
}  // namespace backout::testing
