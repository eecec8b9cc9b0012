// The diagnostics that tell a plan's author what is likely wrong, each with its exact place
// and text: `${steps.ID.outputs.NAME}` checked against the outputs the action declares, "did
// you mean" for misspelled fields, targets, types, step ids and values, and YAML syntax
// errors explained (a tab in the indentation, a line indented unlike the one before it).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "plan/located_yaml.h"
#include "plan/parser.h"
#include "plan/test_plan_text.h"
#include "plan/test_vocabulary.h"

namespace backout::plan {
namespace {

// Steps start on line 7 (kTestPlanHeader). A step `count` (a query on appdb), then the steps
// given: theirs start on line 9.
std::string AfterCount(std::string_view steps) {
  return WithHeader("  - id: count\n    query: { target: appdb, sql: SELECT 1 }\n") +
         std::string(steps);
}

struct DiagnosticCase {
  std::string name;
  std::string yaml;
  std::string expected;  // the one diagnostic, as Diagnostic::ToString() writes it
};

void PrintTo(const DiagnosticCase& c, std::ostream* os) { *os << c.name; }

class PlanDiagnosticTest : public ::testing::TestWithParam<DiagnosticCase> {};

TEST_P(PlanDiagnosticTest, SaysWhereAndWhatIsLikelyWrong) {
  const DiagnosticCase& c = GetParam();
  const ParseOutcome outcome = ParsePlan(c.yaml, "plan.yaml", DefaultVocabularyForTests());
  EXPECT_FALSE(outcome.ok());
  ASSERT_EQ(outcome.diagnostics.size(), 1u) << Describe(outcome.diagnostics);
  EXPECT_EQ(outcome.diagnostics[0].ToString(), c.expected);
}

const DiagnosticCase kDiagnosticCases[] = {
    // Outputs: checked against the action's declaration, placed at the reference itself.
    {"MisspelledOutput",
     AfterCount("  - id: use\n    sql: { target: appdb, script: \"SELECT ${steps.count.outputs.valeu}\" }\n"),
     "plan.yaml:10:43: error: step 'count' has no output 'valeu' (did you mean 'value'?); its "
     "action 'query' on target 'appdb' (type sqlite) has: value"},
    {"OutputInABlockScalar",
     AfterCount("  - id: use\n    sql:\n      target: appdb\n      script: |\n"
                "        SELECT 1;\n        SELECT ${sql:steps.count.outputs.rows};\n"),
     "plan.yaml:14:16: error: step 'count' has no output 'rows'; its action 'query' on target "
     "'appdb' (type sqlite) has: value"},
    {"NestedOutputPathChecksItsFirstName",
     WithHeader("  - id: before\n    baseline: { target: appdb, tables: [images] }\n"
                "  - id: use\n    command: { target: ops, argv: [\"${steps.before.outputs.tabels.images.rows}\"] }\n"),
     "plan.yaml:10:37: error: step 'before' has no output 'tabels' (did you mean 'tables'?); its "
     "action 'baseline' on target 'appdb' (type sqlite) has: tables, column_order"},
    {"ApprovalHasNoOutputs",
     WithHeader("  - id: gate\n    approval: { prompt: go, phrase: GO }\n"
                "  - id: use\n    command: { target: ops, argv: [\"${steps.gate.outputs.who}\"] }\n"),
     "plan.yaml:10:37: error: step 'gate' has no output 'who': its action 'approval' has no "
     "outputs"},
    {"NotifyWithoutTarget",
     WithHeader("  - id: tell\n    notify: { message: hi }\n"
                "  - id: use\n    command: { target: ops, argv: [\"${steps.tell.outputs.deliverd}\"] }\n"),
     "plan.yaml:10:37: error: step 'tell' has no output 'deliverd' (did you mean 'delivered'?); "
     "its action 'notify' has: message, to, status, delivered, error"},
    {"OutputOfACheckReference",
     AfterCount("  - id: use\n    sql: { target: appdb, script: x }\n"
                "    check: { query: { target: appdb, sql: \"${steps.count.outputs.vlaue}\", "
                "expect: 1 } }\n"),
     "plan.yaml:11:44: error: step 'count' has no output 'vlaue' (did you mean 'value'?); its "
     "action 'query' on target 'appdb' (type sqlite) has: value"},
    // Did you mean.
    {"MisspelledStepId",
     AfterCount("  - id: use\n    command: { target: ops, argv: [\"${steps.cuont.outputs.value}\"] }\n"),
     "plan.yaml:10:36: error: step 'use' refers to outputs of 'cuont', which is not a step of "
     "this plan (did you mean 'count'?)"},
    {"MisspelledTarget", WithHeader("  - id: a\n    sql: { target: apdb, script: x }\n"),
     "plan.yaml:8:20: error: unknown target 'apdb' (defined targets: appdb, ops) (did you mean "
     "'appdb'?)"},
    {"MisspelledTargetType",
     "version: 1\nname: demo\ntargets:\n  db: { type: sqlit, path: x }\nsteps:\n"
     "  - id: a\n    approval: {prompt: p, phrase: X}\n",
     "plan.yaml:4:15: error: unknown target type 'sqlit' (this build supports: sqlite, postgres, "
     "command, http, file, json_store, dynamodb) (did you mean 'sqlite'?)"},
    {"MisspelledAction", WithHeader("  - id: a\n    sqll: { target: appdb }\n"),
     "plan.yaml:8:5: error: unknown field 'sqll' in step 'a' (expected one of: id, title, "
     "planned, timeout, retry, idempotent, always, on_failure, check, downtime; and one action: "
     "sql, backup, restore, baseline, verify, query, command, http, file, export, import, "
     "delete_table, update_billing, notify, approval) (did you mean 'sql'?)"},
    {"MisspelledStepField",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n    on_falure: pause\n"),
     "plan.yaml:9:5: error: unknown field 'on_falure' in step 'a' (expected one of: id, title, "
     "planned, timeout, retry, idempotent, always, on_failure, check, downtime; and one action: "
     "sql, backup, restore, baseline, verify, query, command, http, file, export, import, "
     "delete_table, update_billing, notify, approval) (did you mean 'on_failure'?)"},
    {"MisspelledTopLevelField",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") + "descripton: x\n",
     "plan.yaml:9:1: error: unknown field 'descripton' in the top level of the plan (expected "
     "one of: version, name, description, incident, targets, steps, triggers, retention) (did you mean "
     "'description'?)"},
    {"MisspelledRetryField",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n"
                "    retry: { attempts: 2, backof: 1s }\n"),
     "plan.yaml:9:27: error: unknown field 'backof' in the retry of step 'a' (expected one of: "
     "attempts, backoff) (did you mean 'backoff'?)"},
    {"MisspelledCheckAction",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n"
                "    check: { qurey: { target: appdb, sql: x } }\n"),
     "plan.yaml:9:12: error: the check of step 'a' must hold exactly one action, one of: sql, "
     "backup, restore, baseline, verify, query, command, http, file, export, import, "
     "delete_table, update_billing, notify (did you mean 'query'?)"},
    {"MisspelledOnFailure",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n    on_failure: pasue\n"),
     "plan.yaml:9:17: error: on_failure must be one of abort, pause, continue (got 'pasue') (did "
     "you mean 'pause'?)"},
    {"MisspelledRehearsal",
     "version: 1\nname: demo\ntargets:\n  ops: { type: command, rehearsal: lve }\nsteps:\n"
     "  - id: a\n    approval: {prompt: p, phrase: X}\n",
     "plan.yaml:4:36: error: target 'ops': 'rehearsal' must be 'copy', 'live', 'skip' or a "
     "mapping of the keys to use instead in a rehearsal, not 'lve' (did you mean 'live'?)"},
    // YAML syntax, explained.
    {"TabIndentsAKey", WithHeader("  - id: a\n\tsql: { target: appdb, script: x }\n"),
     "plan.yaml:8:1: error: line 8: a tab in the indentation; YAML indents with spaces (illegal "
     "tab when looking for indentation)"},
    {"TabAfterSpaces",
     WithHeader("  - id: a\n    sql:\n  \t  target: appdb\n      script: x\n"),
     "plan.yaml:9:3: error: line 9: a tab in the indentation; YAML indents with spaces (illegal "
     "map value)"},
    {"KeyIndentedOneTooFar",
     WithHeader("  - id: a\n     sql: { target: appdb, script: x }\n"),
     "plan.yaml:8:9: error: check the indentation of line 8: it starts at column 6, line 7 at "
     "column 5 (illegal map value)"},
    {"KeyIndentedOneTooFewInAMapping",
     WithHeader("  - id: a\n    sql:\n      target: appdb\n     script: x\n"),
     "plan.yaml:10:6: error: check the indentation of line 10: it starts at column 6, line 9 at "
     "column 7 (end of map not found)"},
    {"TopLevelKeyIndented", "version: 1\n  name: demo\n",
     "plan.yaml:2:7: error: check the indentation of line 2: it starts at column 3, line 1 at "
     "column 1 (illegal map value)"},
};

