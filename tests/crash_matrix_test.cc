// The crash matrix (design section 5) over the seed-004 plan:
//  1. SIGKILL the real `backout run` right after each of its durable journal appends in turn
//     (BACKOUT_CRASH_AFTER_APPENDS=N makes the process kill itself), then `resume`;
//  2. SIGKILL it from outside at random moments while the slow `stop-app` step runs (a real
//     child process draining), then `resume`.
// Every time: the database's final content equals an uninterrupted run's, `backout verify`
// passes, the non-idempotent `record-rollback` took effect exactly once, and the application
// ends up running. The number of crash points tried is printed.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <random>
#include <thread>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kRows = 2000;
const std::string kApprove = "--approve=confirm=ROLLBACK_MEDIA";

std::string RollbackLogCount(const Example& ex) {
  return RunProcess({.argv = {"/usr/bin/sqlite3", (ex.dir() / "data/app.db").string(),
                              "SELECT count(*) FROM rollback_log"}})
      .out;
}

// The end state every interrupted-and-resumed run must reach.
void ExpectSameEndState(const Example& ex, const std::string& run_id,
                        const std::string& reference_dump, const std::string& label) {
  EXPECT_EQ(DumpDatabase(ex.dir() / "data/app.db"), reference_dump) << label;
  EXPECT_EQ(RollbackLogCount(ex), "1\n") << label << ": record-rollback must happen exactly once";
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), "running\n") << label;
  const ProcessResult verify = ex.Backout({"verify", run_id});
  EXPECT_EQ(verify.exit_code, 0) << label << ": " << verify.out << verify.err;
  const ProcessResult status = ex.Backout({"status", run_id, "--json"});
  EXPECT_NE(status.out.find("\"status\": \"succeeded\""), std::string::npos) << label;
}

// Resumes until the run is done. A resume exits 0 when the run succeeds.
void ResumeToEnd(const Example& ex, const std::string& run_id, const std::string& label) {
  const ProcessResult resumed = ex.Backout({"resume", run_id, kApprove}, {{"APP_DRAIN_SECONDS", "0.2"}});
  ASSERT_EQ(resumed.exit_code, 0) << label << "\n" << resumed.out << resumed.err;
}

class CrashMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Example ex("media-rollback", kRows);
    const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove}, {{"APP_DRAIN_SECONDS", "0.2"}});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    reference_dump_ = new std::string(DumpDatabase(ex.dir() / "data/app.db"));
    ASSERT_EQ(reference_dump_->find("CREATE TABLE media"), std::string::npos);
  }
  static void TearDownTestSuite() { delete reference_dump_; }
  static std::string* reference_dump_;
};
std::string* CrashMatrix::reference_dump_ = nullptr;

TEST_F(CrashMatrix, KillAfterEveryJournalAppendThenResume) {
  int crash_points = 0;
  for (int n = 1;; ++n) {
    const std::string label = "crash after append " + std::to_string(n);
    Example ex("media-rollback", kRows);
    const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove},
                                         {{"BACKOUT_CRASH_AFTER_APPENDS", std::to_string(n)},
                                          {"APP_DRAIN_SECONDS", "0.2"}});
    if (run.signal == 0) {
      // Fewer appends than n: the run went through; the matrix is complete.
      ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
      ASSERT_GT(n, 10) << "the plan should take more than 10 appends";
      break;
    }
    ASSERT_EQ(run.signal, SIGKILL) << label;
    ++crash_points;
    const std::string run_id = RunIdFrom(run);
    ResumeToEnd(ex, run_id, label);
    ExpectSameEndState(ex, run_id, *reference_dump_, label);
    if (HasFailure()) break;
  }
  std::printf("crash matrix: %d crash points after journal appends tried, all resumed to the "
              "reference end state\n", crash_points);
  RecordProperty("crash_points_after_appends", crash_points);
}

TEST_F(CrashMatrix, KillAtRandomMomentsDuringSlowStepThenResume) {
  constexpr int kKills = 20;
  constexpr int kDrainMs = 1000;
  std::random_device rd;
  const unsigned seed = std::getenv("BACKOUT_CRASH_SEED") ? std::stoul(std::getenv("BACKOUT_CRASH_SEED")) : rd();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, kDrainMs + 100);
  int interrupted = 0;
  for (int i = 0; i < kKills; ++i) {
    const int delay = delay_ms(rng);
    const std::string label = "random kill " + std::to_string(i) + " at +" + std::to_string(delay) +
                              "ms into stop-app (seed " + std::to_string(seed) + ")";
    Example ex("media-rollback", kRows);
    BackgroundProcess run(ex.BackoutSpec({"run", "plan.yaml", kApprove},
                                         {{"APP_DRAIN_SECONDS", std::to_string(kDrainMs / 1000.0)}}));
    // The step's log file appears once StepStarted is durable and the child is spawned.
    const bool started = WaitFor(
        [&] {
          if (!fs::exists(ex.journal())) return false;
          for (const auto& entry : fs::directory_iterator(ex.journal())) {
            if (fs::exists(entry.path() / "logs" / "stop-app.1.log")) return true;
          }
          return false;
        },
        std::chrono::seconds(30));
    ASSERT_TRUE(started) << label;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    run.Signal(SIGKILL);
    const ProcessResult killed = run.Wait();
    const std::string run_id = RunIdFrom(killed);
    if (killed.signal == SIGKILL) ++interrupted;
    ResumeToEnd(ex, run_id, label);
    ExpectSameEndState(ex, run_id, *reference_dump_, label);
    if (HasFailure()) break;
  }
  std::printf("crash matrix: %d random kills during stop-app (%d landed before the run ended), "
              "seed %u, all resumed to the reference end state\n", kKills, interrupted, seed);
  RecordProperty("random_kills", kKills);
}

}  // namespace
}  // namespace backout::testing
