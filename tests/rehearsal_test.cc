// `backout run --rehearse` end to end on the seed-004 example (SQLite): the rehearsal works
// on a copy, leaves the real database byte-identical, is journaled and reported as a
// rehearsal, survives a SIGKILL (the resumed run finds the same copy), and drops its copy at
// the end. A plan with a target that cannot be copied is refused before anything runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <signal.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 300;
const std::string kApprove = "--approve=confirm=ROLLBACK_MEDIA";
const std::map<std::string, std::string> kFastApp = {{"APP_DRAIN_SECONDS", "0.05"}};

fs::path AppDb(const Example& ex) { return ex.dir() / "data" / "app.db"; }

// The example's plan with its command target (the stand-in service manager) declared safe
// to run for real during a rehearsal.
void MarkAppLive(const Example& ex) {
  std::string plan = ReadFile(ex.plan());
  const std::string from = "app:   { type: command, cwd: . }";
  const std::size_t at = plan.find(from);
  ASSERT_NE(at, std::string::npos) << "the example's app target changed; update this test";
  plan.replace(at, from.size(), "app:   { type: command, cwd: ., rehearsal: live }");
  WriteFile(ex.plan(), plan);
}

// Files left in the run's scratch directory (the rehearsal copies).
// The copies in the run's scratch directory; a copy's runner lock file beside it
// (<copy>.backout-lock, docs/adapters/sqlite.md) is not a copy.
std::size_t ScratchFiles(const Example& ex, const std::string& run_id) {
  const fs::path dir = ex.journal() / run_id / "scratch";
  if (!fs::exists(dir)) return 0;
  return static_cast<std::size_t>(
      std::count_if(fs::directory_iterator(dir), fs::directory_iterator(), [](const auto& entry) {
        return !entry.path().string().ends_with(".backout-lock");
      }));
}

TEST(Rehearsal, RefusedBeforeAnythingRunsWhenATargetCannotBeCopied) {
  Example ex("media-rollback", kRows);
  const std::string before = DumpDatabase(AppDb(ex));
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
  EXPECT_EQ(run.exit_code, 2) << Show(run);
  EXPECT_TRUE(Contains(run.err, "'app' (command)")) << run.err;
  EXPECT_TRUE(Contains(run.err, "rehearsal: live")) << run.err;
  EXPECT_FALSE(fs::exists(ex.journal())) << "no run may be created";
  EXPECT_EQ(DumpDatabase(AppDb(ex)), before);
}

TEST(Rehearsal, WorksOnACopyAndLeavesTheRealDatabaseUnchanged) {
  Example ex("media-rollback", kRows);
  MarkAppLive(ex);
  const std::string before = DumpDatabase(AppDb(ex));
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  // The plan's verify step (media absent, counts as baselined) passed: on the copy.
  EXPECT_TRUE(Contains(run.out, "rehearsal copies dropped")) << run.out;
  EXPECT_EQ(DumpDatabase(AppDb(ex)), before) << "a rehearsal must not touch the real database";
  EXPECT_EQ(ScratchFiles(ex, run_id), 0u) << "the copy is dropped when the run finishes";

  const json report = ReportJson(ex, run_id);
  EXPECT_EQ(report["summary"]["rehearsal"], true) << report["summary"].dump(2);
  const ProcessResult md = ex.Backout({"report", run_id, "--format", "md"});
  EXPECT_TRUE(Contains(md.out, "rehearsal")) << md.out;
}

TEST(Rehearsal, ResumeAfterSigkillFindsTheSameCopy) {
  // Where to crash: just after drop-media's outcome is journaled, measured on a full run. A
  // resume that made a fresh copy would see `media` again and fail the verify step.
  Example measure("media-rollback", kRows);
  MarkAppLive(measure);
  const ProcessResult full =
      measure.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
  ASSERT_EQ(full.exit_code, 0) << Show(full);
  const std::vector<json> succeeded =
      EventsOfType(Events(measure, RunIdFrom(full)), "StepSucceeded", "drop-media");
  const int crash_after = succeeded.empty() ? 0 : succeeded.back()["seq"].get<int>();
  ASSERT_GT(crash_after, 0) << json(succeeded);

  Example ex("media-rollback", kRows);
  MarkAppLive(ex);
  const std::string before = DumpDatabase(AppDb(ex));
  std::map<std::string, std::string> env = kFastApp;
  env["BACKOUT_CRASH_AFTER_APPENDS"] = std::to_string(crash_after);
  const ProcessResult crashed = ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, env);
  ASSERT_EQ(crashed.signal, SIGKILL) << Show(crashed);
  const std::string run_id = RunIdFrom(crashed);
  EXPECT_EQ(ScratchFiles(ex, run_id), 1u) << "the copy outlives the killed runner";

  const ProcessResult resumed = ex.Backout({"resume", run_id}, kFastApp);
  ASSERT_EQ(resumed.exit_code, 0) << Show(resumed);
  EXPECT_EQ(DumpDatabase(AppDb(ex)), before);
  EXPECT_EQ(ScratchFiles(ex, run_id), 0u);
  EXPECT_EQ(ReportJson(ex, run_id)["summary"]["rehearsal"], true);
}

}  // namespace
}  // namespace backout::testing
