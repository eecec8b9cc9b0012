#include "plan/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "base/sha256.h"
#include "plan/test_plan_text.h"
#include "plan/test_vocabulary.h"

namespace backout::plan {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

struct MalformedCase {
  std::string name;
  std::string yaml;
  int line;
  int col;
  std::string phrase;
  std::size_t count = 1;  // diagnostics expected in all; the first is the one checked
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class MalformedPlanTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedPlanTest, ReportsLocationAndReason) {
  const MalformedCase& c = GetParam();
  const ParseOutcome outcome = ParsePlan(c.yaml, "plan.yaml", DefaultVocabularyForTests());
  EXPECT_FALSE(outcome.ok());
  ASSERT_EQ(outcome.diagnostics.size(), c.count) << Describe(outcome.diagnostics);
  const Diagnostic& first = outcome.diagnostics[0];
  EXPECT_EQ(first.severity, Diagnostic::Severity::kError);
  EXPECT_EQ(first.file, "plan.yaml");
  EXPECT_EQ(first.loc.line, c.line) << first.ToString();
  EXPECT_EQ(first.loc.col, c.col) << first.ToString();
  EXPECT_THAT(first.message, HasSubstr(c.phrase));
}

const MalformedCase kMalformedCases[] = {
    {"YamlSyntax", "version: 1\nname: demo: extra\n", 2, 11, "illegal map value"},
    {"UnclosedFlow", "version: 1\nname: [demo\n", 3, 1, "end of sequence flow not found"},
    {"Empty", "# nothing here\n", 1, 1, "the plan is empty"},
    {"StrayComma", ",version: 1\nname: demo\n", 1, 1, "unexpected ','"},
    {"TwoDocuments", WithHeader("  - id: a\n    approval: {prompt: p, phrase: X}\n---\nx: 1\n"),
     9, 1, "a single YAML document"},
    {"NotAMapping", "- version: 1\n", 1, 1, "a plan must be a mapping"},
    {"Version2",
     "version: 2\nname: demo\nsteps:\n  - id: a\n    approval: {prompt: p, phrase: X}\n", 1, 10,
     "unsupported plan version 2"},
    {"VersionQuoted",
     "version: \"1\"\nname: demo\nsteps:\n  - id: a\n    approval: {prompt: p, phrase: X}\n", 1,
     10, "'version' must be an integer, not a string"},
    {"NameNotAString",
     "version: 1\nname: [a]\nsteps:\n  - id: a\n    approval: {prompt: p, phrase: X}\n", 2, 7,
     "'name' must be a string, not a sequence"},
    {"MissingName", "version: 1\nsteps:\n  - id: a\n    approval: {prompt: p, phrase: X}\n", 1,
     1, "the plan has no 'name'"},
    {"EmptyName",
     "version: 1\nname: ''\nsteps:\n  - id: a\n    approval: {prompt: p, phrase: X}\n", 2, 7,
     "'name' must not be empty"},
    {"UnknownTopLevelKey",
     WithHeader("  - id: a\n    approval: {prompt: p, phrase: X}\nowner: me\n"), 9, 1,
     "unknown field 'owner' in the top level of the plan (expected one of: version, name, "
     "description, incident, targets, steps, triggers, retention)"},
    {"NoSteps", "version: 1\nname: demo\nsteps: []\n", 3, 8, "at least one step"},
    {"StepNotAMapping", WithHeader("  - just-a-string\n"), 7, 5, "step #1 must be a mapping"},
    {"UnknownAction", WithHeader("  - id: a\n    sqll: { target: appdb }\n"), 8, 5,
     "unknown field 'sqll' in step 'a' (expected one of: id, title, planned, timeout, retry, "
     "idempotent, always, on_failure, check, downtime; and one action: sql, backup, restore, baseline, "
     "verify, query, command, http, file, export, import, delete_table, update_billing, notify, "
     "approval)"},
    {"ActionTheTargetLacks",
     "version: 1\nname: demo\ntargets:\n  ops: { type: command }\nsteps:\n"
     "  - id: a\n    http: { target: ops, path: / }\n",
     7, 21, "target 'ops' (type command) has no action 'http'; it offers: command"},
    {"UnknownStepField",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n    retries: 3\n"), 9, 5,
     "unknown field 'retries' in step 'a' (expected one of: id, title"},
    {"TwoActions",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n"
                "    backup: { target: appdb, to: b/ }\n"),
     9, 5, "step 'a' has two actions 'sql' and 'backup'"},
    {"NoAction", WithHeader("  - id: a\n    title: Nothing to do\n"), 7, 5,
     "step 'a' has no action"},
    {"MissingId", WithHeader("  - backup: { target: appdb, to: b/ }\n"), 7, 5,
     "step #1 has no 'id'"},
    {"DuplicateStepId",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n"
                "  - id: a\n    backup: { target: appdb, to: c/ }\n"),
     9, 5, "duplicate step id 'a' (first used at line 7)"},
    {"BadStepId", WithHeader("  - id: Bad_Id\n    backup: { target: appdb, to: b/ }\n"), 7, 9,
     "invalid step id 'Bad_Id'"},
    {"MissingTarget", WithHeader("  - id: a\n    backup: { to: b/ }\n"), 8, 5,
     "action 'backup' of step 'a' has no 'target'"},
    {"UnknownTarget", WithHeader("  - id: a\n    sql: { target: pg, script: x }\n"), 8, 20,
     "unknown target 'pg' (defined targets: appdb, ops)"},
    {"TargetOfWrongType", WithHeader("  - id: a\n    sql: { target: ops, script: x }\n"), 8, 20,
     "target 'ops' (type command) has no action 'sql'; it offers: command"},
    {"ActionNotAMapping", WithHeader("  - id: a\n    backup: appdb\n"), 8, 13,
     "'backup' must be a mapping of the action's parameters, not a string"},
    {"BadDuration",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n    planned: 5x\n"), 9, 14,
     "planned: invalid duration '5x'"},
    {"BadActionTimeout",
     WithHeader("  - id: a\n    command: { target: ops, argv: [true], timeout: 1m1h }\n"), 8,
     52, "timeout: invalid duration '1m1h'"},
    {"RetryAttemptsZero",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n"
                "    retry: { attempts: 0, backoff: 1s }\n"),
     9, 24, "retry attempts must be between 1 and 1000 (got 0)"},
    {"RetryUnknownField",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n"
                "    retry: { attempts: 2, delay: 1s }\n"),
     9, 27, "unknown field 'delay' in the retry of step 'a' (expected one of: attempts, backoff)"},
    {"BadOnFailure",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n    on_failure: retry\n"), 9,
     17, "on_failure must be one of abort, pause, continue (got 'retry')"},
    {"IdempotentYes",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n    idempotent: yes\n"), 9,
     17, "'idempotent' must be true or false, not a string"},
    {"DuplicateKeyInParams",
     WithHeader("  - id: a\n    backup: { target: appdb, to: a/, to: b/ }\n"), 8, 38,
     "duplicate key 'to' (first at line 8, column 30)"},
    {"DuplicateKeyInStep",
     WithHeader("  - id: a\n    title: One\n    title: Two\n"
                "    backup: { target: appdb, to: b/ }\n"),
     9, 5, "duplicate key 'title' (first at line 8, column 5)"},
    {"DuplicateTopLevelKey",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\nname: again\n"), 9, 1,
     "duplicate key 'name' (first at line 2, column 1)"},
    {"ForwardStepReference",
     WithHeader("  - id: restore\n"
                "    restore: { target: appdb, from: \"${steps.backup.outputs.path}\" }\n"
                "  - id: backup\n    backup: { target: appdb, to: b/ }\n"),
     8, 37, "step 'restore' refers to outputs of 'backup', which does not come before it"},
    {"ReferenceToUnknownStep",
     WithHeader("  - id: a\n    sql: { target: appdb, script: \"${steps.nope.outputs.x}\" }\n"),
     8, 35, "refers to outputs of 'nope', which is not a step of this plan"},
    {"CheckReferringToItsOwnStep",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n"
                "    check: { query: { target: appdb, sql: \"${steps.a.outputs.path}\" } }\n"),
     9, 43, "the check of step 'a' refers to the step's own outputs"},
    {"MalformedReference",
     WithHeader("  - id: a\n    sql: { target: appdb, script: \"SELECT '${oops'\" }\n"), 8, 35,
     "malformed reference '${oops'' at offset 8: missing '}'"},
    {"StepReferenceWithoutOutputs",
     WithHeader("  - id: a\n    backup: { target: appdb, to: b/ }\n"
                "  - id: b\n    restore: { target: appdb, from: \"${steps.a.path}\" }\n"),
     10, 37, "expected ${steps.ID.outputs.NAME}"},
    {"UnknownTargetType",
     "version: 1\nname: demo\ntargets:\n  pg: { type: oracle, dsn: x }\nsteps:\n"
     "  - id: a\n    approval: {prompt: p, phrase: X}\n",
     4, 15,
     "unknown target type 'oracle' (this build supports: sqlite, postgres, command, http, file, "
     "json_store, dynamodb)"},
    {"TargetWithoutType",
     "version: 1\nname: demo\ntargets:\n  db: { path: x }\nsteps:\n"
     "  - id: a\n    approval: {prompt: p, phrase: X}\n",
     4, 7, "target 'db' has no 'type'"},
    {"BadTargetName",
     "version: 1\nname: demo\ntargets:\n  App: { type: command }\nsteps:\n"
     "  - id: a\n    approval: {prompt: p, phrase: X}\n",
     4, 3, "invalid target name 'App'"},
    {"TargetReferringToStepOutput",
     "version: 1\nname: demo\ntargets:\n"
     "  db: { type: sqlite, path: \"${steps.a.outputs.path}\" }\nsteps:\n"
     "  - id: a\n    approval: {prompt: p, phrase: X}\n",
     4, 29, "targets are opened before any step runs"},
    {"ApprovalWithoutPhrase", WithHeader("  - id: a\n    approval: { prompt: \"Sure?\" }\n"), 8, 5,
     "action 'approval' of step 'a' has no 'phrase'"},
    {"ApprovalWithTarget",
     WithHeader("  - id: a\n    approval: { target: ops, prompt: \"Sure?\", phrase: X }\n"), 8, 17,
     "an approval has no target"},
    {"ApprovalAsCheck",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n"
                "    check: { approval: { prompt: p, phrase: X } }\n"),
     9, 12, "the check of step 'a' must hold exactly one action, one of: sql, backup, restore, "
            "baseline, verify, query, command"},
    {"CheckWithTwoActions",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n"
                "    check: { query: { target: appdb, sql: x }, sql: { target: appdb } }\n"),
     9, 12, "must hold exactly one action"},
    {"CheckTargetOfWrongType",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n"
                "    check: { command: { target: appdb, argv: [true] } }\n"),
     9, 33, "target 'appdb' (type sqlite) has no action 'command'"},
    {"CyclicAlias", WithHeader("  - id: a\n    command: { target: ops, argv: &loop [x, *loop] }\n"),
     8, 42, "parameters nest deeper than 64 levels"},
    {"BadDowntime",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n    downtime: begin\n"), 9, 15,
     "downtime must be one of start, end (got 'begin')"},
    {"TriggerWithUnknownAction",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") +
         "triggers:\n  - { issue: data_corruption, severity: critical, action: panic }\n",
     10, 59, "trigger action must be one of rollback_now, forward_fix, monitor"},
    {"TriggerMissingSeverity",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") +
         "triggers:\n  - { issue: slow, action: monitor }\n",
     10, 5, "trigger 1"},
    {"DuplicateTrigger",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") +
         "triggers:\n  - { issue: slow, severity: minor, action: monitor }\n"
         "  - { issue: slow, severity: minor, action: forward_fix }\n",
     11, 5, "is already given at line 10"},
    {"RetentionKeepLastZero",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") +
         "retention: { keep_last: 0 }\n",
     9, 25, "keep_last must be between 1 and"},
    {"RetentionBadWindow",
     WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") +
         "retention: { keep_within: 30days }\n",
     9, 27, "invalid retention window '30days'"},
    // Counted in characters: the "é" before the bad byte is one column.
    {"NotUtf8InAComment", "version: 1\n# caf\xC3\xA9 \xFF\nname: demo\n", 2, 8,
     "byte 0xFF is not UTF-8"},
    {"NotUtf8CutShort", "version: 1\nname: \"x\xE2\x82\"\n", 2, 9, "byte 0xE2 is not UTF-8"},
    {"StepIdTooLong",
     WithHeader("  - id: " + std::string(101, 'a') + "\n    sql: { target: appdb, script: x }\n"),
     7, 9, "step id is 101 characters long; the limit is 100"},
    // yaml-cpp reports the depth where the nested value ends (after its 1,200 brackets).
    {"NestedTooDeep", "version: 1\nname: " + std::string(600, '[') + std::string(600, ']') + "\n",
     2, 1207, "the plan nests deeper than 499 levels"},
};