INSTANTIATE_TEST_SUITE_P(Plans, PlanDiagnosticTest, ::testing::ValuesIn(kDiagnosticCases),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(OutputReferenceTest, DeclaredOutputsAndPathsIntoThemAreAccepted) {
  const ParseOutcome outcome = ParsePlan(
      WithHeader("  - id: before\n    baseline: { target: appdb, tables: [images] }\n"
                 "  - id: copy\n    backup: { target: appdb, to: b/ }\n"
                 "  - id: tell\n    notify: { message: hi }\n"
                 "  - id: use\n    command:\n      target: ops\n      argv:\n"
                 "        - \"${steps.before.outputs.tables.images.rows}\"\n"
                 "        - \"${sh:steps.copy.outputs.path} ${steps.copy.outputs.sha256}\"\n"
                 "        - \"${steps.tell.outputs.delivered}\"\n"),
      "plan.yaml", DefaultVocabularyForTests());
  EXPECT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
}

TEST(OutputReferenceTest, EachBadReferenceOfAStringIsPlacedAtItself) {
  const ParseOutcome outcome = ParsePlan(
      AfterCount("  - id: use\n    sql:\n      target: appdb\n      script: |\n"
                 "        SELECT ${steps.count.outputs.value},\n"
                 "               ${steps.count.outputs.valeu},\n"
                 "               ${steps.count.outputs.valu};\n"),
      "plan.yaml", DefaultVocabularyForTests());
  ASSERT_EQ(outcome.diagnostics.size(), 2u) << Describe(outcome.diagnostics);
  EXPECT_EQ(outcome.diagnostics[0].loc.line, 14);
  EXPECT_EQ(outcome.diagnostics[0].loc.col, 16);
  EXPECT_EQ(outcome.diagnostics[1].loc.line, 15);
  EXPECT_EQ(outcome.diagnostics[1].loc.col, 16);
}

TEST(OutputReferenceTest, AVocabularyWithoutOutputsChecksNothing) {
  Vocabulary vocabulary = DefaultVocabularyForTests();
  for (Vocabulary::TargetType& type : vocabulary.target_types) type.outputs.clear();
  const ParseOutcome outcome = ParsePlan(
      AfterCount("  - id: use\n    sql: { target: appdb, script: \"${steps.count.outputs.x}\" }\n"),
      "plan.yaml", vocabulary);
  EXPECT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
}

TEST(ExplainSyntaxErrorTest, OtherErrorsStayAsTheReaderSaidThem) {
  // Same indentation as the line before: not an indentation problem.
  const auto [loc, message] =
      ExplainSyntaxError("version: 1\nname: demo: extra\n", {2, 11}, "illegal map value");
  EXPECT_EQ(loc.line, 2);
  EXPECT_EQ(loc.col, 11);
  EXPECT_EQ(message, "illegal map value");
  // A tab inside a value is not indentation.
  EXPECT_EQ(ExplainSyntaxError("a: 1\nb:\tc: d\n", {2, 6}, "illegal map value").second,
            "illegal map value");
  EXPECT_EQ(ExplainSyntaxError("", {1, 1}, "end of map not found").second,
            "end of map not found");
}

TEST(LocOfTextFromTest, FindsTheTextAtOrAfterTheLocation) {
  constexpr std::string_view kText = "a: x\nb: |\n  caf\xC3\xA9 ${x}\n  ${x}\n";
  EXPECT_EQ(LocOfTextFrom(kText, {2, 4}, "${x}").line, 3);
  EXPECT_EQ(LocOfTextFrom(kText, {2, 4}, "${x}").col, 8);  // "é" is one column
  EXPECT_EQ(LocOfTextFrom(kText, {3, 9}, "${x}").line, 4);
  EXPECT_EQ(LocOfTextFrom(kText, {1, 1}, "${y}").line, 1);  // not there: where it started
}

}  // namespace
}  // namespace backout::plan
