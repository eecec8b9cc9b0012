#include "engine/plan_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "testing/temp_dir.h"

namespace backout::engine {
namespace {

namespace fs = std::filesystem;

// Plans under a private folder `dir_`, whose journal is `dir_/j`.
class JournalPathCheckTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_ / "j"); }

  // The messages of CheckPathsOutsideJournal for a plan with these targets and steps.
  std::vector<std::string> Problems(const std::string& targets, const std::string& steps) {
    const std::string text = "version: 1\nname: t\ntargets:\n" + targets + "steps:\n" + steps;
    plan::ParseOutcome parsed = plan::ParsePlan(text, (dir_ / "plan.yaml").string(),
                                                DefaultPlanVocabulary());
    EXPECT_TRUE(parsed.ok());
    if (!parsed.ok()) return {"parse error"};
    const plan::VarLookup vars = [](const std::string& name) -> std::optional<std::string> {
      if (name == "INTO") return std::string("j/x.db");
      return std::nullopt;
    };
    std::vector<std::string> out;
    for (const plan::Diagnostic& d : CheckPathsOutsideJournal(*parsed.plan, dir_ / "j", vars)) {
      out.push_back(d.ToString());
    }
    return out;
  }

  const backout::testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
};

const char* kDb = "  db: { type: sqlite, path: app.db }\n";

TEST_F(JournalPathCheckTest, PathIntoTheJournalIsRefusedWithItsPosition) {
  const std::vector<std::string> problems =
      Problems(kDb, "  - id: b\n    backup: { target: db, to: j/run/db/CURRENT }\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("plan.yaml:7:31: error: path 'j/run/db/CURRENT' resolves to"),
            std::string::npos)
      << problems[0];
}

TEST_F(JournalPathCheckTest, ASiblingWithTheSamePrefixIsNotInside) {
  EXPECT_TRUE(Problems(kDb, "  - id: b\n    backup: { target: db, to: j2/x.db }\n").empty());
  EXPECT_TRUE(Problems(kDb, "  - id: b\n    backup: { target: db, to: backups/ }\n").empty());
}

TEST_F(JournalPathCheckTest, TheDatabaseItselfAndVariablesAreChecked) {
  EXPECT_EQ(Problems("  db: { type: sqlite, path: j/x.db }\n",
                     "  - id: q\n    query: { target: db, sql: SELECT 1 }\n")
                .size(),
            1u);
  EXPECT_EQ(Problems(kDb, "  - id: b\n    backup: { target: db, to: \"${INTO}\" }\n").size(), 1u);
}

TEST_F(JournalPathCheckTest, StepOutputsAreLeftToRunTime) {
  EXPECT_TRUE(Problems(kDb, "  - id: b\n    backup: { target: db, to: backups/ }\n"
                            "  - id: r\n    restore: { target: db, from: "
                            "\"${steps.b.outputs.path}\" }\n")
                  .empty());
  // At run time the expanded value is checked.
  EXPECT_TRUE(PathIntoJournal("sqlite", "restore", {{"type", "sqlite"}, {"path", "app.db"}},
                              {{"from", (dir_ / "j" / "r" / "db" / "CURRENT").string()}}, dir_,
                              dir_ / "j")
                  .has_value());
  EXPECT_FALSE(PathIntoJournal("sqlite", "restore", {{"type", "sqlite"}, {"path", "app.db"}},
                               {{"from", "backups/x.db"}}, dir_, dir_ / "j")
                   .has_value());
}

TEST_F(JournalPathCheckTest, FileTargetPathsResolveAgainstItsRoot) {
  EXPECT_EQ(Problems("  cfg: { type: file, root: j }\n",
                     "  - id: e\n    file: { target: cfg, set_env: { path: .env, values: { A: b "
                     "} } }\n")
                .size(),
            2u);  // the root and the file under it
  EXPECT_TRUE(Problems("  cfg: { type: file, root: config }\n",
                       "  - id: e\n    file: { target: cfg, set_env: { path: j, values: { A: b "
                       "} } }\n")
                  .empty());  // config/j, not the journal
}

TEST_F(JournalPathCheckTest, OtherTargetsPathsAreNotFiles) {
  // An http path is a URL path, not a file.
  EXPECT_TRUE(Problems("  app: { type: http, base_url: \"http://127.0.0.1:1\" }\n",
                       "  - id: h\n    http: { target: app, method: GET, path: /j }\n")
                  .empty());
}