INSTANTIATE_TEST_SUITE_P(Plans, MalformedPlanTest, ::testing::ValuesIn(kMalformedCases),
                         [](const auto& param_info) { return param_info.param.name; });

TEST(ParsePlanTest, AStepIdOfExactlyTheLimitIsValid) {
  const ParseOutcome outcome = ParsePlan(
      WithHeader("  - id: " + std::string(100, 'a') + "\n    sql: { target: appdb, script: x }\n"),
      "plan.yaml", DefaultVocabularyForTests());
  EXPECT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
}

TEST(ParsePlanTest, RetentionSetsTheRulesForThePlansBackups) {
  const ParseOutcome outcome =
      ParsePlan(WithHeader("  - id: a\n    sql: { target: appdb, script: x }\n") +
                    "retention: { keep_last: 3, keep_within: 30d }\n",
                "plan.yaml", DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  ASSERT_TRUE(outcome.plan->retention.has_value());
  EXPECT_EQ(outcome.plan->retention->keep_last, 3);
  EXPECT_EQ(outcome.plan->retention->keep_within, std::chrono::milliseconds(30 * 86'400'000LL));
}

TEST(ParsePlanTest, ReportsEveryProblemInFileOrder) {
  const std::string yaml = WithHeader(
      "  - id: b\n"
      "    restore: { target: appdb, from: \"${steps.a.outputs.path}\" }\n"  // line 8
      "    planned: soon\n"                                                   // line 9
      "  - id: a\n"
      "    sql: { target: ops, script: x }\n"  // line 11
      "version: 3\n");                         // line 12: duplicate key
  const ParseOutcome outcome = ParsePlan(yaml, "p.yaml", DefaultVocabularyForTests());
  ASSERT_FALSE(outcome.ok());
  std::vector<std::pair<int, int>> positions;
  for (const Diagnostic& d : outcome.diagnostics) positions.emplace_back(d.loc.line, d.loc.col);
  EXPECT_EQ(positions, (std::vector<std::pair<int, int>>{{8, 37}, {9, 14}, {11, 20}, {12, 1}}))
      << Describe(outcome.diagnostics);
}

// The design's example plan, with only targets this build supports.
constexpr std::string_view kExamplePlan = R"(version: 1
name: media-unification-rollback
description: Revert the merge of images and docs into media
incident: INC-2041
targets:
  appdb: { type: sqlite, path: data/app.db }
  ops:   { type: command, cwd: "." }
steps:
  - id: maintenance-on
    title: Enable maintenance mode
    command: { target: ops, argv: [./scripts/maintenance, "on"] }
    planned: 2m
  - id: baseline
    baseline: { target: appdb, tables: [images, docs, media] }
  - id: backup
    backup: { target: appdb, to: backups/ }
  - id: confirm
    approval: { prompt: "Drop the media table?", phrase: CONFIRM_ROLLBACK }
  - id: drop-media
    sql:
      target: appdb
      script: |
        DROP TABLE IF EXISTS media;
    idempotent: true
    retry: { attempts: 3, backoff: 5s }
    timeout: 1h30m
  - id: scale-down
    command: { target: ops, argv: [kubectl, scale, deployment/app, --replicas=0], timeout: 60s }
    check: { command: { target: ops, argv: [./scripts/replicas-are, "0"] } }
    on_failure: pause
  - id: verify
    verify:
      target: appdb
      checks:
        - table_absent: media
        - table_present: [images, docs]
        - row_count: { table: images, equals: baseline }
        - row_count: { table: docs, equals: 12 }
        - integrity: true
        - query: { sql: "SELECT count(*) FROM media", expect: 0 }
    on_failure: continue
  - id: restore-check
    query: { target: appdb, sql: "SELECT '${steps.backup.outputs.path}'", expect: null }
  - id: maintenance-off
    command: { target: ops, argv: [./scripts/maintenance, "off"] }
    always: true
)";

class ExamplePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ParseOutcome outcome =
        ParsePlan(kExamplePlan, "examples/media.yaml", DefaultVocabularyForTests());
    ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
    EXPECT_TRUE(outcome.diagnostics.empty()) << Describe(outcome.diagnostics);
    plan_ = std::move(*outcome.plan);
  }

  const Step& StepNamed(const std::string& id) {
    const Step* step = plan_.FindStep(id);
    EXPECT_NE(step, nullptr) << id;
    return *step;
  }

  Plan plan_;
};

TEST_F(ExamplePlanTest, TopLevel) {
  EXPECT_EQ(plan_.version, 1);
  EXPECT_EQ(plan_.name, "media-unification-rollback");
  EXPECT_EQ(plan_.description, "Revert the merge of images and docs into media");
  EXPECT_EQ(plan_.incident, "INC-2041");
  EXPECT_EQ(plan_.source_file, "examples/media.yaml");
  EXPECT_EQ(plan_.text, kExamplePlan);
  EXPECT_EQ(plan_.sha256, Sha256Hex(kExamplePlan));
  ASSERT_EQ(plan_.steps.size(), 9u);
  EXPECT_EQ(plan_.IndexOf("backup"), 2);
  EXPECT_EQ(plan_.IndexOf("nope"), -1);
  EXPECT_EQ(plan_.FindStep("nope"), nullptr);
}

