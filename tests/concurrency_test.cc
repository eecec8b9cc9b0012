// Concurrency on the real binary (design rule 7, issue 7), with the gated plan
// (tests/support/gate.h) so that a runner is held inside a step for exactly as long as the
// test needs:
//  - two `resume` processes started together on one run, 200 times (200 / MatrixStride()
//    in a sanitizer build): one wins, the other exits 5, every time;
//  - `status`, `events`, `report` and `verify` while a run is active: they work and see a
//    prefix of the final journal;
//  - two different runs in one journal directory at once: both succeed.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tests/support/crash_matrix.h"
#include "tests/support/gate.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kExitPaused = 3;
constexpr int kExitLocked = 5;
constexpr auto kGuard = std::chrono::minutes(1);  // only against a hang, never a measurement

TEST(Concurrency, TwoResumesRaceOneWinsTheOtherExits5EveryTime) {
  const int kTries = MatrixShare(200, 20);
  GatedExample ex;
  // A run paused inside the gate step (SIGTERM while it waits): resumable, and each resume
  // re-enters the gate (the step is idempotent) and waits there holding the lock.
  {
    BackgroundProcess first(ex.BackoutSpec({"run", "plan.yaml"}));
    ASSERT_TRUE(WaitFor([&] { return ex.Entered(); }, kGuard));
    first.Signal(SIGTERM);
    ASSERT_EQ(first.Wait().exit_code, kExitPaused);
  }
  const std::string run_id = OnlyRun(ex);
  int locked_out = 0;
  for (int i = 0; i < kTries; ++i) {
    ex.ForgetEntered();
    BackgroundProcess a(ex.BackoutSpec({"resume", run_id}));
    BackgroundProcess b(ex.BackoutSpec({"resume", run_id}));
    // The winner stays in the gate until signalled, so the loser is the first to exit.
    ASSERT_TRUE(WaitFor([&] { return !a.Running() || !b.Running(); }, kGuard)) << "try " << i;
    BackgroundProcess& loser = a.Running() ? b : a;
    BackgroundProcess& winner = a.Running() ? a : b;
    const ProcessResult lost = loser.Wait();
    ASSERT_EQ(lost.exit_code, kExitLocked) << "try " << i << "\n" << Show(lost);
    ASSERT_TRUE(Contains(lost.err, "is locked by another runner")) << lost.err;
    ++locked_out;
    ASSERT_TRUE(WaitFor([&] { return ex.Entered(); }, kGuard)) << "try " << i;
    ASSERT_TRUE(winner.Running()) << "try " << i;
    winner.Signal(SIGTERM);
    ASSERT_EQ(winner.Wait().exit_code, kExitPaused) << "try " << i;
  }
  EXPECT_EQ(ex.Backout({"verify", run_id}).exit_code, 0);
  EXPECT_EQ(ex.WrittenRows(), "0\n");
  std::printf("race: %d tries, one winner each, the other exited 5 in %d\n", kTries, locked_out);
  RecordProperty("race_tries", kTries);
}

TEST(Concurrency, ReadersDuringAnActiveRunSeeAPrefixOfTheFinalJournal) {
  GatedExample ex;
  BackgroundProcess run(ex.BackoutSpec({"run", "plan.yaml"}));
  ASSERT_TRUE(WaitFor([&] { return ex.Entered(); }, kGuard));
  const std::string run_id = OnlyRun(ex);
  const ProcessResult during = ex.Backout({"events", run_id, "--json"});
  ASSERT_EQ(during.exit_code, 0) << Show(during);
  for (const std::vector<std::string>& reader :
       {std::vector<std::string>{"status", run_id, "--json"}, {"status"}, {"verify", run_id},
        {"report", run_id, "--format", "json"}, {"report", run_id}}) {
    const ProcessResult r = ex.Backout(reader);
    EXPECT_EQ(r.exit_code, 0) << reader[0] << " during the run\n" << Show(r);
  }
  EXPECT_TRUE(Contains(ex.Backout({"status", run_id, "--json"}).out, "\"running\""));
  ASSERT_TRUE(ex.OpenGate());
  ASSERT_EQ(run.Wait().exit_code, 0);
  const std::string final_events = ex.Backout({"events", run_id, "--json"}).out;
  EXPECT_TRUE(final_events.starts_with(during.out)) << "not a prefix:\n" << during.out;
  EXPECT_GT(final_events.size(), during.out.size());
}

TEST(Concurrency, TwoRunsInOneJournalDirectoryAtOnceBothSucceed) {
  GatedExample one, two;
  const std::map<std::string, std::string> shared = {
      {"BACKOUT_JOURNAL", (one.dir() / "shared-journal").string()}};
  BackgroundProcess run_one(one.BackoutSpec({"run", "plan.yaml"}, shared));
  BackgroundProcess run_two(two.BackoutSpec({"run", "plan.yaml"}, shared));
  // Both are inside their first step at the same time before either may finish.
  ASSERT_TRUE(WaitFor([&] { return one.Entered() && two.Entered(); }, kGuard));
  ASSERT_TRUE(one.OpenGate());
  ASSERT_TRUE(two.OpenGate());
  EXPECT_EQ(run_one.Wait().exit_code, 0);
  EXPECT_EQ(run_two.Wait().exit_code, 0);
  EXPECT_EQ(one.WrittenRows(), "1\n");
  EXPECT_EQ(two.WrittenRows(), "1\n");
  const ProcessResult all = one.Backout({"status", "--json"}, shared);
  EXPECT_EQ(all.exit_code, 0) << Show(all);
  const nlohmann::json runs = nlohmann::json::parse(all.out);
  ASSERT_EQ(runs.size(), 2u) << all.out;
  for (const nlohmann::json& r : runs) EXPECT_EQ(r.at("status"), "succeeded") << r.dump();
}

}  // namespace
}  // namespace backout::testing
