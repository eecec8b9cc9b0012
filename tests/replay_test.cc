// `backout replay` and `backout triage` end to end: the real binary on the recorded fixture
// runs under tests/fixtures/ (made by tests/fixtures/make-fixtures.sh) and on fresh copies of
// examples/media-rollback.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/env.h"
#include "engine/plan_check.h"
#include "engine/session.h"
#include "journal/journal.h"
#include "plan/parser.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 200;
const std::map<std::string, std::string> kFastApp = {{"APP_DRAIN_SECONDS", "0.05"}};

fs::path Fixture(const std::string& name) {
  return SourceDir() / "tests" / "fixtures" / (name + ".jsonl");
}



// `backout ARGS...` outside any example (replay --file and triage need no journal).
ProcessResult Backout(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {BackoutBinary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess({.argv = argv, .env = {{"BACKOUT_OPERATOR", "tester"}}});
}

// The records of an export file, each with its payload text parsed.
std::vector<json> ExportedEvents(const fs::path& file) {
  std::vector<json> events;
  std::istringstream lines(ReadFile(file));
  for (std::string line; std::getline(lines, line);) {
    json record = json::parse(line);
    record["payload"] = json::parse(record.at("payload").get<std::string>());
    events.push_back(std::move(record));
  }
  return events;
}

// "Type" or "Type field=value" (a payload field) or "Type @operator".
bool HasEvent(const std::vector<json>& events, const std::string& spec) {
  const std::string type = spec.substr(0, spec.find(' '));
  const std::string detail = spec.size() > type.size() ? spec.substr(type.size() + 1) : "";
  for (const json& e : events) {
    if (e.at("type") != type) continue;
    if (detail.empty()) return true;
    if (detail[0] == '@' && e.at("operator") == detail.substr(1)) return true;
    const auto eq = detail.find('=');
    if (eq == std::string::npos) continue;
    const json& value = e.at("payload").value(detail.substr(0, eq), json());
    if (value.is_string() && value == detail.substr(eq + 1)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// The recorded fixtures replay green, and each is the scenario it claims to be.
// ---------------------------------------------------------------------------------------

struct FixtureCase {
  std::string name;
  std::vector<std::string> shows;  // HasEvent specs
};

const std::vector<FixtureCase> kFixtures = {
    {"crashed-resumed",
     {"StepInDoubt step=drop-media", "StepInDoubt step=record-rollback",
      "StepChecked step=record-rollback", "RunFinished outcome=succeeded"}},
    {"approved-by-another",
     {"ApprovalRequested step=confirm", "RunPaused reason=approval", "TriageRecorded @alice",
      "ApprovalGranted via=approve", "ApprovalGranted @bob", "RunFinished outcome=succeeded"}},
    {"failed-always",
     {"StepFailed step=verify", "StepSkipped step=record-rollback",
      "StepSucceeded step=start-app", "RunFinished outcome=failed"}},
    {"aborted",
     {"NoteAdded @carol", "AbortRequested @carol", "StepSkipped step=confirm",
      "StepSucceeded step=start-app", "RunFinished outcome=aborted"}},
    {"in-doubt-resolved",
     {"RunPaused reason=in_doubt", "StepResolved @dave", "RunFinished outcome=succeeded"}},
};

void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.name; }

class FixtureReplay : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(FixtureReplay, ReplaysGreenAndIsTheScenarioItClaims) {
  const FixtureCase& c = GetParam();
  ASSERT_TRUE(fs::exists(Fixture(c.name))) << "run tests/fixtures/make-fixtures.sh";
  const std::vector<json> events = ExportedEvents(Fixture(c.name));
  for (const std::string& spec : c.shows) {
    EXPECT_TRUE(HasEvent(events, spec)) << c.name << " has no event " << spec;
  }
  const ProcessResult r = Backout({"replay", "--file", Fixture(c.name).string()});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(Contains(r.out, "decisions re-derived, all match")) << Show(r);
  EXPECT_TRUE(Contains(r.out, fmt::format("{} events", events.size()))) << Show(r);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureReplay, ::testing::ValuesIn(kFixtures),
                         [](const auto& p) {
                           std::string n = p.param.name;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(ReplayCli, AFinishedRunInTheJournalReplaysGreen) {
  Example ex("media-rollback", kRows);
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"},
                                       kFastApp);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const ProcessResult r = ex.Backout({"replay", RunIdFrom(run)});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  // 7 steps started, 1 approval (--approve), RunFinished: 9 decisions.
  EXPECT_TRUE(Contains(r.out, "9 decisions re-derived, all match")) << Show(r);
}

// A run journaled through the engine's session (which checks transitions, not decisions)
// whose first step event starts the second step: a decision today's state machine does not
// take. Returns the run id.
std::string JournalOutOfOrderRun(const Example& ex) {
  const std::string text = ReadFile(ex.plan());
  plan::ParseOutcome parsed = plan::ParsePlan(text, ex.plan().string(),
                                                engine::DefaultPlanVocabulary());
  EXPECT_TRUE(parsed.ok());
  const std::string run_id = "20260101T000000Z-0ut0";
  auto session = engine::RunSession::Create(
      journal::Journal(ex.journal()), run_id, *parsed.plan, ex.plan().string(),
      {.env = Env::Default(), .who = {"mallory", "ops-1"}});
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  const Status appended = (*session)->Append({sm::StepStarted{"baseline", 1}});
  EXPECT_TRUE(appended.ok()) << appended.ToString();
  return run_id;
}

TEST(ReplayCli, ADecisionTodaysCodeWouldNotTakeFailsNamingTheEvent) {
  Example ex("media-rollback", kRows);
  const std::string run_id = JournalOutOfOrderRun(ex);
  const std::string recorded = R"(recorded: StepStarted {"attempt":1,"step":"baseline"})";
  const std::string derived = "derived:  StartStep stop-app attempt 1";

  const ProcessResult r = ex.Backout({"replay", run_id});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(Contains(r.out, "decision 1 diverges at event #2 StepStarted")) << Show(r);
  EXPECT_TRUE(Contains(r.out, recorded)) << Show(r);
  EXPECT_TRUE(Contains(r.out, derived)) << Show(r);

  // The same from its export.
  const fs::path exported = ex.dir() / "out-of-order.jsonl";
  const ProcessResult exp = ex.Backout({"export", run_id, "-o", exported.string()});
  ASSERT_EQ(exp.exit_code, 0) << Show(exp);
  const ProcessResult from_file = ex.Backout({"replay", "--file", exported.string()});
  EXPECT_EQ(from_file.exit_code, 1) << Show(from_file);
  EXPECT_TRUE(Contains(from_file.out, "event #2 StepStarted")) << Show(from_file);
  EXPECT_TRUE(Contains(from_file.out, derived)) << Show(from_file);
}

TEST(ReplayCli, ADamagedExportExits4) {
  TempDir tmp;
  // Another operator on one event: only the record's hash can tell.
  std::string text = ReadFile(Fixture("failed-always"));
  const std::string original = R"("operator":"alice")";
  const auto at = text.rfind(original);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, original.size(), R"("operator":"alicf")");
  WriteFile(tmp.path() / "damaged.jsonl", text);
  const ProcessResult r = Backout({"replay", "--file", (tmp.path() / "damaged.jsonl").string()});
  EXPECT_EQ(r.exit_code, 4) << Show(r);
  EXPECT_TRUE(Contains(r.err, "replay failed")) << Show(r);
  EXPECT_TRUE(Contains(r.err, "event #15")) << Show(r);
}

TEST(ReplayCli, TakesExactlyOneOfRunOrFile) {
  const ProcessResult neither = Backout({"replay"});
  EXPECT_EQ(neither.exit_code, 2) << Show(neither);
  const ProcessResult both =
      Backout({"replay", "some-run", "--file", Fixture("aborted").string()});
  EXPECT_EQ(both.exit_code, 2) << Show(both);
  EXPECT_TRUE(Contains(both.err, "exactly one of RUN or --file")) << Show(both);
}

// ---------------------------------------------------------------------------------------
// replay --plan: would an edited plan decide the same on a recorded history?
// ---------------------------------------------------------------------------------------

// The plan text journaled in a fixture's RunStarted.
std::string JournaledPlanText(const std::string& fixture) {
  return ExportedEvents(Fixture(fixture)).front().at("payload").at("plan_text");
}

// `text` with `from` replaced by `to` (exactly once).
std::string Edited(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// A plan file holding `text`, in its own folder (no data, no app: replay runs nothing).
class PlanFile {
 public:
  explicit PlanFile(const std::string& text) { WriteFile(path(), text); }
  fs::path path() const { return tmp_.path() / "edited.yaml"; }
  fs::path dir() const { return tmp_.path(); }

 private:
  TempDir tmp_;
};

const std::string kDropMediaIdempotent = R"(DELETE FROM migrations WHERE name = 'media_unification';
    idempotent: true)";
const std::string kDropMediaNotIdempotent = R"(DELETE FROM migrations WHERE name = 'media_unification';)";

TEST(ReplayPlan, TheJournaledPlanTextDecidesTheSameEvenWithItsVariablesUnset) {
  // Given the journaled plan, with a `${VAR}` nobody set added (CI has no secrets),
  const PlanFile plan(Edited(JournaledPlanText("crashed-resumed"), "argv: [./app-ctl, start]",
                             "argv: [./app-ctl, start, \"${BACKOUT_REPLAY_TEST_UNSET}\"]"));
  // when the fixture is replayed against it,
  const ProcessResult r = Backout(
      {"replay", "--file", Fixture("crashed-resumed").string(), "--plan", plan.path().string()});
  // then every decision matches and the steps are said to be the same.
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(Contains(r.out, "the same steps as the journaled plan")) << Show(r);
  EXPECT_TRUE(Contains(r.out, "24 events, 12 decisions re-derived, all match")) << Show(r);
}

TEST(ReplayPlan, AnEditThatChangesADecisionExits1WithTheDivergence) {
  // Given the plan with drop-media no longer idempotent (and no check),
  const PlanFile plan(
      Edited(JournaledPlanText("crashed-resumed"), kDropMediaIdempotent, kDropMediaNotIdempotent));
  // when the run that crashed inside drop-media is replayed against it,
  const ProcessResult r = Backout(
      {"replay", "--file", Fixture("crashed-resumed").string(), "--plan", plan.path().string()});
  // then the resumed run would have waited for an operator instead of running it again.
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(Contains(r.out, "diverges at event #12 StepStarted\n"
                              "  recorded: StepStarted {\"attempt\":2,\"step\":\"drop-media\"}\n"
                              "  derived:  AwaitResolve drop-media\n"))
      << Show(r);
}

TEST(ReplayPlan, AllListsEveryDivergenceAfterTheStepChanges) {
  // Given a plan with stop-app renamed (same action), backup removed and a step added,
  std::string text = JournaledPlanText("approved-by-another");
  text = Edited(text, "- id: stop-app", "- id: halt-app");
  text = Edited(text, R"(  - id: backup
    title: Take an emergency backup of the database
    backup: { target: appdb, to: backups/ }
    planned: 1m
)", "");
  text = Edited(text, "  - id: start-app", R"(  - id: vacuum
    sql: { target: appdb, script: "VACUUM;" }

  - id: start-app)");
  const PlanFile plan(text);
  // when the fixture is replayed against it for every divergence,
  const std::vector<std::string> args = {"replay", "--file",
                                         Fixture("approved-by-another").string(), "--plan",
                                         plan.path().string(), "--all"};
  const ProcessResult r = Backout(args);
  // then the step changes come first, then each divergence.
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(Contains(r.out, "3 steps changed\n"
                              "  step renamed: stop-app -> halt-app (position 1, same action)\n"
                              "  step removed: backup (position 3 of the journaled plan)\n"
                              "  step added: vacuum (position 7 of the new plan)\n"))
      << Show(r);
  EXPECT_TRUE(Contains(r.out, "decision 3 diverges at event #6 StepStarted")) << Show(r);
  EXPECT_TRUE(Contains(r.out, "decision 8 diverges at event #19 StepStarted")) << Show(r);
  EXPECT_TRUE(Contains(r.out, "21 events, 9 decisions re-derived, 3 diverge")) << Show(r);

  // The same as JSON.
  std::vector<std::string> json_args = args;
  json_args.push_back("--json");
  const ProcessResult as_json = Backout(json_args);
  EXPECT_EQ(as_json.exit_code, 1) << Show(as_json);
  const json result = json::parse(as_json.out);
  EXPECT_EQ(result["match"], false);
  EXPECT_EQ(result["all"], true);
  EXPECT_EQ(result["plan"]["file"], plan.path().string());
  EXPECT_EQ(result["plan"]["journaled"], false);
  EXPECT_EQ(result["decisions_checked"], 9);
  ASSERT_EQ(result["step_changes"].size(), 3u);
  EXPECT_EQ(result["step_changes"][0],
            json({{"change", "renamed"}, {"step", "stop-app"}, {"new_step", "halt-app"},
                  {"position", 1}}));
  EXPECT_EQ(result["step_changes"][2],
            json({{"change", "added"}, {"step", "vacuum"}, {"position", 7}}));
  ASSERT_EQ(result["divergences"].size(), 3u);
  EXPECT_EQ(result["divergences"][0]["seq"], 6);
  EXPECT_EQ(result["divergences"][0]["event_type"], "StepStarted");
  EXPECT_EQ(result["divergences"][0]["recorded"],
            R"(StepStarted {"attempt":1,"step":"backup"})");
  EXPECT_EQ(result["divergences"][0]["derived"], "AwaitApproval confirm");
}

TEST(ReplayPlan, JUnitIsWellFormedWithTheDivergenceAsAFailure) {
  const PlanFile plan(
      Edited(JournaledPlanText("crashed-resumed"), kDropMediaIdempotent, kDropMediaNotIdempotent));
  const fs::path junit = plan.dir() / "replay.xml";
  const ProcessResult r =
      Backout({"replay", "--file", Fixture("crashed-resumed").string(), "--plan",
               plan.path().string(), "--junit", junit.string()});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  const std::string xml = ReadFile(junit);
  // Well-formed for an XML parser, one test case, failed, naming both sides.
  const ProcessResult parsed = RunProcess(
      {.argv = {"/usr/bin/python3", "-c",
                "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); "
                "print(len(d.getElementsByTagName('testcase')), "
                "len(d.getElementsByTagName('failure')))",
                junit.string()}});
  EXPECT_EQ(parsed.exit_code, 0) << Show(parsed) << xml;
  EXPECT_EQ(parsed.out, "1 1\n") << xml;
  EXPECT_TRUE(Contains(xml, "name=\"replay of run 20261121T181730Z-8c8b\"")) << xml;
  EXPECT_TRUE(Contains(xml, "derived AwaitResolve drop-media")) << xml;
  EXPECT_TRUE(Contains(xml, "recorded StepStarted {&quot;attempt&quot;:2")) << xml;

  // A green replay writes a passing test case.
  const ProcessResult green = Backout({"replay", "--file", Fixture("crashed-resumed").string(),
                                       "--junit", junit.string()});
  EXPECT_EQ(green.exit_code, 0) << Show(green);
  EXPECT_FALSE(Contains(ReadFile(junit), "<failure")) << ReadFile(junit);
  EXPECT_TRUE(Contains(ReadFile(junit), "<testcase")) << ReadFile(junit);

  // A JUnit path that cannot be written is a usage error.
  const ProcessResult unwritable =
      Backout({"replay", "--file", Fixture("crashed-resumed").string(), "--junit",
               (plan.dir() / "no-such-dir" / "replay.xml").string()});
  EXPECT_EQ(unwritable.exit_code, 2) << Show(unwritable);
  EXPECT_TRUE(Contains(unwritable.err, "cannot write the JUnit report")) << Show(unwritable);
}

TEST(ReplayPlan, ABadPlanExits2WithItsDiagnostic) {
  const PlanFile plan(Edited(JournaledPlanText("aborted"), "  - id: drop-media", "  - id: [drop"));
  const ProcessResult r =
      Backout({"replay", "--file", Fixture("aborted").string(), "--plan", plan.path().string()});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, plan.path().string() + ":")) << Show(r);
  EXPECT_TRUE(Contains(r.err, ": error: ")) << Show(r);
  EXPECT_TRUE(r.out.empty()) << Show(r);
}

TEST(ReplayCli, JsonWithoutPlanIsTheJournaledPlansReplay) {
  const ProcessResult r = Backout({"replay", "--file", Fixture("aborted").string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  const json result = json::parse(r.out);
  EXPECT_EQ(result["match"], true);
  EXPECT_EQ(result["plan"]["journaled"], true);
  EXPECT_TRUE(result["plan"]["file"].is_null());
  EXPECT_EQ(result["export_file"], Fixture("aborted").string());
  EXPECT_TRUE(result["step_changes"].empty());
  EXPECT_TRUE(result["divergences"].empty());
}

// ---------------------------------------------------------------------------------------
// triage: the plan's decision matrix.
// ---------------------------------------------------------------------------------------

struct TriageCase {
  std::string issue;
  std::string severity;
  std::string recommendation;
};

// Every row of examples/media-rollback/plan.yaml's triggers.
const std::vector<TriageCase> kTriageRows = {
    {"data_corruption", "critical", "rollback now"}, {"app_crash", "critical", "rollback now"},
    {"app_errors", "major", "rollback now"},         {"app_errors", "minor", "forward fix"},
    {"performance", "major", "forward fix"},         {"performance", "minor", "monitor"},
    {"error_rate", "minor", "monitor"},
};

void PrintTo(const TriageCase& c, std::ostream* os) { *os << c.issue << "/" << c.severity; }

class TriageRow : public ::testing::TestWithParam<TriageCase> {};

TEST_P(TriageRow, PrintsTheRecommendationAndItsNote) {
  const TriageCase& c = GetParam();
  Example ex("media-rollback", kRows);
  const std::string before = DumpDatabase(ex.dir() / "data" / "app.db");
  const ProcessResult r =
      ex.Backout({"triage", "plan.yaml", "--issue", c.issue, "--severity", c.severity});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(r.out.starts_with(fmt::format("{} / {}: {}\n  ", c.issue, c.severity,
                                            c.recommendation)))
      << Show(r);
  EXPECT_EQ(DumpDatabase(ex.dir() / "data" / "app.db"), before);
  EXPECT_FALSE(fs::exists(ex.journal())) << "triage without --run writes no journal";
}

INSTANTIATE_TEST_SUITE_P(ExamplePlan, TriageRow, ::testing::ValuesIn(kTriageRows),
                         [](const auto& p) {
                           return p.param.issue + "_" + p.param.severity;
                         });

TEST(Triage, AnUnknownCombinationExits2ListingWhatThePlanKnows) {
  Example ex("media-rollback", kRows);
  const ProcessResult r =
      ex.Backout({"triage", "plan.yaml", "--issue", "data_corruption", "--severity", "minor"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "no trigger for issue 'data_corruption' at severity 'minor'"))
      << Show(r);
  EXPECT_TRUE(Contains(
      r.err, "issue types: data_corruption, app_crash, app_errors, performance, error_rate"))
      << Show(r);
  EXPECT_TRUE(Contains(r.err, "severities: critical, major, minor")) << Show(r);
}

TEST(Triage, APlanWithoutTriggersExits2) {
  const ProcessResult r =
      Backout({"triage", (SourceDir() / "tests/data/plans/retry.yaml").string(), "--issue",
               "performance", "--severity", "minor"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "has no triggers: section")) << Show(r);
}

TEST(Triage, AnInvalidPlanExits2WithItsDiagnostic) {
  const ProcessResult r = Backout(
      {"triage", (SourceDir() / "tests/data/malformed/unknown-target.yaml").string(),
       "--issue", "performance", "--severity", "minor"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "unknown target 'otherdb'")) << Show(r);
}

TEST(Triage, WithRunJournalsTheDecisionWithTheOperator) {
  Example ex("media-rollback", kRows);
  const ProcessResult run = ex.Backout({"run", "plan.yaml"}, kFastApp);  // pauses at confirm
  ASSERT_EQ(run.exit_code, 3) << Show(run);
  const std::string run_id = RunIdFrom(run);

  const ProcessResult r =
      ex.Backout({"triage", "plan.yaml", "--issue", "app_errors", "--severity", "major", "--run",
                  run_id, "--operator", "erin"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(Contains(r.out, "triage recorded in run " + run_id + " by erin")) << Show(r);

  const ProcessResult events = ex.Backout({"events", run_id, "--json"});
  ASSERT_EQ(events.exit_code, 0) << Show(events);
  const json last = json::parse(events.out.substr(events.out.rfind('\n', events.out.size() - 2)));
  EXPECT_EQ(last["type"], "TriageRecorded");
  EXPECT_EQ(last["operator"], "erin");
  EXPECT_EQ(last["payload"]["issue"], "app_errors");
  EXPECT_EQ(last["payload"]["severity"], "major");
  EXPECT_EQ(last["payload"]["action"], "rollback_now");
  EXPECT_TRUE(Contains(last["payload"]["note"].get<std::string>(), "within the hour"));

  // The triage is an input: the run still replays green and resumes to the end.
  const ProcessResult replay = ex.Backout({"replay", run_id});
  EXPECT_EQ(replay.exit_code, 0) << Show(replay);
  const ProcessResult resume =
      ex.Backout({"resume", run_id, "--approve=confirm=ROLLBACK_MEDIA"}, kFastApp);
  EXPECT_EQ(resume.exit_code, 0) << Show(resume);
}

TEST(Triage, WithAnUnknownRunExits2AndPrintsTheRecommendationFirst) {
  Example ex("media-rollback", kRows);
  const ProcessResult r = ex.Backout({"triage", "plan.yaml", "--issue", "performance",
                                      "--severity", "minor", "--run", "no-such-run"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(r.out.starts_with("performance / minor: monitor")) << Show(r);
}

}  // namespace
}  // namespace backout::testing
