// BuildReport on hand-built journals: each test writes the events a run would have journaled
// (with the times it chooses), folds them as the CLI does, and checks one part of the report.
#include "report/report.h"

#include <gtest/gtest.h>

#include "base/sha256.h"
#include "report/render.h"
#include "report/test_journal.h"

namespace backout::report {
namespace {

using testing::kT0;
using testing::Seconds;
using testing::TestJournal;

TEST(BuildReportDowntime, RunsFromTheStartStepsFirstStartToTheEndStepsSuccess) {
  // Given a run where stop-app (downtime: start) starts at +10s and start-app (downtime: end)
  // succeeds at +95s
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(20).Add(sm::StepSucceeded{"stop-app", 1});
  j.RunMiddleSteps(30);
  j.At(90).Add(sm::StepStarted{"start-app", 1});
  j.At(95).Add(sm::StepSucceeded{"start-app", 1});
  j.At(96).Add(sm::RunFinished{sm::RunFinished::Ending::kSucceeded});
  // When the report is built
  const RunReport r = j.Build();
  // Then the window is closed and 85 s long, and the timeline marks both ends
  const Downtime& d = r.summary.downtime;
  EXPECT_EQ(d.state, Downtime::State::kClosed);
  EXPECT_EQ(d.start_step, "stop-app");
  EXPECT_EQ(d.end_step, "start-app");
  EXPECT_EQ(d.start_us, kT0 + Seconds(10));
  EXPECT_EQ(d.end_us, kT0 + Seconds(95));
  EXPECT_EQ(d.duration_ms, 85'000);
  EXPECT_EQ(j.TimelineTextOf(r, "StepStarted", "stop-app"), "started, attempt 1 (downtime starts)");
  EXPECT_EQ(j.TimelineTextOf(r, "StepSucceeded", "start-app"), "succeeded (downtime ends)");
  EXPECT_EQ(r.summary.total_ms, 96'000);
}

TEST(BuildReportDowntime, NotMarkedWhenThePlanHasNoMarkers) {
  TestJournal j(testing::PlanWithoutDowntime());
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  const RunReport r = j.Build();
  EXPECT_EQ(r.summary.downtime.state, Downtime::State::kNotMarked);
  EXPECT_EQ(r.summary.downtime.duration_ms, std::nullopt);
  EXPECT_EQ(r.summary.downtime.start_step, "");
}

TEST(BuildReportDowntime, StillOpenWhenTheEndStepHasNotSucceeded) {
  // Given a run that stopped the app at +10s and is paused at the approval at +40s
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(20).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(40).Add(sm::ApprovalRequested{"confirm", "Go?"});
  j.At(40).Add(sm::RunPaused{sm::RunPaused::Reason::kApproval, "confirm"});
  const RunReport r = j.Build();
  // Then the window is open, measured up to the last event
  EXPECT_EQ(r.summary.downtime.state, Downtime::State::kOpen);
  EXPECT_EQ(r.summary.downtime.duration_ms, 30'000);
  EXPECT_EQ(r.summary.downtime.end_us, 0);
}

TEST(BuildReportDowntime, NotStartedWhenTheStartStepNeverBegan) {
  TestJournal j;
  j.StartRun(0);
  const RunReport r = j.Build();
  EXPECT_EQ(r.summary.downtime.state, Downtime::State::kNotStarted);
  EXPECT_EQ(r.summary.downtime.duration_ms, std::nullopt);
}

TEST(BuildReportInterruptions, CrashGapRunsFromTheLastEventBeforeTheResumeToTheResume) {
  // Given a runner that died after drop's StepStarted at +100s, resumed by bob at +400s
  TestJournal j;
  j.StartRun(0);
  j.RunUpToDrop();
  j.At(100).Add(sm::StepStarted{"drop", 1});
  j.At(400).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "bob");
  j.At(400).Add(sm::StepInDoubt{"drop", 1}, "bob");
  j.At(401).Add(sm::StepStarted{"drop", 2}, "bob");
  const RunReport r = j.Build();
  // Then after the approval pause, one crash of 300 s is reported, naming the step in doubt
  ASSERT_EQ(r.interruptions.size(), 2u);
  EXPECT_EQ(r.interruptions[0].kind, Interruption::Kind::kPause);
  const Interruption& i = r.interruptions[1];
  EXPECT_EQ(i.kind, Interruption::Kind::kCrash);
  EXPECT_EQ(i.from_us, kT0 + Seconds(100));
  EXPECT_EQ(i.until_us, kT0 + Seconds(400));
  EXPECT_EQ(i.gap_ms, 300'000);
  EXPECT_EQ(i.resumed_by, "bob");
  EXPECT_EQ(i.in_doubt_steps, std::vector<std::string>{"drop"});
  // and drop, run again without asking (idempotent by the test's account), shows that
  const StepReport& drop = j.StepOf(r, "drop");
  ASSERT_EQ(drop.in_doubt.size(), 1u);
  EXPECT_EQ(drop.in_doubt[0].settled, InDoubt::Settled::kRerun);
  EXPECT_EQ(drop.in_doubt[0].attempt, 1);
  EXPECT_EQ(drop.in_doubt[0].since_us, kT0 + Seconds(400));
  EXPECT_EQ(drop.in_doubt[0].by, "bob");
  EXPECT_EQ(drop.in_doubt[0].at_us, kT0 + Seconds(401));
}

TEST(BuildReportInterruptions, AbortOfACrashedRunMeasuresTheGapBeforeItsAbortRequest) {
  // `abort` journals AbortRequested and RunResumed in one batch: the gap ends at that batch.
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(70).Add(sm::AbortRequested{"wrong plan"}, "carol");
  j.At(70).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "carol");
  j.At(70).Add(sm::StepInDoubt{"stop-app", 1}, "carol");
  const RunReport r = j.Build();
  ASSERT_EQ(r.interruptions.size(), 1u);
  EXPECT_EQ(r.interruptions[0].kind, Interruption::Kind::kCrash);
  EXPECT_EQ(r.interruptions[0].from_us, kT0 + Seconds(10));
  EXPECT_EQ(r.interruptions[0].gap_ms, 60'000);
  EXPECT_EQ(r.summary.abort_reason, "wrong plan");
  EXPECT_EQ(r.summary.outcome_detail, "running, abort requested");
}

TEST(BuildReportInterruptions, OtherCommandsBetweenCrashAndResumeDoNotShortenTheCrashGap) {
  // Given a runner that died at +10s, then a note, a triage and a resolve by others
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(20).Add(sm::NoteAdded{"runner host rebooted"}, "erin");
  j.At(30).Add(sm::TriageRecorded{"app_crash", "critical", "rollback_now", ""}, "erin");
  j.At(40).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "bob");
  const RunReport r = j.Build();
  // Then the crash gap still starts at the runner's last event
  ASSERT_EQ(r.interruptions.size(), 1u);
  EXPECT_EQ(r.interruptions[0].from_us, kT0 + Seconds(10));
  EXPECT_EQ(r.interruptions[0].gap_ms, 30'000);
}

TEST(BuildReportInterruptions, PauseGapRunsFromRunPausedToTheNextResumeAndAStandingPauseHasNone) {
  // Given a pause on a signal at +20s resumed at +80s, then a pause at the approval at +90s
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(15).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(20).Add(sm::RunPaused{sm::RunPaused::Reason::kSignal, ""});
  j.At(80).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kChanged}, "bob");
  j.At(85).Add(sm::StepStarted{"backup", 1}, "bob");
  j.At(86).Add(sm::StepSucceeded{"backup", 1, {{"path", "b.db"}}}, "bob");
  j.At(90).Add(sm::ApprovalRequested{"confirm", "Go?"}, "bob");
  j.At(90).Add(sm::RunPaused{sm::RunPaused::Reason::kApproval, "confirm"}, "bob");
  const RunReport r = j.Build();
  // Then both pauses are reported, the first 60 s long, the second still standing
  ASSERT_EQ(r.interruptions.size(), 2u);
  const Interruption& signal = r.interruptions[0];
  EXPECT_EQ(signal.kind, Interruption::Kind::kPause);
  EXPECT_EQ(signal.reason, "signal");
  EXPECT_EQ(signal.gap_ms, 60'000);
  EXPECT_EQ(signal.resumed_by, "bob");
  EXPECT_TRUE(signal.in_doubt_steps.empty());
  const Interruption& approval = r.interruptions[1];
  EXPECT_EQ(approval.reason, "approval");
  EXPECT_EQ(approval.step, "confirm");
  EXPECT_EQ(approval.from_us, kT0 + Seconds(90));
  EXPECT_EQ(approval.until_us, 0);
  EXPECT_EQ(approval.gap_ms, std::nullopt);
  EXPECT_EQ(r.summary.outcome_detail, "paused (approval: confirm)");
  // and the resume says the plan file changed
  EXPECT_EQ(j.TimelineTextOf(r, "RunResumed", ""),
            "run resumed by bob after a pause of 1m00s (the plan file is changed)");
}

TEST(BuildReportRecovery, InDoubtStepWhoseCheckFindsTheEffectIsRecoveredByCheck) {
  // Given stop-app in doubt after a crash, and its check finding the app stopped
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(40).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged});
  j.At(40).Add(sm::StepInDoubt{"stop-app", 1});
  j.At(41).Add(sm::StepChecked{"stop-app", sm::StepChecked::Finding::kPresent,
                               "the check found the effect in place"});
  const RunReport r = j.Build();
  const StepReport& step = j.StepOf(r, "stop-app");
  EXPECT_EQ(step.status, "succeeded");
  EXPECT_EQ(step.recovered, "check");
  EXPECT_EQ(step.attempts, 1);
  EXPECT_EQ(step.actual_ms, 31'000);  // first start to the check, the crash included
  ASSERT_EQ(step.in_doubt.size(), 1u);
  EXPECT_EQ(step.in_doubt[0].settled, InDoubt::Settled::kCheck);
  EXPECT_EQ(step.in_doubt[0].effect_in_place, true);
  EXPECT_EQ(step.in_doubt[0].at_us, kT0 + Seconds(41));
  EXPECT_EQ(step.in_doubt[0].detail, "the check found the effect in place");
}

TEST(BuildReportRecovery, InconclusiveCheckThenResolveNotAppliedIsAResolveDecision) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(40).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged});
  j.At(40).Add(sm::StepInDoubt{"stop-app", 1});
  j.At(41).Add(sm::StepChecked{"stop-app", sm::StepChecked::Finding::kUnknown, "timeout"});
  j.At(41).Add(sm::RunPaused{sm::RunPaused::Reason::kInDoubt, "stop-app"});
  j.At(100).Add(sm::StepResolved{"stop-app", false}, "dave");
  const RunReport r = j.Build();
  const StepReport& step = j.StepOf(r, "stop-app");
  ASSERT_EQ(step.in_doubt.size(), 1u);
  EXPECT_EQ(step.in_doubt[0].settled, InDoubt::Settled::kResolve);
  EXPECT_EQ(step.in_doubt[0].effect_in_place, false);
  EXPECT_EQ(step.in_doubt[0].by, "dave");
  EXPECT_EQ(step.in_doubt[0].detail, "timeout");
  EXPECT_EQ(step.recovered, "");
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].kind, Decision::Kind::kResolve);
  EXPECT_EQ(r.decisions[0].by, "dave");
  EXPECT_EQ(r.decisions[0].answer, "not applied");
  EXPECT_EQ(r.decisions[0].via, "resolve");
  EXPECT_EQ(r.decisions[0].at_us, kT0 + Seconds(100));
}

