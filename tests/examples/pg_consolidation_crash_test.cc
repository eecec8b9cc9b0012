// The crash matrix (tests/support/crash_matrix.h) over the three seed-002 plans of
// examples/pg-consolidation-rollback on a real PostgreSQL: SIGKILL after every journal
// append, and at random moments inside the per-table restore, then resume; the database must
// end as after an uninterrupted run, compared by per-table checksums and schema
// (PgServer::Snapshot, plain SQL), the `ops` schema included.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace backout::testing