// An adapter's ParamError becomes a diagnostic that names the parameter it is about.
TEST(PlanCheckTest, AParamErrorNamesItsParameter) {
  const std::string text =
      "version: 1\nname: t\ntargets:\n  db: { type: sqlite, path: app.db }\n"
      "  api: { type: http, base_url: ftp://host }\nsteps:\n"
      "  - id: b\n    backup: { target: db }\n"
      "  - id: h\n    http: { target: api, path: /healthz }\n";
  const PlanCheck check = CheckPlanText(text, "plan.yaml", adapters::Registry::Default(),
                                        [](const std::string&) { return std::nullopt; });
  std::vector<std::string> messages;
  for (const plan::Diagnostic& d : check.diagnostics) messages.push_back(d.ToString());
  ASSERT_EQ(messages.size(), 2u);
  // In file order: the target's error, then the step's.
  EXPECT_EQ(messages[0],
            "plan.yaml:5:32: error: expected an http:// or https:// URL (target/base_url)");
  EXPECT_EQ(messages[1], "plan.yaml:8:13: error: is required (params/to)");
}

// CheckPlanText of a plan with one sqlite target `db` and one postgres target `pg`, and the
// steps given (they start on line 7).
PlanCheck CheckSteps(const std::string& steps) {
  const std::string text =
      "version: 1\nname: t\ntargets:\n  db: { type: sqlite, path: app.db }\n"
      "  pg: { type: postgres, dsn: \"host=h dbname=d\" }\nsteps:\n" +
      steps;
  return CheckPlanText(text, "plan.yaml", adapters::Registry::Default(),
                       [](const std::string&) { return std::nullopt; });
}

// The diagnostics of CheckSteps.
std::vector<std::string> CheckMessages(const std::string& steps) {
  const PlanCheck check = CheckSteps(steps);
  std::vector<std::string> messages;
  for (const plan::Diagnostic& d : check.diagnostics) messages.push_back(d.ToString());
  return messages;
}

const std::string kFingerprint(64, 'a');

struct VerifyCase {
  std::string name;
  std::string steps;
  std::vector<std::string> expected;  // every diagnostic, as ToString() writes it
};

void PrintTo(const VerifyCase& c, std::ostream* os) { *os << c.name; }

class VerifyEvaluableTest : public ::testing::TestWithParam<VerifyCase> {};

TEST_P(VerifyEvaluableTest, ChecksThatCouldNeverPassAreRefusedWithTheReason) {
  EXPECT_EQ(CheckMessages(GetParam().steps), GetParam().expected);
}

const VerifyCase kVerifyCases[] = {
    {"LiteralFingerprintWithoutTablesOrBaseline",
     "  - id: v\n    verify: { target: pg, checks: [ { schema: { equals: " + kFingerprint +
         " } } ] }\n",
     {"plan.yaml:8:57: error: the schema check cannot know which tables its fingerprint covers: "
      "name them as the baseline that gave the fingerprint did ('tables: [...]' or 'schema: "
      "NAME' beside 'equals'), or take a baseline of target 'pg' in an earlier step"}},
    {"LiteralFingerprintNamingItsTables",
     "  - id: v\n    verify: { target: pg, checks: [ { schema: { equals: " + kFingerprint +
         ", tables: [orders] } } ] }\n",
     {}},
    {"LiteralFingerprintOfASchema",
     "  - id: v\n    verify: { target: pg, checks: [ { schema: { equals: " + kFingerprint +
         ", schema: public } } ] }\n",
     {}},
    {"LiteralFingerprintWithTheTablesOfABaseline",
     "  - id: b\n    baseline: { target: pg, tables: [orders] }\n"
     "  - id: v\n    verify: { target: pg, checks: [ { schema: { equals: " + kFingerprint +
         " } } ] }\n",
     {}},
    {"FingerprintFromAStepOutputWithoutTables",
     "  - id: q\n    query: { target: pg, sql: SELECT 1 }\n"
     "  - id: v\n    verify: { target: pg, checks: [ { schema: { equals: "
     "\"${steps.q.outputs.value}\" } } ] }\n",
     {"plan.yaml:10:57: error: the schema check cannot know which tables its fingerprint "
      "covers: name them as the baseline that gave the fingerprint did ('tables: [...]' or "
      "'schema: NAME' beside 'equals'), or take a baseline of target 'pg' in an earlier step"}},
    {"BaselineFingerprintWithTables",
     "  - id: b\n    baseline: { target: pg, tables: [orders] }\n"
     "  - id: v\n    verify: { target: pg, checks: [ { schema: { equals: baseline, tables: "
     "[orders] } } ] }\n",
     {"plan.yaml:10:47: error: compares the baseline's own tables; 'tables' and 'schema' go "
      "with a fingerprint written out (params/checks/0/schema)"}},
    {"RowCountOfATableTheBaselineDoesNotTake",
     "  - id: b\n    baseline: { target: db, tables: [orders, users] }\n"
     "  - id: v\n    verify: { target: db, checks: [ { row_count: { table: order, equals: "
     "baseline } } ] }\n",
     {"plan.yaml:10:50: error: 'row_count' compares table 'order' with the baseline of step "
      "'b', which does not take it (tables: orders, users); the check would always fail (did "
      "you mean 'orders'?)"}},
    {"ChecksumOfATableTheBaselineTakes",
     "  - id: b\n    baseline: { target: db, tables: [orders, users] }\n"
     "  - id: v\n    verify: { target: db, checks: [ { checksum: { table: users, equals: "
     "baseline } } ] }\n",
     {}},
    {"BaselineOfASchemaIsKnownOnlyAtRunTime",
     "  - id: b\n    baseline: { target: pg, schema: public }\n"
     "  - id: v\n    verify: { target: pg, checks: [ { row_count: { table: x, equals: "
     "baseline } } ] }\n",
     {}},
    {"MisspelledParameter", "  - id: b\n    backup: { target: db, too: b/ }\n",
     {"plan.yaml:8:13: error: is required (params/to)",
      "plan.yaml:8:32: error: unknown key 'too' (expected to) (params/too) (did you mean "
      "'to'?)"}},
    {"ChecksumOfABaselineThatTakesCountsOnly",
     "  - id: b\n    baseline: { target: db, tables: [users], checksum: false }\n"
     "  - id: v\n    verify: { target: db, checks: [ { checksum: { table: users, equals: "
     "baseline } } ] }\n",
     {"plan.yaml:10:73: error: 'checksum' compares with the baseline of step 'b', which takes "
      "counts only (checksum: false)"}},
    {"MisspelledCheck",
     "  - id: v\n    verify: { target: db, checks: [ { rowcount: { table: t, equals: 1 } } ] }\n",
     {"plan.yaml:8:49: error: unknown check 'rowcount' (expected one of: table_present, "
      "table_absent, row_count, checksum, integrity, query) (params/checks/0/rowcount) (did you "
      "mean 'row_count'?)"}},
};