TEST(BuildReportApprovals, ApprovalGrantedAfterARequestRecordsWhoWhenPhraseAndTheWait) {
  TestJournal j;
  j.StartRun(0);
  j.RunUpToDrop();  // confirm requested at +30s, approved by carol at +90s
  const RunReport r = j.Build();
  ASSERT_EQ(r.decisions.size(), 1u);
  const Decision& d = r.decisions[0];
  EXPECT_EQ(d.kind, Decision::Kind::kApproval);
  EXPECT_EQ(d.step, "confirm");
  EXPECT_EQ(d.by, "carol");
  EXPECT_EQ(d.answer, "GO");
  EXPECT_EQ(d.via, "approve");
  EXPECT_EQ(d.requested_us, kT0 + Seconds(30));
  EXPECT_EQ(d.at_us, kT0 + Seconds(90));
  EXPECT_EQ(d.waited_ms, 60'000);
  // The approval step's actual time is the wait; it has no attempts.
  EXPECT_EQ(j.StepOf(r, "confirm").actual_ms, 60'000);
  EXPECT_EQ(j.StepOf(r, "confirm").attempts, 0);
  EXPECT_EQ(r.summary.operators, (std::vector<std::string>{"alice", "carol"}));
}

TEST(BuildReportApprovals, ApprovalGivenUpFrontTookNoTime) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(11).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(12).Add(sm::StepStarted{"backup", 1});
  j.At(13).Add(sm::StepSucceeded{"backup", 1});
  j.At(14).Add(sm::ApprovalGranted{"confirm", "GO", sm::ApprovalGranted::Via::kApproveFlag});
  const RunReport r = j.Build();
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].requested_us, 0);
  EXPECT_EQ(r.decisions[0].waited_ms, std::nullopt);
  EXPECT_EQ(j.StepOf(r, "confirm").actual_ms, 0);
}