TEST_F(ExamplePlanTest, Targets) {
  ASSERT_EQ(plan_.targets.size(), 2u);
  const Target& appdb = plan_.targets.at("appdb");
  EXPECT_EQ(appdb.name, "appdb");
  EXPECT_EQ(appdb.type, "sqlite");
  EXPECT_EQ(appdb.config.value, json({{"type", "sqlite"}, {"path", "data/app.db"}}));
  EXPECT_EQ(appdb.loc.line, 6);
  EXPECT_EQ(appdb.loc.col, 3);
  EXPECT_EQ(appdb.config.LocOf("/path").line, 6);
  EXPECT_EQ(appdb.config.LocOf("/path").col, 32);
  EXPECT_EQ(plan_.targets.at("ops").config.value["cwd"], ".");
}

TEST_F(ExamplePlanTest, StepFields) {
  const Step& on = StepNamed("maintenance-on");
  EXPECT_EQ(on.title, "Enable maintenance mode");
  EXPECT_EQ(on.planned, std::chrono::minutes(2));
  EXPECT_EQ(on.timeout, std::nullopt);
  EXPECT_EQ(on.on_failure, OnFailure::kAbort);
  EXPECT_FALSE(on.always);
  EXPECT_EQ(on.loc.line, 9);
  EXPECT_EQ(on.loc.col, 5);

  const Step& drop = StepNamed("drop-media");
  EXPECT_EQ(drop.title, "drop-media");  // defaults to the id
  EXPECT_TRUE(drop.idempotent_declared);
  EXPECT_EQ(drop.retry.attempts, 3);
  EXPECT_EQ(drop.retry.backoff, std::chrono::seconds(5));
  EXPECT_EQ(drop.timeout, std::chrono::minutes(90));
  EXPECT_EQ(drop.action.kind, "sql");
  EXPECT_EQ(drop.action.target, "appdb");
  EXPECT_EQ(drop.action.params.value["script"], "DROP TABLE IF EXISTS media;\n");

  const Step& scale = StepNamed("scale-down");
  EXPECT_EQ(scale.on_failure, OnFailure::kPause);
  EXPECT_EQ(scale.action.timeout, std::chrono::seconds(60));
  EXPECT_EQ(scale.action.params.value["timeout"], "60s");
  ASSERT_TRUE(scale.check.has_value());
  EXPECT_EQ(scale.check->kind, "command");
  EXPECT_EQ(scale.check->target, "ops");
  EXPECT_EQ(scale.check->params.value["argv"], json({"./scripts/replicas-are", "0"}));
  EXPECT_EQ(scale.check->loc.line, 29);
  EXPECT_EQ(scale.check->loc.col, 14);

  EXPECT_EQ(StepNamed("verify").on_failure, OnFailure::kContinue);
  EXPECT_TRUE(StepNamed("maintenance-off").always);
  EXPECT_EQ(StepNamed("baseline").retry.attempts, 1);
}

