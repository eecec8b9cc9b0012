// The crash matrix (tests/support/crash_matrix.h) over the seed-004 plan: the database's
// final content equals an uninterrupted run's, the non-idempotent `record-rollback` took
// effect exactly once, and the application ends up running. The counts are printed.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/support/crash_matrix.h"

namespace backout::testing {
namespace {

const std::map<std::string, std::string> kQuickDrain = {{"APP_DRAIN_SECONDS", "0.2"}};

std::string Sqlite(const Example& ex, const std::string& query) {
  return RunProcess({.argv = {"/usr/bin/sqlite3", (ex.dir() / "data/app.db").string(), query}}).out;
}

CrashScenario MediaRollback() {
  return CrashScenario{
      .example = "media-rollback",
      .rows = 2000,
      .env = kQuickDrain,
      .run_args = {"--approve=confirm=ROLLBACK_MEDIA"},
      .resume_args = {"--approve=confirm=ROLLBACK_MEDIA"},
      .end_state = [](const Example& ex) { return DumpDatabase(ex.dir() / "data/app.db"); },
      .exactly_once =
          [](const Example& ex, const std::string& label) {
            EXPECT_EQ(Sqlite(ex, "SELECT count(*) FROM rollback_log"), "1\n")
                << label << ": record-rollback must happen exactly once";
            EXPECT_EQ(ReadFile(ex.dir() / "app.state"), "running\n") << label;
            EXPECT_FALSE(Contains(Sqlite(ex, ".tables"), "media")) << label;
          },
  };
}

TEST(CrashMatrix, KillAfterEveryJournalAppendThenResume) {
  RecordProperty("crash_points_after_appends", KillAfterEveryAppend(MediaRollback()));
}

// The slow step is stop-app: a real child process draining for a second.
TEST(CrashMatrix, KillAtRandomMomentsDuringSlowStepThenResume) {
  RecordProperty("random_kills_landed",
                 KillAtRandomMoments(MediaRollback(), {.step = "stop-app",
                                                        .kills = 20,
                                                        .window_ms = 1100,
                                                        .env = {{"APP_DRAIN_SECONDS", "1"}}}));
}

}  // namespace
}  // namespace backout::testing