TEST(BuildReportVerification, ChecklistComesFromTheVerifyStepsOutputs) {
  TestJournal j;
  j.StartRun(0);
  j.RunUpToDrop();
  j.At(100).Add(sm::StepStarted{"drop", 1});
  j.At(101).Add(sm::StepSucceeded{"drop", 1});
  j.At(102).Add(sm::StepStarted{"verify", 1});
  const nlohmann::json checks = {
      {"checks",
       {{{"check", "table_absent media"},
         {"expected", "absent"},
         {"observed", "absent"},
         {"pass", true}},
        {{"check", "row_count images"},
         {"expected", 100},
         {"observed", 99},
         {"pass", false},
         {"message", "expected 100, observed 99"}},
        "not an object: skipped",
        {{"check", 7}, {"pass", "yes"}}}}};  // mistyped fields read as empty, never throw
  j.At(103).Add(sm::StepFailed{"verify", 1, "1 of 2 checks failed", checks});
  const RunReport r = j.Build();
  ASSERT_EQ(r.verification.size(), 3u);
  EXPECT_EQ(r.verification[0].step, "verify");
  EXPECT_EQ(r.verification[0].check, "table_absent media");
  EXPECT_TRUE(r.verification[0].pass);
  EXPECT_EQ(r.verification[1].expected, 100);
  EXPECT_EQ(r.verification[1].observed, 99);
  EXPECT_FALSE(r.verification[1].pass);
  EXPECT_EQ(r.verification[1].message, "expected 100, observed 99");
  EXPECT_EQ(r.verification[2].check, "");
  EXPECT_FALSE(r.verification[2].pass);
  EXPECT_TRUE(r.verification[2].expected.is_null());
  // and the failure is an error of the run
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].step, "verify");
  EXPECT_EQ(r.errors[0].attempt, 1);
  EXPECT_EQ(r.errors[0].message, "1 of 2 checks failed");
  EXPECT_EQ(j.StepOf(r, "verify").error, "1 of 2 checks failed");
}