TEST_F(ExamplePlanTest, IdempotencyByNatureOrDeclaration) {
  const std::map<std::string, bool> expected = {
      {"maintenance-on", false}, {"baseline", true}, {"backup", true},
      {"confirm", true},         {"drop-media", true}, {"scale-down", false},
      {"verify", true},          {"restore-check", true}, {"maintenance-off", false}};
  for (const auto& [id, idempotent] : expected) {
    EXPECT_EQ(StepNamed(id).IsIdempotent(), idempotent) << id;
  }
}

TEST_F(ExamplePlanTest, ParamsKeepTypesAndLocations) {
  const Action& verify = StepNamed("verify").action;
  EXPECT_EQ(verify.kind, "verify");
  EXPECT_EQ(verify.loc.line, 32);
  EXPECT_EQ(verify.loc.col, 5);
  const json& checks = verify.params.value["checks"];
  ASSERT_TRUE(checks.is_array());
  ASSERT_EQ(checks.size(), 6u);
  EXPECT_EQ(checks[0], json({{"table_absent", "media"}}));
  EXPECT_EQ(checks[1]["table_present"], json({"images", "docs"}));
  EXPECT_EQ(checks[2]["row_count"]["equals"], "baseline");
  EXPECT_TRUE(checks[3]["row_count"]["equals"].is_number_integer());
  EXPECT_EQ(checks[3]["row_count"]["equals"], 12);
  EXPECT_EQ(checks[4]["integrity"], true);
  EXPECT_EQ(checks[5]["query"]["expect"], 0);
  EXPECT_EQ(verify.params.value["target"], "appdb");  // target stays in the params

  const SourceLoc table = verify.params.LocOf("/checks/2/row_count/table");
  EXPECT_EQ(table.line, 37);
  EXPECT_EQ(table.col, 31);
  const SourceLoc item = verify.params.LocOf("/checks/1/table_present/1");
  EXPECT_EQ(item.line, 36);
  EXPECT_EQ(item.col, 35);
  // A pointer below any located node answers with its nearest located ancestor.
  const SourceLoc missing = verify.params.LocOf("/checks/2/row_count/nope");
  EXPECT_EQ(missing.line, 37);
  EXPECT_EQ(missing.col, 22);

  const Action& query = StepNamed("restore-check").action;
  EXPECT_TRUE(query.params.value["expect"].is_null());
  EXPECT_EQ(query.params.LocOf("/expect").line, 43);
  EXPECT_EQ(query.params.value["sql"], "SELECT '${steps.backup.outputs.path}'");  // unexpanded

  const Action& approval = StepNamed("confirm").action;
  EXPECT_EQ(approval.kind, "approval");
  EXPECT_EQ(approval.target, "");
  EXPECT_EQ(approval.params.value,
            json({{"prompt", "Drop the media table?"}, {"phrase", "CONFIRM_ROLLBACK"}}));
}

