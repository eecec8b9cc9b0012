// The crash matrix (tests/support/crash_matrix.h) over the three seed-002 plans of
// examples/pg-consolidation-rollback on a real PostgreSQL: SIGKILL after every journal
// append, and at random moments inside the per-table restore, then resume; the database must
// end as after an uninterrupted run, compared by per-table checksums and schema
// (PgServer::Snapshot, plain SQL), the `ops` schema included.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/examples/pg_example.h"
#include "tests/support/crash_matrix.h"

namespace backout::testing {
namespace {

CrashScenario Consolidation(const std::string& plan, int rows, int min_appends) {
  const std::string db = TestDatabase();
  std::vector<std::string> approve;
  if (plan == "plan-full-restore.yaml") approve = {"--approve=confirm=CONFIRM_FULL_RESTORE"};
  return CrashScenario{
      .example = "pg-consolidation-rollback",
      .plan = plan,
      .rows = rows,
      .env = PgExampleEnv(db),
      .run_args = approve,
      .resume_args = approve,
      .end_state =
          [db](const Example&) {
            return PgServer::Shared().Snapshot(db) + PgServer::Shared().Snapshot(db, "ops");
          },
      .min_appends = min_appends,
  };
}

TEST(PgConsolidationCrashMatrix, SchemaOnlyKilledAfterEveryAppend) {
  RecordProperty("crash_points_after_appends",
                 KillAfterEveryAppend(Consolidation("plan-schema-only.yaml", 60, 12)));
}

TEST(PgConsolidationCrashMatrix, TablesKilledAfterEveryAppend) {
  RecordProperty("crash_points_after_appends",
                 KillAfterEveryAppend(Consolidation("plan-tables.yaml", 60, 12)));
}

TEST(PgConsolidationCrashMatrix, FullRestoreKilledAfterEveryAppend) {
  RecordProperty("crash_points_after_appends",
                 KillAfterEveryAppend(Consolidation("plan-full-restore.yaml", 60, 20)));
}

// The slow step: restore-tables loading tens of thousands of rows. It has started when its
// COPY shows in pg_stat_activity.
TEST(PgConsolidationCrashMatrix, TablesKilledAtRandomMomentsDuringTheRestore) {
  const CrashScenario scenario = Consolidation("plan-tables.yaml", 40000, 12);
  const std::string db = TestDatabase();
  RecordProperty(
      "random_kills_landed",
      KillAtRandomMoments(
          scenario,
          {.step = "restore-tables",
           .kills = 8,
           .window_ms = 500,
           .started = [db](const Example&) {
             return PgServer::Shared().Psql(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                        "' AND application_name LIKE 'backout run %' AND query LIKE 'COPY %FROM STDIN%'") !=
                    "0\n";
           }}));
}

// Item 10 of issue 12: a resume started the moment its runner was SIGKILLed inside the
// restore can find the killed runner's session still holding the advisory lock (still
// rolling back, or gone between the lock attempt and the look-up of its holder). It must
// wait for that session and take the lock, never fail or pause the run. 40 kills in a row,
// each resumed at once; the step has started again when a COPY shows on a session that
// was not seen before (the killed runner's may still be there).
TEST(PgConsolidationCrashMatrix, TablesKilledInTheRestoreAndResumedAtOnce) {
  const CrashScenario scenario = Consolidation("plan-tables.yaml", 40000, 12);
  const std::string db = TestDatabase();
  auto seen = std::make_shared<std::set<std::string>>();
  RecordProperty(
      "kills_resumed_at_once",
      KillAndResumeAtOnce(
          scenario,
          {.step = "restore-tables",
           .kills = 40,
           .window_ms = 100,
           .started = [db, seen](const Example&) {
             const std::string pids = PgServer::Shared().Psql(
                 "SELECT pid FROM pg_stat_activity WHERE datname = '" + db +
                 "' AND application_name LIKE 'backout run %' "
                 "AND query LIKE 'COPY %FROM STDIN%'");
             std::istringstream lines(pids);
             for (std::string pid; std::getline(lines, pid);) {
               if (!pid.empty() && seen->insert(pid).second) return true;
             }
             return false;
           }}));
}

}  // namespace
}  // namespace backout::testing
