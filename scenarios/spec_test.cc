// ParseSpec: given a plan, when a spec has a mistake, then one diagnostic at its place, with
// a did-you-mean where a name is near one the plan or the grammar has.
#include "scenarios/spec.h"

#include <gtest/gtest.h>

#include "plan/parser.h"
#include "plan/test_vocabulary.h"
#include "scenarios/test_plan.h"

namespace backout::scenarios {
namespace {

struct SpecCase {
  std::string name;
  std::string spec;
  std::string expected;  // the one diagnostic, as Diagnostic::ToString() writes it
};

void PrintTo(const SpecCase& c, std::ostream* os) { *os << c.name; }

class SpecDiagnosticTest : public ::testing::TestWithParam<SpecCase> {};

TEST_P(SpecDiagnosticTest, SaysWhereAndWhatIsLikelyWrong) {
  const SpecCase& c = GetParam();
  const SpecParse parsed = ParseSpec(c.spec, "plan.test.yaml", testing::TestPlan());
  EXPECT_FALSE(parsed.ok());
  ASSERT_EQ(parsed.diagnostics.size(), 1u) << c.spec;
  EXPECT_EQ(parsed.diagnostics[0].ToString(), c.expected);
}

std::string One(const std::string& body) {
  return "scenarios:\n  - name: s\n" + body;
}

INSTANTIATE_TEST_SUITE_P(
    Spec, SpecDiagnosticTest,
    ::testing::Values(
        SpecCase{"MisspelledStep", One("    when: { fails: restore-item }\n    expect: { status: failed }\n"),
                 "plan.test.yaml:3:20: error: 'fails' names step 'restore-item', which the plan "
                 "does not have (did you mean 'restore-items'?)"},
        SpecCase{"MisspelledWhenKey", One("    when: { fail: restore-items }\n    expect: { status: failed }\n"),
                 "plan.test.yaml:3:13: error: unknown field 'fail' in the 'when' of scenario 's' "
                 "(expected one of: fails, times_out, times, in_doubt, check, refuse_approval, "
                 "abort_at, operator) (did you mean 'fails'?)"},
        SpecCase{"MisspelledExpectKey", One("    expect: { stauts: failed }\n"),
                 "plan.test.yaml:3:15: error: unknown field 'stauts' in the 'expect' of scenario "
                 "'s' (expected one of: status, runs, does_not_run, skips, succeeds, fails, "
                 "pauses_at, started) (did you mean 'status'?)"},
        SpecCase{"MisspelledStatus", One("    expect: { status: faild }\n"),
                 "plan.test.yaml:3:23: error: 'status' must be one of succeeded, failed, aborted, "
                 "paused (got 'faild') (did you mean 'failed'?)"},
        SpecCase{"MisspelledOperatorAction",
                 One("    when: { fails: fix, operator: [abortt] }\n    expect: { status: aborted }\n"),
                 "plan.test.yaml:3:36: error: an operator action must be one of abort, resume, "
                 "approve, resolve_applied, resolve_not_applied (did you mean 'abort'?)"},
        SpecCase{"MisspelledTopLevel", "scenario:\n  - name: s\n",
                 "plan.test.yaml:1:1: error: unknown field 'scenario' in the top level of the "
                 "spec (expected one of: scenarios) (did you mean 'scenarios'?)"},
        SpecCase{"NoExpect", One("    when: { fails: backup }\n"),
                 "plan.test.yaml:2:5: error: scenario 's' has no 'expect': say what the path "
                 "must be"},
        SpecCase{"ApprovalDoesNotFail", One("    when: { fails: confirm }\n    expect: { status: failed }\n"),
                 "plan.test.yaml:3:20: error: 'fails': step 'confirm' is an approval; an approval "
                 "is given or not: use refuse_approval: confirm"},
        SpecCase{"RefuseAStepThatIsNoApproval",
                 One("    when: { refuse_approval: backup }\n    expect: { status: paused }\n"),
                 "plan.test.yaml:3:30: error: 'refuse_approval': step 'backup' is not an approval"},
        SpecCase{"CheckOfAnIdempotentStep",
                 One("    when: { in_doubt: backup, check: applied }\n    expect: { status: succeeded }\n"),
                 "plan.test.yaml:3:31: error: step 'backup' is idempotent: a resume runs it again "
                 "and never asks its check"},
        SpecCase{"CheckOfAStepWithoutOne",
                 One("    when: { in_doubt: fix, check: applied }\n    expect: { status: succeeded }\n"),
                 "plan.test.yaml:3:28: error: step 'fix' has no check: an operator resolves it "
                 "(operator: [resolve_applied] or [resolve_not_applied])"},
        SpecCase{"CheckWithoutInDoubt",
                 One("    when: { check: applied }\n    expect: { status: succeeded }\n"),
                 "plan.test.yaml:3:13: error: 'check' says what an in-doubt step's check finds: "
                 "give 'in_doubt'"},
        SpecCase{"TimesWithoutFailure", One("    when: { times: 2 }\n    expect: { status: succeeded }\n"),
                 "plan.test.yaml:3:13: error: 'times' counts the attempts that fail: give 'fails' "
                 "or 'times_out'"},
        SpecCase{"DuplicateName",
                 "scenarios:\n  - { name: s, expect: { status: succeeded } }\n"
                 "  - { name: s, expect: { status: succeeded } }\n",
                 "plan.test.yaml:3:5: error: a second scenario named 's'; names must be unique"},
        SpecCase{"SyntaxError", "scenarios:\n  - name: [s\n",
                 "plan.test.yaml:3:1: error: end of sequence flow not found"},
        SpecCase{"OneStepTwoWays",
                 One("    when: { fails: backup, in_doubt: backup }\n    expect: { status: failed }\n"),
                 "plan.test.yaml:3:11: error: step 'backup' is named twice among fails, "
                 "times_out and in_doubt; give it one of them"},
        SpecCase{"AbortAtAGate", One("    when: { abort_at: confirm }\n    expect: { status: aborted }\n"),
                 "plan.test.yaml:3:23: error: 'abort_at': step 'confirm' is an approval; an "
                 "approval is given or not: use refuse_approval: confirm with operator: [abort]"}),
    [](const ::testing::TestParamInfo<SpecCase>& param) { return param.param.name; });

TEST(ParseSpec, ReadsEveryField) {
  const SpecParse parsed = ParseSpec(R"(scenarios:
  - name: restore fails twice, then works
    when: { fails: [restore-items], times: 2, operator: [resume, abort] }
    expect:
      status: succeeded
      runs: [maintenance-off]
      does_not_run: fix
      skips: []
      succeeds: [restore-items]
      fails: []
      pauses_at: []
      started: [maintenance-on]
  - name: in doubt
    when: { in_doubt: restore-items, check: not_applied, refuse_approval: confirm, abort_at: fix }
    expect: { status: paused }
)",
                                     "plan.test.yaml", testing::TestPlan());
  ASSERT_TRUE(parsed.ok()) << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].ToString());
  ASSERT_EQ(parsed.spec->cases.size(), 2u);
  const Case& first = parsed.spec->cases[0];
  EXPECT_EQ(first.name, "restore fails twice, then works");
  EXPECT_EQ(first.when.fails, std::vector<std::string>{"restore-items"});
  EXPECT_EQ(first.when.times, 2);
  EXPECT_EQ(first.when.operator_actions,
            (std::vector<OperatorAction>{OperatorAction::kResume, OperatorAction::kAbort}));
  ASSERT_TRUE(first.expect.has_value());
  EXPECT_EQ(first.expect->status, sm::RunStatus::kSucceeded);
  EXPECT_EQ(first.expect->does_not_run, std::vector<std::string>{"fix"});
  EXPECT_EQ(first.expect->pauses_at, std::vector<std::string>{});
  EXPECT_EQ(first.expect->started, std::vector<std::string>{"maintenance-on"});
  EXPECT_EQ(first.loc.line, 2);
  const Case& second = parsed.spec->cases[1];
  EXPECT_EQ(second.when.in_doubt, "restore-items");
  EXPECT_EQ(second.when.check, sm::StepChecked::Finding::kAbsent);
  EXPECT_EQ(second.when.refuse_approval, std::vector<std::string>{"confirm"});
  EXPECT_EQ(second.when.abort_at, "fix");
  EXPECT_EQ(second.expect->status, sm::RunStatus::kPaused);
}

}  // namespace
}  // namespace backout::scenarios
