// RunCase and BuiltinCases: given the test plan (test_plan.h), when a scenario is written in
// a spec, then the path the state machine takes and which expectations hold.
#include "scenarios/scenarios.h"

#include <gtest/gtest.h>

#include "scenarios/test_plan.h"

namespace backout::scenarios {
namespace {

using Ids = std::vector<std::string>;

struct RunCaseCase {
  std::string name;
  std::string scenario;  // one scenario of a spec, without its name
  std::string status;    // how the run ends
  Ids started;           // every attempt
  Ids pauses;
  Ids failures = {};     // the expectations that do not hold
  std::string error = {};
};

void PrintTo(const RunCaseCase& c, std::ostream* os) { *os << c.name; }

class RunCaseTest : public ::testing::TestWithParam<RunCaseCase> {};

TEST_P(RunCaseTest, TakesThePathTheStateMachineTakes) {
  const RunCaseCase& c = GetParam();
  const SpecParse parsed =
      ParseSpec("scenarios:\n  - name: s\n" + c.scenario, "t.yaml", testing::TestPlan());
  ASSERT_TRUE(parsed.ok()) << parsed.diagnostics[0].ToString();
  const Outcome outcome = RunCase(testing::TestPlan(), parsed.spec->cases[0]);
  EXPECT_EQ(outcome.error.message(), c.error);
  if (!c.error.empty()) return;
  EXPECT_EQ(sm::ToString(outcome.path.final_status), c.status);
  EXPECT_EQ(outcome.path.started, c.started);
  Ids pauses;
  for (const sm::RunPaused& p : outcome.path.pauses) pauses.push_back(p.step);
  EXPECT_EQ(pauses, c.pauses);
  EXPECT_EQ(outcome.failures, c.failures);
  EXPECT_EQ(outcome.passed(), c.failures.empty());
}

const Ids kHappy = {"maintenance-on", "backup", "restore-items", "fix", "verify-counts",
                    "maintenance-off"};

INSTANTIATE_TEST_SUITE_P(
    Scenarios, RunCaseTest,
    ::testing::Values(
        RunCaseCase{"EverythingSucceeds", "    expect: { status: succeeded, pauses_at: [] }\n",
                    "succeeded", kHappy, {}},
        RunCaseCase{"FailureSkipsTheRestButNotTheAlwaysStep",
                    "    when: { fails: restore-items }\n"
                    "    expect: { status: failed, runs: maintenance-off, skips: [fix, "
                    "verify-counts], fails: restore-items }\n",
                    "failed", {"maintenance-on", "backup", "restore-items", "maintenance-off"}, {}},
        RunCaseCase{"TimeoutIsAFailure", "    when: { times_out: backup }\n    expect: { status: failed }\n",
                    "failed", {"maintenance-on", "backup", "maintenance-off"}, {}},
        RunCaseCase{"RetriesOutlastOneFailure",
                    "    when: { fails: verify-counts, times: 1 }\n    expect: { status: succeeded }\n",
                    "succeeded",
                    {"maintenance-on", "backup", "restore-items", "fix", "verify-counts",
                     "verify-counts", "maintenance-off"},
                    {}},
        RunCaseCase{"NotApprovedPausesAtTheGate",
                    "    when: { refuse_approval: confirm }\n"
                    "    expect: { status: paused, pauses_at: confirm, does_not_run: restore-items }\n",
                    "paused", {"maintenance-on", "backup"}, {"confirm"}},
        RunCaseCase{"RefusedAtTheGate",
                    "    when: { refuse_approval: confirm, operator: [abort] }\n"
                    "    expect: { status: aborted, runs: maintenance-off }\n",
                    "aborted", {"maintenance-on", "backup", "maintenance-off"}, {"confirm"}},
        RunCaseCase{"ApprovedAfterThePause",
                    "    when: { refuse_approval: confirm, operator: [approve] }\n"
                    "    expect: { status: succeeded }\n",
                    "succeeded", kHappy, {"confirm"}},
        RunCaseCase{"InDoubtCheckFindsItApplied",
                    "    when: { in_doubt: restore-items, check: applied }\n"
                    "    expect: { status: succeeded }\n",
                    "succeeded", kHappy, {}},
        RunCaseCase{"InDoubtCheckFindsItNotApplied",
                    "    when: { in_doubt: restore-items, check: not_applied }\n"
                    "    expect: { status: succeeded }\n",
                    "succeeded",
                    {"maintenance-on", "backup", "restore-items", "restore-items", "fix",
                     "verify-counts", "maintenance-off"},
                    {}},
        RunCaseCase{"InDoubtCheckCannotTell",
                    "    when: { in_doubt: restore-items, check: unknown }\n"
                    "    expect: { status: paused, pauses_at: restore-items }\n",
                    "paused", {"maintenance-on", "backup", "restore-items"}, {"restore-items"}},
        RunCaseCase{"InDoubtResolvedByTheOperator",
                    "    when: { in_doubt: fix, operator: [resolve_not_applied] }\n"
                    "    expect: { status: succeeded }\n",
                    "succeeded",
                    {"maintenance-on", "backup", "restore-items", "fix", "fix", "verify-counts",
                     "maintenance-off"},
                    {"fix"}},
        RunCaseCase{"PauseOnFailureThenAbort",
                    "    when: { fails: fix, operator: [abort] }\n"
                    "    expect: { status: aborted, skips: verify-counts }\n",
                    "aborted",
                    {"maintenance-on", "backup", "restore-items", "fix", "maintenance-off"},
                    {"fix"}},
        RunCaseCase{"AbortBeforeAStep",
                    "    when: { abort_at: fix }\n    expect: { status: aborted, does_not_run: fix }\n",
                    "aborted", {"maintenance-on", "backup", "restore-items", "maintenance-off"}, {}},
        RunCaseCase{"EveryExpectationThatDoesNotHoldIsNamed",
                    "    when: { fails: restore-items }\n"
                    "    expect:\n      status: succeeded\n      runs: [fix]\n"
                    "      does_not_run: [maintenance-off]\n      skips: [restore-items]\n"
                    "      succeeds: [backup, verify-counts]\n      fails: [fix]\n"
                    "      pauses_at: [confirm]\n      started: [backup]\n",
                    "failed",
                    {"maintenance-on", "backup", "restore-items", "maintenance-off"},
                    {},
                    {"expected status succeeded, the run ends failed",
                     "expected fix to run; it did not (skipped); started: maintenance-on, backup, "
                     "restore-items, maintenance-off",
                     "expected maintenance-off not to run; it started (succeeded)",
                     "expected restore-items to end skipped; it is failed",
                     "expected verify-counts to end succeeded; it is skipped",
                     "expected fix to end failed; it is skipped",
                     "expected the run to pause at [confirm]; it paused at []",
                     "expected the attempts [backup]; the run started [maintenance-on, backup, "
                     "restore-items, maintenance-off]"}},
        RunCaseCase{"AnOperatorActionLeftOver",
                    "    when: { operator: [abort] }\n    expect: { status: succeeded }\n",
                    "", {}, {}, {},
                    "operator action 1 (abort) is left over: the run succeeded without pausing "
                    "again"}),
    [](const ::testing::TestParamInfo<RunCaseCase>& param) { return param.param.name; });

TEST(BuiltinCases, CoverEveryStepAndEveryPausePoint) {
  std::vector<std::string> names;
  for (const Case& c : BuiltinCases(testing::TestPlan())) {
    names.push_back(c.name);
    EXPECT_FALSE(c.expect.has_value()) << c.name;
    EXPECT_TRUE(RunCase(testing::TestPlan(), c).passed()) << c.name;
  }
  const Ids expected = {
      "everything succeeds",
      "maintenance-on fails", "maintenance-on times out", "maintenance-on in doubt (runs again)",
      "abort before maintenance-on",
      "backup fails", "backup times out", "backup in doubt (runs again)", "abort before backup",
      "confirm not approved", "confirm refused (aborted at the gate)",
      "restore-items fails", "restore-items times out",
      "restore-items in doubt, check finds it applied",
      "restore-items in doubt, check finds it not applied",
      "restore-items in doubt, check cannot tell",
      "restore-items in doubt, check cannot tell, aborted at the pause",
      "abort before restore-items",
      "fix fails", "fix fails, aborted at the pause", "fix times out",
      "fix in doubt, resolved applied", "fix in doubt, resolved not applied",
      "fix in doubt, aborted at the pause", "abort before fix",
      "verify-counts fails", "verify-counts times out", "verify-counts in doubt, resolved applied",
      "verify-counts in doubt, resolved not applied", "verify-counts in doubt, aborted at the pause",
      "abort before verify-counts",
      "maintenance-off fails", "maintenance-off times out",
      "maintenance-off in doubt (runs again)", "abort before maintenance-off"};
  EXPECT_EQ(names, expected);
}

TEST(OutcomeJson, HoldsThePreviewPathAndMore) {
  const Outcome outcome = RunCase(
      testing::TestPlan(), Case{.name = "n", .when = {.refuse_approval = {"confirm"}},
                                .expect = std::nullopt, .loc = {}});
  const nlohmann::json json = OutcomeJson(outcome);
  EXPECT_EQ(json["name"], "n");
  EXPECT_EQ(json["passed"], true);
  EXPECT_EQ(json["error"], nullptr);
  EXPECT_EQ(json["path"]["final_status"], "paused");
  EXPECT_EQ(json["path"]["paused_at"], (nlohmann::json{{"reason", "approval"}, {"step", "confirm"}}));
  EXPECT_EQ(json["path"]["succeeded"], (nlohmann::json{"maintenance-on", "backup"}));
  EXPECT_EQ(json["path"]["pauses"].size(), 1u);
  EXPECT_EQ(OutcomeText(outcome),
            "ok   n\n     runs: maintenance-on, backup\n     pauses at confirm (approval)\n"
            "     ends: paused (approval: confirm)\n");
}

}  // namespace
}  // namespace backout::scenarios