TEST(BuildReportBackups, PathSizeAndDigestComeFromTheBackupStepsOutputs) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(11).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(12).Add(sm::StepStarted{"backup", 1});
  j.At(13).Add(sm::StepSucceeded{
      "backup", 1, {{"path", "/b/app.db"}, {"bytes", 4096}, {"sha256", std::string(64, 'a')}}});
  const RunReport r = j.Build();
  ASSERT_EQ(r.backups.size(), 1u);
  EXPECT_EQ(r.backups[0].step, "backup");
  EXPECT_EQ(r.backups[0].path, "/b/app.db");
  EXPECT_EQ(r.backups[0].bytes, 4096);
  EXPECT_EQ(r.backups[0].sha256, std::string(64, 'a'));
}

TEST(BuildReportBackups, ABackupThatNeverFinishedIsNotListed) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(11).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(12).Add(sm::StepStarted{"backup", 1});
  const RunReport r = j.Build();
  EXPECT_TRUE(r.backups.empty());
  EXPECT_EQ(j.StepOf(r, "backup").actual_ms, std::nullopt);
}

TEST(BuildReportJournalLists, NotesTriageAndSkipsKeepJournalOrder) {
  TestJournal j;
  j.StartRun(0);
  j.At(1).Add(sm::TriageRecorded{"data_corruption", "critical", "rollback_now", "within 15m"},
              "erin");
  j.At(2).Add(sm::NoteAdded{"paged by the media alert"}, "erin");
  j.At(3).Add(sm::AbortRequested{"not needed"}, "erin");
  j.At(3).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "erin");
  j.At(4).Add(sm::StepSkipped{"stop-app", "the run was aborted"}, "erin");
  j.At(9).Add(sm::NoteAdded{"second note"}, "frank");
  const RunReport r = j.Build();
  ASSERT_EQ(r.triage.size(), 1u);
  EXPECT_EQ(r.triage[0].by, "erin");
  EXPECT_EQ(r.triage[0].issue, "data_corruption");
  EXPECT_EQ(r.triage[0].action, "rollback_now");
  EXPECT_EQ(r.triage[0].note, "within 15m");
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_EQ(r.notes[0].text, "paged by the media alert");
  EXPECT_EQ(r.notes[1].by, "frank");
  EXPECT_EQ(r.notes[1].at_us, kT0 + Seconds(9));
  EXPECT_EQ(j.StepOf(r, "stop-app").skip_reason, "the run was aborted");
  EXPECT_EQ(r.summary.operators, (std::vector<std::string>{"alice", "erin", "frank"}));
}