INSTANTIATE_TEST_SUITE_P(Plans, VerifyEvaluableTest, ::testing::ValuesIn(kVerifyCases),
                         [](const auto& param_info) { return param_info.param.name; });

// What each baseline of a plan (the steps given, as CheckSteps) takes checksums of, in step
// order.
std::vector<nlohmann::json> ChecksumsTaken(const std::string& steps) {
  const PlanCheck check = CheckSteps(steps);
  EXPECT_TRUE(check.ok()) << (check.diagnostics.empty() ? "" : check.diagnostics[0].ToString());
  std::vector<nlohmann::json> taken;
  if (!check.ok()) return taken;
  for (std::size_t i = 0; i < check.plan->steps.size(); ++i) {
    if (check.plan->steps[i].action.kind != "baseline") continue;
    taken.push_back(BaselineChecksums(*check.plan, static_cast<int>(i)));
  }
  return taken;
}

using Taken = std::vector<nlohmann::json>;

TEST(BaselineChecksumsTest, OnlyThoseALaterCheckReadsOrThePlanNames) {
  const std::string baselines =
      "  - id: b\n    baseline: { target: db, tables: [users, orders] }\n"
      "  - id: p\n    baseline: { target: pg, tables: [users, orders] }\n";
  // Counts only: nothing reads a checksum.
  EXPECT_EQ(ChecksumsTaken(baselines +
                           "  - id: v\n    verify: { target: db, checks: [ { row_count: { table: "
                           "users, equals: baseline } } ] }\n"
                           "  - id: q\n    query: { target: pg, sql: \"SELECT ${sql:steps.p."
                           "outputs.tables.users.rows}\" }\n"),
            (Taken{false, false}));
  // A checksum check on the baseline's target, in a step's check too, reads its table's; a
  // reference reads the checksum it names, or all below where it stops.
  EXPECT_EQ(ChecksumsTaken(baselines +
                           "  - id: s\n    sql: { target: db, script: SELECT 1 }\n"
                           "    check: { verify: { target: db, checks: [ { checksum: { table: "
                           "users, equals: baseline } } ] } }\n"
                           "  - id: q\n    query: { target: db, sql: \"SELECT ${sql:steps.b."
                           "outputs.tables.orders.checksum}, ${sql:steps.p.outputs.tables.users}"
                           "\" }\n"),
            (Taken{{"orders", "users"}, true}));
  // A later baseline of the target is the one a verify compares with.
  EXPECT_EQ(ChecksumsTaken(baselines +
                           "  - id: b2\n    baseline: { target: db, tables: [users] }\n"
                           "  - id: v\n    verify: { target: db, checks: [ { checksum: { table: "
                           "users, equals: baseline } } ] }\n"),
            (Taken{false, false, {"users"}}));
  // As the plan says.
  EXPECT_EQ(ChecksumsTaken("  - id: b\n    baseline: { target: db, tables: [users], checksum: "
                           "true }\n"
                           "  - id: p\n    baseline: { target: pg, tables: [users], checksum: "
                           "false }\n"
                           "  - id: q\n    query: { target: db, sql: \"SELECT ${sql:steps.p."
                           "outputs.tables.users.checksum}\" }\n"),
            (Taken{true, false}));
}

}  // namespace
}  // namespace backout::engine
