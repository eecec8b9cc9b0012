// Issue 14, "Reports and notifications tell the outcome", end to end on the real binary: the
// report lists what a run restored (source, sha256, bytes), a notify in an `always` step
// says how the run is ending ({ending}, {failed_steps}, {abort_reasons}), and `abort` says
// what it recorded and what is left undone, keeping every reason it was given.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 50;

// A plan on the media-rollback example's database (data/app.db) written beside it.
void WritePlan(const Example& ex, const std::string& steps) {
  WriteFile(ex.plan(),
            "version: 1\n"
            "name: outcome\n"
            "targets:\n"
            "  appdb: { type: sqlite, path: data/app.db }\n"
            "  app: { type: command, cwd: . }\n"
            "steps:\n" +
                steps);
}

// An `always` step `tell` whose notify writes `message` to notes/outcome.log.
std::string TellStep(const std::string& message) {
  return "  - id: tell\n"
         "    always: true\n"
         "    notify:\n"
         "      message: \"" + message + "\"\n"
         "      to: { file: notes/outcome.log }\n";
}

TEST(Outcome, ReportListsRestoresAndAnAlwaysNotifySaysTheRunFailed) {
  Example ex("media-rollback", kRows);
  WritePlan(ex, R"(  - id: backup
    backup: { target: appdb, to: backups/ }
  - id: restore
    restore: { target: appdb, from: "${steps.backup.outputs.path}" }
  - id: boom
    command: { target: app, argv: [/bin/false] }
  - id: after
    command: { target: app, argv: [/bin/true] }
)" + TellStep("ending={ending} failed={failed_steps} status={status}"));
  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 1) << Show(run);
  const std::string run_id = RunIdFrom(run);

  // The run is still running while the always step sends: {status} cannot say how it ends,
  // {ending} can.
  EXPECT_EQ(ReadFile(ex.dir() / "notes" / "outcome.log"),
            "ending=failed failed=boom status=running\n");

  const json report = ReportJson(ex, run_id);
  const json& backup = report.at("backups").at(0);
  ASSERT_EQ(report.at("restores").size(), 1u) << report.at("restores").dump(2);
  const json& restore = report.at("restores").at(0);
  EXPECT_EQ(restore.at("step"), "restore");
  EXPECT_EQ(restore.at("target"), "appdb");
  EXPECT_EQ(restore.at("kind"), "restore");
  EXPECT_EQ(restore.at("source"), backup.at("path"));
  EXPECT_EQ(restore.at("sha256"), backup.at("sha256"));
  EXPECT_EQ(restore.at("bytes"), backup.at("bytes"));
  EXPECT_GT(restore.at("bytes").get<std::int64_t>(), 0);

  const ProcessResult md = ex.Backout({"report", run_id});
  ASSERT_EQ(md.exit_code, 0) << Show(md);
  EXPECT_TRUE(Contains(md.out, "Restored: `" + restore.at("source").get<std::string>() +
                                   "` into appdb"))
      << md.out;
  EXPECT_TRUE(Contains(md.out, "## Restores")) << md.out;
}

TEST(Outcome, AbortSaysWhatItRecordedAndWhatIsLeftUndoneAndKeepsEveryReason) {
  Example ex("media-rollback", kRows);
  WritePlan(ex, R"(  - id: gate
    approval: { prompt: "Go?", phrase: GO }
  - id: work
    command: { target: app, argv: [/bin/true] }
  - id: cleanup-gate
    always: true
    approval: { prompt: "Clean up?", phrase: CLEAN }
  - id: maintenance-off
    title: Switch maintenance mode off
    always: true
    command: { target: app, argv: [/bin/sh, -c, "echo still on >&2; exit 3"] }
)" + TellStep("ending={ending} reasons={abort_reasons}"));
  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 3) << Show(run);  // paused at the gate
  const std::string run_id = RunIdFrom(run);

  // The first abort stops at the always approval: the run pauses again.
  const ProcessResult first = ex.Backout({"abort", run_id, "--reason", "wrong plan"});
  ASSERT_EQ(first.exit_code, 3) << Show(first);
  EXPECT_TRUE(Contains(first.out, "the abort is recorded in the journal: \"wrong plan\""))
      << first.out;
  EXPECT_TRUE(Contains(first.out, "is paused (approval: cleanup-gate), abort requested"))
      << first.out;
  // A second abort is journaled too, not dropped.
  const ProcessResult second = ex.Backout({"abort", run_id, "--reason", "still wrong"});
  ASSERT_EQ(second.exit_code, 3) << Show(second);

  const ProcessResult approve =
      ex.Backout({"approve", run_id, "cleanup-gate", "--phrase", "CLEAN"});
  ASSERT_EQ(approve.exit_code, 0) << Show(approve);
  const ProcessResult last = ex.Backout({"abort", run_id, "--reason", "third"});
  ASSERT_EQ(last.exit_code, 0) << Show(last);
  EXPECT_TRUE(Contains(last.out, "the abort is recorded in the journal: \"third\" (earlier "
                                 "aborts: \"wrong plan\", \"still wrong\")"))
      << last.out;
  EXPECT_TRUE(Contains(last.out, "will not run: gate, work\n")) << last.out;
  EXPECT_TRUE(Contains(last.out, "always step cleanup-gate succeeded\n")) << last.out;
  EXPECT_TRUE(Contains(last.out, "always step maintenance-off FAILED: ")) << last.out;
  EXPECT_TRUE(Contains(last.out, "what it does (Switch maintenance mode off) is NOT done"))
      << last.out;
  EXPECT_TRUE(Contains(last.out, "always step tell succeeded\n")) << last.out;
  EXPECT_TRUE(Contains(last.out, "run " + run_id + " is aborted\n")) << last.out;

  EXPECT_EQ(ReadFile(ex.dir() / "notes" / "outcome.log"),
            "ending=aborted reasons=wrong plan, still wrong, third\n");

  const ProcessResult status = ex.Backout({"status", run_id, "--json"});
  ASSERT_EQ(status.exit_code, 0) << Show(status);
  const json reasons = json::array({"wrong plan", "still wrong", "third"});
  EXPECT_EQ(json::parse(status.out).at("abort_reasons"), reasons);
  const ProcessResult text = ex.Backout({"status", run_id});
  EXPECT_TRUE(Contains(text.out, "abort    wrong plan\nabort    still wrong\nabort    third\n"))
      << text.out;
  const json report = ReportJson(ex, run_id);
  EXPECT_EQ(report.at("summary").at("abort_reason"), "wrong plan");
  EXPECT_EQ(report.at("summary").at("abort_reasons"), reasons);
  EXPECT_TRUE(report.at("restores").empty());

  // The journal still verifies: a repeated AbortRequested is an allowed transition.
  const ProcessResult verify = ex.Backout({"verify", run_id});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
}

}  // namespace
}  // namespace backout::testing
