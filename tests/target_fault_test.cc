// Faults in targets, on the real binary (issue 7): each ends as a journaled step failure,
// never a hang.
//  - the SQLite file locked by another process: a real `sqlite3` holding an exclusive lock;
//  - a command that ignores SIGTERM past its timeout: killed with SIGKILL after kill_grace.
// PostgreSQL stopped mid-step and an HTTP endpoint that hangs belong here too, once those
// adapters land (docs/reliability.md, "Target faults").
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

// The run's StepFailed event for `step` (`events --json`), or null.
nlohmann::json StepFailed(const Example& ex, const std::string& run_id, const std::string& step) {
  const std::vector<nlohmann::json> failed = EventsOfType(Events(ex, run_id), "StepFailed", step);
  return failed.empty() ? nullptr : failed.front().at("payload");
}

// Whether process `pid` is gone (or a zombie nobody has reaped yet: it runs nothing).
bool Gone(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const std::size_t close = line.rfind(')');
  return close != std::string::npos && line.substr(close + 2, 1) == "Z";
}

TEST(TargetFault, SqliteLockedByAnotherProcessIsAJournaledFailure) {
  Example ex("media-rollback", 100);
  const fs::path db = ex.dir() / "data/app.db";
  ::mkfifo((ex.dir() / "release.fifo").c_str(), 0600);
  // A real second process holding SQLite's exclusive lock until the test releases it.
  BackgroundProcess holder({.argv = {"/usr/bin/sqlite3", db.string()},
                            .cwd = ex.dir(),
                            .stdin_text = "BEGIN EXCLUSIVE;\n"
                                          "INSERT INTO rollback_log (migration, note) VALUES ('x', 'y');\n"
                                          ".shell touch locked && cat release.fifo\n"
                                          "ROLLBACK;\n"});
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ex.dir() / "locked"); }, std::chrono::minutes(1)));
  WriteFile(ex.dir() / "locked.yaml",
            "version: 1\n"
            "name: locked\n"
            "targets:\n"
            "  appdb: { type: sqlite, path: data/app.db, busy_timeout: 300 }\n"
            "steps:\n"
            "  - id: record\n"
            "    sql: { target: appdb, script: \"INSERT INTO rollback_log (migration, note) VALUES ('m', 'n');\" }\n");
  // Preflight sees the lock and refuses the run (tests/preflight_corpus_test.cc); a lock taken
  // after preflight, which --skip-preflight stands in for here, is the step's failure.
  const ProcessResult run = ex.Backout({"run", "locked.yaml", "--skip-preflight"});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  const nlohmann::json failed = StepFailed(ex, RunIdFrom(run), "record");
  ASSERT_FALSE(failed.is_null()) << "the failure must be journaled";
  EXPECT_TRUE(Contains(failed.dump(), "is locked by another connection")) << failed.dump();
  EXPECT_EQ(ex.Backout({"verify", RunIdFrom(run)}).exit_code, 0);

  // Let the holder go: its transaction rolls back, and the database is as it was.
  std::ofstream(ex.dir() / "release.fifo") << "\n";
  EXPECT_EQ(holder.Wait().exit_code, 0);
  EXPECT_EQ(RunProcess({.argv = {"/usr/bin/sqlite3", db.string(), "SELECT count(*) FROM rollback_log"}}).out, "0\n");
}

TEST(TargetFault, CommandIgnoringSigtermIsKilledAfterGraceAndJournaled) {
  Example ex("media-rollback", 100);
  // The shell and its `sleep` ignore SIGTERM (an ignored signal stays ignored across exec).
  WriteFile(ex.dir() / "stubborn.yaml",
            "version: 1\n"
            "name: stubborn\n"
            "targets:\n"
            "  sh: { type: command, cwd: . }\n"
            "steps:\n"
            "  - id: stubborn\n"
            "    command: { target: sh, shell: \"trap '' TERM; sleep 600 & echo $$ $! > pids; wait\", kill_grace: 200, timeout: 1s }\n");
  const ProcessResult run = ex.Backout({"run", "stubborn.yaml"});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  const nlohmann::json failed = StepFailed(ex, RunIdFrom(run), "stubborn");
  ASSERT_FALSE(failed.is_null()) << "the failure must be journaled";
  EXPECT_TRUE(Contains(failed.dump(), "timed out")) << failed.dump();
  EXPECT_EQ(failed.dump().find("\"signal\":15"), std::string::npos)
      << "SIGTERM was ignored, so only SIGKILL can have ended it: " << failed.dump();
  std::istringstream pids(ReadFile(ex.dir() / "pids"));
  std::string shell, sleeper;
  pids >> shell >> sleeper;
  ASSERT_FALSE(sleeper.empty());
  EXPECT_TRUE(Gone(shell)) << "the shell survived";
  EXPECT_TRUE(Gone(sleeper)) << "its child survived: the whole process group must be killed";
}

}  // namespace
}  // namespace backout::testing
