// Operator ergonomics on the real binary (issue 14): `status` says whether a runner holds a
// run or whether it was interrupted (a real runner held inside a step by the gated plan,
// tests/support/gate.h, and a real SIGKILL); `note` while a runner holds the run (queued,
// journaled by the runner in order, or by the next writer when the runner died first, and
// exactly once); `run` of a plan that already succeeded asks for --again; "did you mean" for
// subcommands and step ids.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/support/gate.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExitUsage = 2;
constexpr auto kGuard = std::chrono::minutes(1);  // only against a hang, never a measurement

json StatusJson(const Example& ex, const std::string& run_id) {
  const ProcessResult r = ex.Backout({"status", run_id, "--json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  return json::parse(r.out);
}

std::vector<fs::path> QueuedNoteFiles(const Example& ex, const std::string& run_id) {
  std::vector<fs::path> files;
  const fs::path dir = ex.journal() / run_id / "notes";
  if (!fs::exists(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  return files;
}

// The texts and authors of the run's notes, in journal order: "text by operator".
std::vector<std::string> Notes(const Example& ex, const std::string& run_id) {
  std::vector<std::string> notes;
  for (const json& e : EventsOfType(Events(ex, run_id), "NoteAdded")) {
    notes.push_back(e.at("payload").at("text").get<std::string>() + " by " +
                    e.at("operator").get<std::string>());
  }
  return notes;
}

// A runner of the gated plan inside its gate step, and the run's id.
struct HeldRun {
  explicit HeldRun(const GatedExample& ex) : runner(ex.BackoutSpec({"run", "plan.yaml"})) {
    if (!WaitFor([&] { return ex.Entered(); }, kGuard)) throw std::runtime_error("no runner");
    run_id = OnlyRun(ex);
  }
  BackgroundProcess runner;
  std::string run_id;
};

TEST(OperatorStatus, NamesTheLiveRunnerThenSaysInterruptedAfterSigkill) {
  GatedExample ex;
  HeldRun held(ex);
  const json live = StatusJson(ex, held.run_id);
  EXPECT_EQ(live.at("status"), "running");
  ASSERT_TRUE(live.at("runner").is_object()) << live.dump();
  EXPECT_EQ(live.at("runner").at("pid"), held.runner.pid());
  EXPECT_FALSE(live.at("runner").at("host").get<std::string>().empty());
  EXPECT_TRUE(live.at("runner").at("since").get<std::string>().ends_with("Z"));
  EXPECT_EQ(live.at("interrupted"), false);
  const ProcessResult text = ex.Backout({"status", held.run_id});
  EXPECT_TRUE(Contains(text.out, fmt::format("runner   pid {} on host ", held.runner.pid())))
      << text.out;
  const ProcessResult list = ex.Backout({"status"});
  EXPECT_TRUE(Contains(list.out, fmt::format("running (pid {})", held.runner.pid()))) << list.out;
  const json all = json::parse(ex.Backout({"status", "--json"}).out);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("runner").at("pid"), held.runner.pid());

  held.runner.Signal(SIGKILL);
  ASSERT_EQ(held.runner.Wait().signal, SIGKILL);
  const json dead = StatusJson(ex, held.run_id);
  EXPECT_EQ(dead.at("status"), "running");  // as far as the journal knows
  EXPECT_TRUE(dead.at("runner").is_null()) << dead.dump();
  EXPECT_EQ(dead.at("interrupted"), true);
  const ProcessResult after = ex.Backout({"status", held.run_id});
  EXPECT_TRUE(Contains(after.out, "runner   none: the run was interrupted")) << after.out;
  EXPECT_TRUE(Contains(after.out, "backout resume " + held.run_id)) << after.out;
  EXPECT_TRUE(Contains(ex.Backout({"status"}).out, "running (interrupted: resume)"));
  EXPECT_EQ(json::parse(ex.Backout({"status", "--json"}).out)[0].at("interrupted"), true);

  ex.ForgetEntered();
  BackgroundProcess resume(ex.BackoutSpec({"resume", held.run_id}));
  ASSERT_TRUE(WaitFor([&] { return ex.Entered(); }, kGuard));
  EXPECT_EQ(StatusJson(ex, held.run_id).at("runner").at("pid"), resume.pid());
  ASSERT_TRUE(ex.OpenGate());
  ASSERT_EQ(resume.Wait().exit_code, 0);
  const json done = StatusJson(ex, held.run_id);
  EXPECT_EQ(done.at("status"), "succeeded");
  EXPECT_TRUE(done.at("runner").is_null());
  EXPECT_EQ(done.at("interrupted"), false);
  EXPECT_TRUE(Contains(ex.Backout({"status", held.run_id}).out, "runner   none\n"));
}

TEST(OperatorNote, WhileARunnerHoldsTheRunNotesAreJournaledByItInOrder) {
  GatedExample ex;
  HeldRun held(ex);
  const ProcessResult first = ex.Backout({"note", held.run_id, "restore is slow"},
                                         {{"BACKOUT_OPERATOR", "bob"}});
  ASSERT_EQ(first.exit_code, 0) << Show(first);
  EXPECT_TRUE(Contains(first.out, "note queued for run " + held.run_id + " by bob")) << first.out;
  ASSERT_EQ(ex.Backout({"note", held.run_id, "DBA paged"}, {{"BACKOUT_OPERATOR", "carol"}})
                .exit_code,
            0);
  const json waiting = StatusJson(ex, held.run_id);
  EXPECT_EQ(waiting.at("queued_notes"), 2);
  EXPECT_TRUE(Contains(ex.Backout({"status", held.run_id}).out, "notes    2 queued"));
  for (const fs::path& f : QueuedNoteFiles(ex, held.run_id)) {
    EXPECT_EQ(fs::status(f).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write)
        << f;
  }
  EXPECT_TRUE(Notes(ex, held.run_id).empty());  // not yet: the runner is inside its step

  ASSERT_TRUE(ex.OpenGate());
  ASSERT_EQ(held.runner.Wait().exit_code, 0);
  EXPECT_EQ(Notes(ex, held.run_id),
            (std::vector<std::string>{"restore is slow by bob", "DBA paged by carol"}));
  // Journaled with the step's outcome, the first event the runner wrote after the notes.
  const std::vector<json> events = Events(ex, held.run_id);
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events[2].at("type"), "NoteAdded");
  EXPECT_EQ(events[3].at("type"), "NoteAdded");
  EXPECT_EQ(events[4].at("type"), "StepSucceeded");
  EXPECT_TRUE(QueuedNoteFiles(ex, held.run_id).empty());
  EXPECT_EQ(StatusJson(ex, held.run_id).at("queued_notes"), 0);
  EXPECT_EQ(ex.Backout({"verify", held.run_id}).exit_code, 0);
  EXPECT_EQ(ex.Backout({"replay", held.run_id}).exit_code, 0);
}

TEST(OperatorNote, QueuedBeforeTheRunnerWasKilledIsJournaledOnceByTheNextWriter) {
  GatedExample ex;
  HeldRun held(ex);
  ASSERT_EQ(ex.Backout({"note", held.run_id, "queued"}, {{"BACKOUT_OPERATOR", "bob"}}).exit_code,
            0);
  held.runner.Signal(SIGKILL);
  ASSERT_EQ(held.runner.Wait().signal, SIGKILL);
  const json dead = StatusJson(ex, held.run_id);
  EXPECT_EQ(dead.at("interrupted"), true);
  EXPECT_EQ(dead.at("queued_notes"), 1);
  const std::vector<fs::path> files = QueuedNoteFiles(ex, held.run_id);
  ASSERT_EQ(files.size(), 1u);
  const std::string queued_file = ReadFile(files[0]);

  // With no runner, `note` journals directly, after the note that waited: order kept.
  const ProcessResult direct =
      ex.Backout({"note", held.run_id, "direct"}, {{"BACKOUT_OPERATOR", "carol"}});
  ASSERT_EQ(direct.exit_code, 0) << Show(direct);
  EXPECT_EQ(direct.out, "note added to run " + held.run_id + " by carol\n");
  EXPECT_EQ(Notes(ex, held.run_id),
            (std::vector<std::string>{"queued by bob", "direct by carol"}));
  EXPECT_TRUE(QueuedNoteFiles(ex, held.run_id).empty());

  // A writer that died after journaling a queued note but before removing its file leaves
  // the file behind: the next writer journals nothing more and removes it.
  WriteFile(files[0], queued_file);
  ex.ForgetEntered();
  BackgroundProcess resume(ex.BackoutSpec({"resume", held.run_id}));
  ASSERT_TRUE(WaitFor([&] { return ex.Entered(); }, kGuard));
  ASSERT_TRUE(ex.OpenGate());
  ASSERT_EQ(resume.Wait().exit_code, 0);
  EXPECT_EQ(Notes(ex, held.run_id),
            (std::vector<std::string>{"queued by bob", "direct by carol"}));
  EXPECT_TRUE(QueuedNoteFiles(ex, held.run_id).empty());
  EXPECT_EQ(ex.Backout({"verify", held.run_id}).exit_code, 0);
}

TEST(OperatorNote, UnknownRunIsRefusedAndQueuesNothing) {
  GatedExample ex;
  const ProcessResult r = ex.Backout({"note", "20260101T000000Z-0000", "hello"});
  EXPECT_EQ(r.exit_code, kExitUsage) << Show(r);
  EXPECT_FALSE(fs::exists(ex.journal() / "20260101T000000Z-0000"));
}

// A plan named `name` that succeeds at once, written beside the gated example's as NAME.yaml.
std::string WriteQuickPlan(const Example& ex, const std::string& name = "quick") {
  WriteFile(ex.dir() / (name + ".yaml"),
            "version: 1\n"
            "name: " + name + "\n"
            "targets:\n"
            "  sh: { type: command, cwd: . }\n"
            "steps:\n"
            "  - id: touch\n"
            "    command: { target: sh, argv: [touch, " + name + ".txt] }\n"
            "    idempotent: true\n");
  return name + ".yaml";
}

// What `run` of the quick plan says when run `run_id` of it succeeded (with the same text).
std::string AlreadySucceeded(const Example& ex, const std::string& run_id) {
  return fmt::format(
      "backout: error: plan 'quick' already succeeded in run {} (finished {}, the same plan "
      "text); running it again repeats every step: add --again to run it anyway\n",
      run_id, StatusJson(ex, run_id).at("last_event").get<std::string>());
}

TEST(OperatorRunAgain, ASucceededPlanIsRefusedUntilAgainIsGiven) {
  GatedExample ex;
  const std::string plan = WriteQuickPlan(ex);
  const ProcessResult first = ex.Backout({"run", plan});
  ASSERT_EQ(first.exit_code, 0) << Show(first);
  const std::string first_id = RunIdFrom(first);

  const ProcessResult second = ex.Backout({"run", plan});
  EXPECT_EQ(second.exit_code, kExitUsage) << Show(second);
  EXPECT_TRUE(second.out.empty()) << second.out;  // no run id: no run was created
  EXPECT_EQ(second.err, AlreadySucceeded(ex, first_id));
  EXPECT_EQ(OnlyRun(ex), first_id);

  const ProcessResult again = ex.Backout({"run", plan, "--again"});
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_NE(RunIdFrom(again), first_id);
}

// `run` reads the journal's runs before it starts: of a run of another plan only its first
// record (whatever the rest holds), of a run of the same plan its RunStarted and RunFinished,
// whatever follows them, or the run index's entry for it; a run of the same plan that cannot
// be read is named, not hidden.
TEST(OperatorRunAgain, OnlyRunsOfThePlanAreReadAndADamagedOneIsNamed) {
  GatedExample ex;
  const std::string plan = WriteQuickPlan(ex);
  const ProcessResult first = ex.Backout({"run", plan});
  ASSERT_EQ(first.exit_code, 0) << Show(first);
  const std::string first_id = RunIdFrom(first);
  ASSERT_EQ(ex.Backout({"note", first_id, "checked by hand afterwards"}).exit_code, 0);
  const std::string refused = AlreadySucceeded(ex, first_id);
  const ProcessResult read = ex.Backout({"run", plan});
  EXPECT_EQ(read.exit_code, kExitUsage) << Show(read);
  EXPECT_EQ(read.err, refused);  // the note after RunFinished changes nothing

  const ProcessResult other = ex.Backout({"run", WriteQuickPlan(ex, "other")});
  ASSERT_EQ(other.exit_code, 0) << Show(other);
  // Once `status` has indexed the finished runs, `run` takes them from the index: the same
  // refusal, to the microsecond.
  ASSERT_EQ(ex.Backout({"status"}).exit_code, 0);
  ASSERT_TRUE(fs::exists(ex.journal() / ".runindex"));
  const ProcessResult indexed = ex.Backout({"run", plan});
  EXPECT_EQ(indexed.exit_code, kExitUsage) << Show(indexed);
  EXPECT_EQ(indexed.err, refused);

  fs::remove(ex.journal() / RunIdFrom(other) / "head");  // a damaged run of another plan

  const ProcessResult second = ex.Backout({"run", plan});
  EXPECT_EQ(second.exit_code, kExitUsage) << Show(second);
  EXPECT_EQ(second.err, refused);  // no warning: the damaged run is another plan's

  fs::remove(ex.journal() / first_id / "head");
  const ProcessResult third = ex.Backout({"run", plan});
  EXPECT_EQ(third.exit_code, 0) << Show(third);
  EXPECT_TRUE(third.err.starts_with(fmt::format(
      "backout: warning: run {} not checked for an earlier success: ", first_id)))
      << third.err;
  EXPECT_TRUE(Contains(third.err, "head")) << third.err;
  EXPECT_FALSE(Contains(third.err, RunIdFrom(other))) << third.err;
}

TEST(OperatorDidYouMean, UnknownSubcommandNamesTheNearestAndExits2) {
  GatedExample ex;
  const ProcessResult typo = ex.Backout({"stauts"});
  EXPECT_EQ(typo.exit_code, kExitUsage);
  EXPECT_EQ(typo.err,
            "backout: error: unknown command 'stauts' (did you mean 'status'?)\n"
            "Run with --help for the list of commands.\n");
  const ProcessResult far = ex.Backout({"frobnicate"});
  EXPECT_EQ(far.exit_code, kExitUsage);
  EXPECT_TRUE(far.err.starts_with("backout: error: unknown command 'frobnicate'\n")) << far.err;
  EXPECT_EQ(ex.Backout({"--version"}).exit_code, 0);
}

TEST(OperatorDidYouMean, MisspeltStepIdsNameTheNearestStep) {
  GatedExample ex;
  HeldRun held(ex);
  held.runner.Signal(SIGKILL);
  ASSERT_EQ(held.runner.Wait().signal, SIGKILL);
  const ProcessResult approve = ex.Backout({"approve", held.run_id, "wrtie", "--phrase", "X"});
  EXPECT_EQ(approve.exit_code, kExitUsage);
  EXPECT_EQ(approve.err, "backout: error: the plan has no step 'wrtie' (did you mean 'write'?)\n");
  const ProcessResult resolve = ex.Backout({"resolve", held.run_id, "gaet", "--applied"});
  EXPECT_EQ(resolve.exit_code, kExitUsage);
  EXPECT_EQ(resolve.err, fmt::format("backout: error: run {} has no step gaet (did you mean "
                                     "'gate'?)\n",
                                     held.run_id));
  const ProcessResult flag = ex.Backout({"resume", held.run_id, "--approve", "gaet=X"});
  EXPECT_EQ(flag.exit_code, kExitUsage);
  EXPECT_TRUE(Contains(flag.err, "the plan has no step 'gaet' (did you mean 'gate'?)"))
      << flag.err;
}

}  // namespace
}  // namespace backout::testing