TEST(BuildReportTimeline, HoldsEveryEventWithTimeSinceStart) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(75).Add(sm::StepFailed{"stop-app", 1, "exit code 3\nsecond line"});
  const RunReport r = j.Build();
  ASSERT_EQ(r.timeline.size(), 3u);
  EXPECT_EQ(r.timeline[0].type, "RunStarted");
  EXPECT_EQ(r.timeline[0].since_start_ms, 0);
  EXPECT_TRUE(r.timeline[0].key);
  EXPECT_EQ(r.timeline[2].seq, 3u);
  EXPECT_EQ(r.timeline[2].step, "stop-app");
  EXPECT_EQ(r.timeline[2].since_start_ms, 75'000);
  EXPECT_EQ(r.timeline[2].operator_name, "alice");
  EXPECT_EQ(r.timeline[2].text, "failed, attempt 1: exit code 3 second line");
  EXPECT_TRUE(r.timeline[2].key);
}

TEST(BuildReportSummary, PlanFieldsRehearsalAndPlannedDurations) {
  TestJournal j;
  j.StartRun(0, /*rehearsal=*/true);
  const RunReport r = j.Build();
  EXPECT_EQ(r.run_id, "run-1");
  EXPECT_EQ(r.summary.plan, "test-rollback");
  EXPECT_EQ(r.summary.incident, "INC-7");
  EXPECT_EQ(r.summary.description, "Undo the test migration");
  EXPECT_TRUE(r.summary.rehearsal);
  EXPECT_EQ(r.summary.outcome, "running");
  EXPECT_EQ(j.StepOf(r, "stop-app").planned_ms, 30'000);
  EXPECT_EQ(j.StepOf(r, "stop-app").title, "Stop the app");
  EXPECT_EQ(j.StepOf(r, "stop-app").kind, "command");
  EXPECT_EQ(j.StepOf(r, "drop").planned_ms, std::nullopt);
  EXPECT_EQ(j.StepOf(r, "drop").title, "drop");  // the title defaults to the id
  EXPECT_TRUE(j.StepOf(r, "start-app").always);
}

TEST(BuildReportIntegrity, CountsEventsAndNamesTheHeadHash) {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  const RunReport verified = j.Build(/*chain_verified=*/true);
  EXPECT_EQ(verified.integrity.events, 2u);
  EXPECT_EQ(verified.integrity.head_hash, ToHex(j.records().back().hash));
  EXPECT_EQ(verified.integrity.head_hash.size(), 64u);
  EXPECT_TRUE(verified.integrity.chain_verified);
  EXPECT_FALSE(j.Build(/*chain_verified=*/false).integrity.chain_verified);
}

// Restores: one entry per succeeded restoring step, from its outputs, whatever the adapter.
const std::string kRestorePlan = R"(version: 1
name: restores
targets:
  pg: { type: postgres, dsn: "postgres://x" }
  dyn: { type: dynamodb, region: us-east-1 }
  files: { type: file, root: . }
  lite: { type: sqlite, path: app.db }
steps:
  - id: pg-tables
    restore: { target: pg, tables: [orders, users], from: /b/pg.tables }
  - id: dyn-import
    import: { target: dyn, table: media, from: /b/media.jsonl }
  - id: env-file
    file: { target: files, restore: { from: /b/app.env, to: app.env } }
  - id: lite-failed
    restore: { target: lite, from: /b/app.db }
)";

