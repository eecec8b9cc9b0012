// Target locks on the real binary (docs/reliability.md, "One runner per SQLite database"):
// two runs of one SQLite plan at once apply its `sql` step once; the second is refused with
// exit 5 naming the holder; a SIGKILLed holder's lock is gone for the resume.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "tests/support/example.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::seconds kLimit{60};  // a bound on waiting, never a measurement

Example::FromDir Plan() { return {SourceDir() / "tests" / "data" / "sqlite-lock"}; }

std::string Applied(const Example& ex) {
  return RunProcess({.argv = {"/usr/bin/sqlite3", (ex.dir() / "app.db").string(),
                              "SELECT group_concat(runner, ',') FROM applied"}})
      .out;
}

TEST(SqliteTargetLock, SecondRunIsRefusedWithExit5AndOnlyTheFirstApplies) {
  Example ex(Plan(), 0);
  BackgroundProcess first(ex.BackoutSpec({"run", "plan.yaml"}, {{"RUNNER", "first"}}));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ex.dir() / "started-first"); }, kLimit));

  // The second run of the same plan, while the first holds the database in its `hold` step.
  BackgroundProcess second(ex.BackoutSpec({"run", "plan.yaml"}, {{"RUNNER", "second"}}));
  // Either it is refused (exits) or, without a lock, it reaches its own `hold` step.
  ASSERT_TRUE(WaitFor([&] { return !second.Running() || fs::exists(ex.dir() / "started-second"); },
                      kLimit));
  WriteFile(ex.dir() / "go-second", "");
  const ProcessResult refused = second.Wait();
  EXPECT_EQ(refused.exit_code, 5) << Show(refused);
  EXPECT_FALSE(fs::exists(ex.dir() / "started-second")) << "the refused run ran a step";
  EXPECT_TRUE(Contains(refused.err, "another backout runner is working on this database"))
      << Show(refused);
  EXPECT_TRUE(Contains(refused.err, "pid " + std::to_string(first.pid()))) << Show(refused);
  EXPECT_TRUE(Contains(refused.err, "target appdb")) << Show(refused);
  // Refused before the run was created: no run id printed, nothing journaled.
  EXPECT_TRUE(refused.out.empty()) << Show(refused);

  WriteFile(ex.dir() / "go-first", "");
  const ProcessResult done = first.Wait();
  EXPECT_EQ(done.exit_code, 0) << Show(done);
  EXPECT_TRUE(Contains(refused.err, "run " + RunIdFrom(done))) << Show(refused);
  EXPECT_EQ(Applied(ex), "first\n");
  // Only the first run is in the journal (one directory per run).
  int runs = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(ex.journal())) {
    if (entry.is_directory()) ++runs;
  }
  EXPECT_EQ(runs, 1);
}

TEST(SqliteTargetLock, KilledHoldersLockIsGoneForTheResume) {
  Example ex(Plan(), 0);
  BackgroundProcess killed(ex.BackoutSpec({"run", "plan.yaml"}, {{"RUNNER", "first"}}));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ex.dir() / "started-first"); }, kLimit));
  killed.Signal(SIGKILL);
  const ProcessResult gone = killed.Wait();
  ASSERT_EQ(gone.signal, SIGKILL) << Show(gone);
  const std::string run_id = RunIdFrom(gone);
  ASSERT_FALSE(run_id.empty()) << Show(gone);
  // The sidecar still names the killed runner; only the flock counts, and it died with it.
  EXPECT_TRUE(Contains(ReadFile(ex.dir() / "app.db.backout-lock"), "run=" + run_id));

  WriteFile(ex.dir() / "go-first", "");
  const ProcessResult resumed = ex.Backout({"resume", run_id}, {{"RUNNER", "first"}});
  EXPECT_EQ(resumed.exit_code, 0) << Show(resumed);
  EXPECT_EQ(Applied(ex), "first\n");
}

// A run refused by a database lock in the middle of the run pauses (exit 3), never fails,
// and a later resume goes on.
TEST(SqliteTargetLock, ResumeWhileAnotherRunHoldsTheDatabasePausesAndLaterFinishes) {
  Example ex(Plan(), 0);
  BackgroundProcess killed(ex.BackoutSpec({"run", "plan.yaml"}, {{"RUNNER", "first"}}));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ex.dir() / "started-first"); }, kLimit));
  killed.Signal(SIGKILL);
  const std::string run_id = RunIdFrom(killed.Wait());
  ASSERT_FALSE(run_id.empty());

  BackgroundProcess other(ex.BackoutSpec({"run", "plan.yaml"}, {{"RUNNER", "other"}}));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ex.dir() / "started-other"); }, kLimit));
  WriteFile(ex.dir() / "go-first", "");
  const ProcessResult paused = ex.Backout({"resume", run_id}, {{"RUNNER", "first"}});
  EXPECT_EQ(paused.exit_code, 3) << Show(paused);
  EXPECT_TRUE(Contains(paused.out, "pid " + std::to_string(other.pid()))) << Show(paused);
  const std::vector<nlohmann::json> events = Events(ex, run_id);
  const std::vector<nlohmann::json> pauses = EventsOfType(events, "RunPaused");
  ASSERT_EQ(pauses.size(), 1u);
  EXPECT_EQ(pauses[0]["payload"]["reason"], "locked");
  EXPECT_TRUE(EventsOfType(events, "StepFailed").empty());

  WriteFile(ex.dir() / "go-other", "");
  EXPECT_EQ(other.Wait().exit_code, 0);
  const ProcessResult resumed = ex.Backout({"resume", run_id}, {{"RUNNER", "first"}});
  EXPECT_EQ(resumed.exit_code, 0) << Show(resumed);
  EXPECT_EQ(Applied(ex), "other,first\n");
}

}  // namespace
}  // namespace backout::testing
