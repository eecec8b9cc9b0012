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

}  // namespace
}  // namespace backout::engine