TEST(BuildReportRestores, ListsEverySucceededRestoreWithSourceDigestAndRows) {
  TestJournal j(kRestorePlan);
  j.StartRun(0);
  j.At(1).Add(sm::StepStarted{"pg-tables", 1});
  j.At(2).Add(sm::StepSucceeded{"pg-tables", 1,
                                {{"from", "/b/pg.tables"},
                                 {"bytes", 4096},
                                 {"sha256", "aa"},
                                 {"format", "backout-tables-1"},
                                 {"tables", {{"orders", {{"rows", 10}}}, {"users", {{"rows", 5}}}}}}});
  j.At(3).Add(sm::StepStarted{"dyn-import", 1});
  j.At(4).Add(sm::StepSucceeded{"dyn-import", 1,
                                {{"table", "media"},
                                 {"items", 7},
                                 {"path", "/b/media.jsonl"},
                                 {"bytes", 300},
                                 {"sha256", "bb"}}});
  j.At(5).Add(sm::StepStarted{"env-file", 1});
  j.At(6).Add(sm::StepSucceeded{"env-file", 1,
                                {{"operation", "restore"},
                                 {"from", "/b/app.env"},
                                 {"to", "app.env"},
                                 {"bytes", 12},
                                 {"sha256", "cc"}}});
  j.At(7).Add(sm::StepStarted{"lite-failed", 1});
  j.At(8).Add(sm::StepFailed{"lite-failed", 1, "sha256 mismatch", {}});
  const RunReport r = j.Build();

  ASSERT_EQ(r.restores.size(), 3u);  // the failed restore restored nothing
  const Restore& pg = r.restores[0];
  EXPECT_EQ(pg.step, "pg-tables");
  EXPECT_EQ(pg.target, "pg");
  EXPECT_EQ(pg.kind, "restore");
  EXPECT_EQ(pg.source, "/b/pg.tables");
  EXPECT_EQ(pg.bytes, 4096);
  EXPECT_EQ(pg.sha256, "aa");
  ASSERT_EQ(pg.tables.size(), 2u);
  EXPECT_EQ(pg.tables[0].name, "orders");
  EXPECT_EQ(pg.tables[0].rows, 10);
  EXPECT_EQ(pg.rows, 15);
  const Restore& dyn = r.restores[1];
  EXPECT_EQ(dyn.kind, "import");
  EXPECT_EQ(dyn.source, "/b/media.jsonl");
  EXPECT_EQ(dyn.into, "");
  ASSERT_EQ(dyn.tables.size(), 1u);
  EXPECT_EQ(dyn.tables[0].name, "media");
  EXPECT_EQ(dyn.rows, 7);
  const Restore& file = r.restores[2];
  EXPECT_EQ(file.kind, "file");
  EXPECT_EQ(file.target, "files");
  EXPECT_EQ(file.into, "app.env");
  EXPECT_TRUE(file.tables.empty());
  EXPECT_EQ(file.rows, std::nullopt);
}

TEST(BuildReportRestores, KeepsEveryAbortReasonTheFirstAsTheAbortReason) {
  TestJournal j;
  j.StartRun(0);
  j.At(1).Add(sm::RunPaused{sm::RunPaused::Reason::kSignal, ""});
  j.At(2).Add(sm::AbortRequested{"wrong plan"});
  j.At(2).Add(sm::RunResumed{});
  j.At(3).Add(sm::RunPaused{sm::RunPaused::Reason::kSignal, ""});
  j.At(4).Add(sm::AbortRequested{"too slow"});
  const RunReport r = j.Build();
  EXPECT_EQ(r.summary.abort_reason, "wrong plan");
  EXPECT_EQ(r.summary.abort_reasons, (std::vector<std::string>{"wrong plan", "too slow"}));
}

}  // namespace
}  // namespace backout::report