TEST(ParsePlanTest, ScalarsFollowTheCoreSchema) {
  const ParseOutcome outcome = ParsePlan(WithHeader(R"(  - id: a
    command:
      target: ops
      argv: [x]
      env:
        quoted_number: "1"
        single_quoted: 'true'
        integer: 1
        negative: -7
        plus: +5
        float: 1.5
        exponent: 1e3
        huge: 99999999999999999999
        hex: 0x1F
        signs: +-5
        too_big: 1e999
        underscore: 1_000
        yes_word: yes
        bool: TRUE
        tilde: ~
        null_word: null
        empty:
        tagged: !!str 12
        block: |
          line
)"),
                                         "p.yaml", DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  const LocatedJson& params = outcome.plan->steps[0].action.params;
  const json& env = params.value["env"];
  EXPECT_EQ(env["quoted_number"], "1");
  EXPECT_EQ(env["single_quoted"], "true");
  EXPECT_EQ(env["integer"], 1);
  EXPECT_TRUE(env["integer"].is_number_integer());
  EXPECT_EQ(env["negative"], -7);
  EXPECT_EQ(env["plus"], 5);
  EXPECT_EQ(env["float"], 1.5);
  EXPECT_EQ(env["exponent"], 1000.0);
  EXPECT_TRUE(env["huge"].is_number_float());
  EXPECT_EQ(env["hex"], "0x1F");
  EXPECT_EQ(env["signs"], "+-5");
  EXPECT_EQ(env["too_big"], "1e999");
  EXPECT_EQ(env["underscore"], "1_000");
  EXPECT_EQ(env["yes_word"], "yes");
  EXPECT_EQ(env["bool"], true);
  EXPECT_TRUE(env["tilde"].is_null());
  EXPECT_TRUE(env["null_word"].is_null());
  EXPECT_TRUE(env["empty"].is_null());
  EXPECT_EQ(env["tagged"], "12");
  EXPECT_EQ(env["block"], "line\n");
  // An empty value is located at its key.
  EXPECT_EQ(params.LocOf("/env/empty").line, 28);
  EXPECT_EQ(params.LocOf("/env/empty").col, 9);
}

TEST(ParsePlanTest, PointersEscapeTildeAndSlash) {
  const ParseOutcome outcome = ParsePlan(
      WithHeader("  - id: a\n    command: { target: ops, env: { a/b: 1, ~x: 2 } }\n"), "p.yaml",
      DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  const LocatedJson& params = outcome.plan->steps[0].action.params;
  EXPECT_EQ(params.value["env"]["a/b"], 1);
  ASSERT_EQ(params.locs.count("/env/a~1b"), 1u);
  ASSERT_EQ(params.locs.count("/env/~0x"), 1u);
  EXPECT_EQ(params.locs.at("/env/a~1b").col, 41);
  EXPECT_EQ(params.locs.at("/env/~0x").col, 48);
  EXPECT_EQ(params.LocOf("").col, 14);  // the action's mapping
}

TEST(ParsePlanTest, DowntimeMarkersAndTriggers) {
  const ParseOutcome outcome = ParsePlan(
      WithHeader("  - id: on\n    command: { target: ops, argv: [true] }\n    downtime: start\n"
                 "  - id: off\n    command: { target: ops, argv: [true] }\n    downtime: end\n"
                 "  - id: other\n    command: { target: ops, argv: [true] }\n") +
          "triggers:\n"
          "  - { issue: data_corruption, severity: critical, action: rollback_now }\n"
          "  - { issue: performance, severity: minor, action: monitor, note: watch p99 }\n",
      "plan.yaml", DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  const Plan& plan = *outcome.plan;
  EXPECT_EQ(plan.steps[0].downtime, Downtime::kStart);
  EXPECT_EQ(plan.steps[1].downtime, Downtime::kEnd);
  EXPECT_EQ(plan.steps[2].downtime, Downtime::kNone);
  ASSERT_EQ(plan.triggers.size(), 2u);
  const Trigger* t = plan.FindTrigger("performance", "minor");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->action, "monitor");
  EXPECT_EQ(t->note, "watch p99");
  EXPECT_EQ(t->loc.line, 17);
  EXPECT_EQ(plan.FindTrigger("performance", "critical"), nullptr);
}

TEST(ParsePlanTest, TargetRehearsalSettings) {
  const ParseOutcome outcome = ParsePlan(
      "version: 1\nname: r\ntargets:\n"
      "  db: { type: sqlite, path: app.db }\n"
      "  svc: { type: command, rehearsal: skip }\n"
      "  probe: { type: command, rehearsal: live }\n"
      "  ops: { type: command, cwd: ops, rehearsal: { cwd: stand-ins, env: { A: b } } }\n"
      "steps:\n"
      "  - id: a\n    command: { target: ops, argv: [true] }\n"
      "  - id: b\n    command: { target: probe, argv: [true] }\n"
      "    check: { command: { target: svc, argv: [true] } }\n",
      "plan.yaml", DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  const Plan& plan = *outcome.plan;
  EXPECT_EQ(plan.targets.at("db").rehearsal, Target::Rehearsal::kCopy);
  EXPECT_EQ(plan.targets.at("svc").rehearsal, Target::Rehearsal::kSkip);
  EXPECT_EQ(plan.targets.at("probe").rehearsal, Target::Rehearsal::kLive);
  const Target& ops = plan.targets.at("ops");
  EXPECT_EQ(ops.rehearsal, Target::Rehearsal::kRedirect);
  EXPECT_EQ(ops.rehearsal_overlay, json::parse(R"({"cwd": "stand-ins", "env": {"A": "b"}})"));
  EXPECT_FALSE(ops.config.value.contains("rehearsal")) << "the adapter never sees it";
  EXPECT_EQ(ops.config.value["cwd"], "ops");
  // A step is skipped in a rehearsal when its action or its check names a skipped target.
  EXPECT_EQ(plan.RehearsalSkipTarget(plan.steps[0]), nullptr);
  ASSERT_NE(plan.RehearsalSkipTarget(plan.steps[1]), nullptr);
  EXPECT_EQ(plan.RehearsalSkipTarget(plan.steps[1])->name, "svc");
}

TEST(ParsePlanTest, TargetRehearsalMistakes) {
  auto first_error = [](const std::string& target) {
    const ParseOutcome outcome =
        ParsePlan("version: 1\nname: r\ntargets:\n  t: " + target +
                      "\nsteps:\n  - id: a\n    approval: {prompt: \"Go?\", phrase: GO}\n",
                  "plan.yaml", DefaultVocabularyForTests());
    return outcome.diagnostics.empty() ? std::string("no error")
                                       : outcome.diagnostics[0].ToString();
  };
  EXPECT_THAT(first_error("{ type: http, rehearsal: staging }"),
              HasSubstr("'rehearsal' must be 'copy', 'live', 'skip' or a mapping"));
  EXPECT_THAT(first_error("{ type: http, rehearsal: { type: command } }"),
              HasSubstr("a rehearsal cannot change the target's 'type'"));
  EXPECT_THAT(first_error("{ type: http, rehearsal: {} }"),
              HasSubstr("'rehearsal' as a mapping needs the keys"));
}

TEST(ParsePlanTest, TargetsAreOptional) {
  const ParseOutcome outcome = ParsePlan(
      "version: 1\nname: ask\nsteps:\n  - id: ok\n    approval: {prompt: \"Go?\", phrase: GO}\n",
      "p.yaml", DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  EXPECT_TRUE(outcome.plan->targets.empty());
}

TEST(CheckVariablesTest, ReportsEachMissingVariableOncePerString) {
  const ParseOutcome outcome = ParsePlan(R"(version: 1
name: vars
targets:
  appdb: { type: sqlite, path: "${DATA_DIR}/app.db" }
  ops: { type: command, env: { HOME_DIR: "${HOME}" } }
steps:
  - id: a
    command: { target: ops, argv: [curl, "${TOKEN}:${TOKEN}@${HOST}"] }
    check: { query: { target: appdb, sql: "SELECT '${CHECK_VAR}'" } }
  - id: b
    sql: { target: appdb, script: "SELECT '$${NOT_A_VAR}'" }
)",
                                         "vars.yaml", DefaultVocabularyForTests());
  ASSERT_TRUE(outcome.ok()) << Describe(outcome.diagnostics);
  const VarLookup lookup = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME" || name == "HOST") return "set";
    return std::nullopt;
  };
  const std::vector<Diagnostic> diagnostics = CheckVariables(*outcome.plan, lookup);
  ASSERT_EQ(diagnostics.size(), 3u) << Describe(diagnostics);
  EXPECT_EQ(diagnostics[0].ToString(),
            "vars.yaml:4:32: error: environment variable DATA_DIR is not set (referenced here)");
  EXPECT_EQ(diagnostics[1].loc.line, 8);
  EXPECT_EQ(diagnostics[1].loc.col, 42);
  EXPECT_THAT(diagnostics[1].message, HasSubstr("TOKEN"));
  EXPECT_EQ(diagnostics[2].loc.line, 9);
  EXPECT_THAT(diagnostics[2].message, HasSubstr("CHECK_VAR"));

  const VarLookup everything = [](const std::string&) { return std::optional<std::string>("x"); };
  EXPECT_TRUE(CheckVariables(*outcome.plan, everything).empty());
}

TEST(DiagnosticTest, ToString) {
  Diagnostic error{Diagnostic::Severity::kError, "plan.yaml", {12, 7}, "unknown action 'sqll'"};
  EXPECT_EQ(error.ToString(), "plan.yaml:12:7: error: unknown action 'sqll'");
  Diagnostic warning{Diagnostic::Severity::kWarning, "p.yaml", {1, 1}, "odd"};
  EXPECT_EQ(warning.ToString(), "p.yaml:1:1: warning: odd");
  Diagnostic unlocated{Diagnostic::Severity::kError, "p.yaml", {}, "cannot read"};
  EXPECT_EQ(unlocated.ToString(), "p.yaml: error: cannot read");
}

TEST(LocatedJsonTest, LocOfWalksUpToTheNearestLocatedAncestor) {
  LocatedJson tree;
  tree.locs[""] = {1, 1};
  tree.locs["/a"] = {2, 3};
  tree.locs["/a/b~1c"] = {3, 5};
  EXPECT_EQ(tree.LocOf("/a/b~1c").line, 3);
  EXPECT_EQ(tree.LocOf("/a/b~1c/0/d").line, 3);
  EXPECT_EQ(tree.LocOf("/a/x").line, 2);
  EXPECT_EQ(tree.LocOf("/z").line, 1);
  EXPECT_EQ(tree.LocOf("").line, 1);
  EXPECT_EQ(LocatedJson{}.LocOf("/a").line, 0);
}

}  // namespace
}  // namespace backout::plan