namespace backout::report {
namespace {

using testing::TestJournal;

TEST(BuildReportPreflight, ListsWhatRunStartedAndAnEarlyResumeJournaled) {
  TestJournal j;
  sm::RunStarted started{.plan_name = "test-rollback",
                         .plan_file = "/plans/test.yaml",
                         .plan_text = j.plan().text,
                         .plan_sha256 = j.plan().sha256,
                         .preflight = {.mode = sm::PreflightRecord::Mode::kChecked,
                                       .checks = {{"appdb", {"backup", "drop"},
                                                   "sqlite database app.db"}}}};
  for (const plan::Step& s : j.plan().steps) started.step_ids.push_back(s.id);
  j.At(0).Add(started);
  j.At(5).Add(sm::RunPaused{sm::RunPaused::Reason::kSignal, ""});
  j.At(9).Add(sm::RunResumed{.plan_file_note = sm::RunResumed::PlanFileNote::kUnchanged,
                             .preflight = {.mode = sm::PreflightRecord::Mode::kSkipped,
                                           .checks = {}}},
              "bob");
  const RunReport r = j.Build();
  ASSERT_EQ(r.preflight.size(), 2u);
  EXPECT_EQ(r.preflight[0].event, "RunStarted");
  EXPECT_FALSE(r.preflight[0].skipped);
  ASSERT_EQ(r.preflight[0].checks.size(), 1u);
  EXPECT_EQ(r.preflight[0].checks[0].steps, (std::vector<std::string>{"backup", "drop"}));
  EXPECT_EQ(r.preflight[1].event, "RunResumed");
  EXPECT_EQ(r.preflight[1].by, "bob");
  EXPECT_TRUE(r.preflight[1].skipped);
  const nlohmann::json json = RenderJson(r);
  EXPECT_EQ(json["preflight"][1]["skipped"], true);
  const Result<std::string> md = Render(r, "md");
  ASSERT_TRUE(md.ok());
  EXPECT_NE(md->find("## Preflight"), std::string::npos);
  EXPECT_NE(md->find("skipped (--skip-preflight)"), std::string::npos);
}

TEST(BuildReportPreflight, RunsWithoutOneHaveNoPreflightSection) {
  TestJournal j;
  j.StartRun(0);
  const RunReport r = j.Build();
  EXPECT_TRUE(r.preflight.empty());
  EXPECT_FALSE(RenderJson(r).contains("preflight"));
  const Result<std::string> md = Render(r, "md");
  ASSERT_TRUE(md.ok());
  EXPECT_EQ(md->find("Preflight"), std::string::npos);
}

// The builder makes each event's timeline entry in the place of the one before (so that a long
// run's entries allocate next to nothing): nothing of an entry may carry over to the next.
TEST(BuildReportTimeline, AnEntryKeepsNothingOfTheOneBefore) {
  TestJournal j;
  j.StartRun(0);
  j.AppendedBy(OsUser{.uid = 0, .name = "root"});  // not "alice": a mismatch
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.AppendedBy(OsUser{});  // unknown from here on (a record of format version 1)
  j.At(11).Add(sm::NoteAdded{"line one\nline two"}, "erin");
  j.AppendedBy(OsUser{.uid = 1000, .name = "erin"});
  j.At(12).Add(sm::StepSucceeded{"stop-app", 1}, "erin");
  j.At(13).Add(sm::StepStarted{"backup", 1}, "erin");
  const RunReport r = j.Build();
  ASSERT_EQ(r.timeline.size(), 5u);
  const TimelineEntry& started = r.timeline[1];
  EXPECT_EQ(started.step, "stop-app");
  ASSERT_TRUE(started.os_user.has_value());
  EXPECT_TRUE(started.identity_mismatch);
  const TimelineEntry& note = r.timeline[2];
  EXPECT_EQ(note.type, "NoteAdded");
  EXPECT_EQ(note.step, "");
  EXPECT_EQ(note.operator_name, "erin");
  EXPECT_FALSE(note.os_user.has_value());
  EXPECT_FALSE(note.identity_mismatch);
  EXPECT_EQ(note.text, "note: line one line two");
  EXPECT_TRUE(note.key);
  const TimelineEntry& succeeded = r.timeline[3];
  EXPECT_EQ(succeeded.os_user, (OsUser{.uid = 1000, .name = "erin"}));
  EXPECT_FALSE(succeeded.identity_mismatch);
  EXPECT_EQ(succeeded.text, "succeeded");
  EXPECT_FALSE(succeeded.key);
  EXPECT_EQ(r.timeline[4].step, "backup");
  EXPECT_EQ(r.timeline[4].text, "started, attempt 1");
  EXPECT_EQ(r.timeline[4].since_start_ms, 13'000);
}

}  // namespace
}  // namespace backout::report
