// `backout plan` (and `run --dry-run`) on the real binary: every example plan previews with
// exit 0, every step listed in order, the SQL of `file:` scripts shown, no secret printed,
// the JSON as docs/plan-preview.schema.json documents it, failure paths from the state
// machine, the locks the postgres adapter takes; a bad plan exits 2 with file:line:col.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "testing/temp_dir.h"
#include "tests/support/example.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Secret values in every variable the example plans use: none may appear in a preview.
const std::map<std::string, std::string> kSecretEnv = {
    {"DATABASE_URL", "postgresql://backout:Pg-S3cret-Passw0rd@127.0.0.1:1/app"},
    {"APP_URL", "http://app-S3cret-host.invalid:8080"},
    {"DYNAMO_ENDPOINT", "http://dynamo-S3cret-host.invalid:8000"},
    {"ADMIN_TOKEN", "Admin-S3cret-Token-123"},
    {"WEBHOOK_URL", "http://hook-S3cret-host.invalid/hook"},
    {"BACKUP_FILE", "backups/chosen.db"},
    {"EMERGENCY_DUMP_URL", "s3://backups/emergency/app.dump"},
    {"EMERGENCY_DUMP_SHA256", std::string(64, 'e')},
};
const std::vector<std::string> kSecretParts = {"Pg-S3cret-Passw0rd", "app-S3cret-host",
                                               "dynamo-S3cret-host", "Admin-S3cret-Token",
                                               "hook-S3cret-host"};

std::vector<fs::path> ExamplePlans() {
  std::vector<fs::path> plans;
  for (const auto& dir : fs::directory_iterator(SourceDir() / "examples")) {
    if (!dir.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(dir.path())) {
      // NAME.test.yaml beside a plan is its `backout test` spec (docs/plan-tests.md).
      const bool spec = file.path().filename().string().ends_with(".test.yaml");
      if (file.path().extension() == ".yaml" && !spec) plans.push_back(file.path());
    }
  }
  std::sort(plans.begin(), plans.end());
  return plans;
}

// The step ids of a plan, in order, read from its text (`- id: NAME` under steps:).
std::vector<std::string> StepIds(const fs::path& plan) {
  const std::string text = ReadFile(plan);
  const std::regex id_line(R"(\n  - id: ([A-Za-z0-9_.-]+))");
  std::vector<std::string> ids;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), id_line);
       it != std::sregex_iterator(); ++it) {
    ids.push_back((*it)[1]);
  }
  return ids;
}

class PlanPreview : public ::testing::Test {
 protected:
  ProcessResult Backout(const std::vector<std::string>& args, const fs::path& cwd,
                        std::map<std::string, std::string> env = kSecretEnv) {
    ProcessSpec spec;
    spec.argv = {BackoutBinary().string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    env["BACKOUT_JOURNAL"] = (tmp_.path() / "journal").string();
    spec.env = std::move(env);
    spec.cwd = cwd;
    return RunProcess(spec);
  }

  json PreviewJson(const fs::path& plan) {
    const ProcessResult r = Backout({"plan", plan.filename().string(), "--json"},
                                    plan.parent_path());
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    return json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  }

  static const json& StepOf(const json& preview, const std::string& id) {
    for (const json& step : preview["steps"]) {
      if (step["id"] == id) return step;
    }
    static const json kNone;
    ADD_FAILURE() << "no step " << id;
    return kNone;
  }

  TempDir tmp_;
};

TEST_F(PlanPreview, EveryExamplePlanListsEveryStepInOrderAndNoSecret) {
  const std::vector<fs::path> plans = ExamplePlans();
  ASSERT_GE(plans.size(), 8U);
  std::vector<std::string> json_files;
  for (const fs::path& plan : plans) {
    SCOPED_TRACE(plan.string());
    const std::vector<std::string> ids = StepIds(plan);
    ASSERT_FALSE(ids.empty());
    const ProcessResult text = Backout({"plan", plan.filename().string()}, plan.parent_path());
    ASSERT_EQ(text.exit_code, 0) << Show(text);
    std::size_t at = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::string heading = std::to_string(i + 1) + ". " + ids[i] + ": ";
      const std::size_t found = text.out.find(heading, at);
      ASSERT_NE(found, std::string::npos) << heading << "\n" << text.out;
      at = found;
    }
    EXPECT_NE(text.out.find("if it fails: "), std::string::npos);

    const ProcessResult js = Backout({"plan", plan.filename().string(), "--json"},
                                     plan.parent_path());
    ASSERT_EQ(js.exit_code, 0) << Show(js);
    const json preview = json::parse(js.out, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(preview.is_discarded()) << js.out;
    ASSERT_EQ(preview["steps"].size(), ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(preview["steps"][i]["id"], ids[i]);
    const fs::path json_file = tmp_.path() / (plan.parent_path().filename().string() + "-" +
                                              plan.stem().string() + ".json");
    WriteFile(json_file, js.out);
    json_files.push_back(json_file.string());

    // `run --dry-run` prints the same preview, and creates no run.
    const ProcessResult dry = Backout({"run", plan.filename().string(), "--dry-run"},
                                      plan.parent_path());
    EXPECT_EQ(dry.exit_code, 0) << Show(dry);
    EXPECT_EQ(dry.out, text.out);

    for (const std::string& secret : kSecretParts) {
      for (const ProcessResult* r : {&text, &js, &dry}) {
        EXPECT_EQ((r->out + r->err).find(secret), std::string::npos) << secret << "\n" << Show(*r);
      }
    }
  }
  EXPECT_FALSE(fs::exists(tmp_.path() / "journal")) << "a preview created a journal";

  // Every preview has the documented fields, and only those.
  ProcessSpec check;
  check.argv = {BACKOUT_PYTHON3, (SourceDir() / "tests" / "report_schema_check.py").string(),
                (SourceDir() / "docs" / "plan-preview.schema.json").string()};
  check.argv.insert(check.argv.end(), json_files.begin(), json_files.end());
  const ProcessResult schema = RunProcess(check);
  EXPECT_EQ(schema.exit_code, 0) << "a preview does not match docs/plan-preview.schema.json\n"
                                 << Show(schema);
}

TEST_F(PlanPreview, ShowsTheSqlOfAFileScript) {
  const fs::path plan = SourceDir() / "examples" / "pg-emergency-rollback" / "plan.yaml";
  const ProcessResult r = Backout({"plan", "plan.yaml"}, plan.parent_path());
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const std::string script = ReadFile(plan.parent_path() / "rollback.sql");
  // Every non-empty line of the script, in the text form.
  std::istringstream lines(script);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) {
      EXPECT_NE(r.out.find(line), std::string::npos) << line;
    }
  }
  const json preview = PreviewJson(plan);
  bool shown = false;
  for (const json& detail : StepOf(preview, "rollback")["action"]["details"]) {
    if (detail["label"] == "sql") shown = detail["value"] == script;
  }
  EXPECT_TRUE(shown) << StepOf(preview, "rollback").dump(2);
}

TEST_F(PlanPreview, MarksGatesAlwaysStepsAndFailurePathsFromTheStateMachine) {
  const fs::path plan = SourceDir() / "examples" / "media-rollback" / "plan.yaml";
  const json preview = PreviewJson(plan);
  const json& gate = StepOf(preview, "confirm");
  EXPECT_TRUE(gate["point_of_no_return"]);
  EXPECT_EQ(gate["action"]["effect"], "asks_approval");
  EXPECT_EQ(gate["if_not_approved"]["paused_at"], (json{{"reason", "approval"}, {"step", "confirm"}}));
  EXPECT_EQ(gate["if_not_approved"]["after_abort"]["final_status"], "aborted");
  EXPECT_EQ(gate["if_not_approved"]["after_abort"]["always_run"], json::array({"start-app"}));
  EXPECT_TRUE(StepOf(preview, "start-app")["always"]);

  const json& drop = StepOf(preview, "drop-media");
  EXPECT_EQ(drop["if_fails"]["final_status"], "failed");
  EXPECT_EQ(drop["if_fails"]["always_run"], json::array({"start-app"}));
  EXPECT_EQ(drop["if_fails"]["skipped"], json::array({"record-rollback", "verify"}));
  EXPECT_EQ(preview["if_all_succeed"]["final_status"], "succeeded");

  EXPECT_EQ(StepOf(preview, "stop-app")["in_doubt"], "check_decides");
  EXPECT_EQ(StepOf(preview, "baseline")["action"]["effect"], "reads_only");

  const ProcessResult text = Backout({"plan", "plan.yaml"}, plan.parent_path());
  EXPECT_NE(text.out.find("POINT OF NO RETURN"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("if not approved: pauses at confirm (approval); then on abort: "),
            std::string::npos)
      << text.out;
}

TEST_F(PlanPreview, PostgresTableRestoreLocksAndRunTimeValues) {
  const fs::path plan = SourceDir() / "examples" / "pg-consolidation-rollback" / "plan-tables.yaml";
  const json preview = PreviewJson(plan);
  const json& restore = StepOf(preview, "restore-tables");
  ASSERT_TRUE(restore["action"]["locks"].is_array());
  bool exclusive = false;
  for (const json& lock : restore["action"]["locks"]) {
    exclusive |= lock.get<std::string>().find("ACCESS EXCLUSIVE on media, local_classes") !=
                 std::string::npos;
  }
  EXPECT_TRUE(exclusive) << restore["action"].dump(2);
  EXPECT_EQ(restore["in_doubt"], "runs_again");
  EXPECT_EQ(restore["if_fails"]["paused_at"], (json{{"reason", "step_failed"}, {"step", "restore-tables"}}));

  const json& verify = StepOf(preview, "verify");
  EXPECT_EQ(verify["action"]["baseline_step"], "baseline");
  EXPECT_EQ(verify["run_time_values"][0]["step"], "pre-migration-media");
  EXPECT_EQ(verify["run_time_values"][0]["output"], "value");

  const ProcessResult text = Backout({"plan", "plan-tables.yaml"}, plan.parent_path());
  EXPECT_NE(text.out.find("known at run time, from step pre-migration-media output value"),
            std::string::npos)
      << text.out;
}

TEST_F(PlanPreview, RestoreSourceSizeAndSha256WhenTheFileExists) {
  const std::string content = "not really a database, but a file to hash";
  WriteFile(tmp_.path() / "pre.db", content);
  WriteFile(tmp_.path() / "plan.yaml", R"(version: 1
name: restore-preview
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: restore
    restore: { target: db, from: pre.db }
  - id: restore-missing
    restore: { target: db, from: missing.db }
)");
  const json preview = PreviewJson(tmp_.path() / "plan.yaml");
  const json& source = StepOf(preview, "restore")["action"]["details"][0]["value"];
  EXPECT_EQ(source["path"], "pre.db");
  EXPECT_EQ(source["bytes"], content.size());
  EXPECT_EQ(source["sha256"].get<std::string>().size(), 64U);
  const json& missing = StepOf(preview, "restore-missing")["action"]["details"][0]["value"];
  EXPECT_TRUE(missing.contains("unreadable")) << missing.dump();
}

TEST_F(PlanPreview, OutputFileIsPrivateAndHoldsThePreview) {
  const fs::path plan = SourceDir() / "examples" / "media-rollback" / "plan.yaml";
  const fs::path out = tmp_.path() / "preview.json";
  const ProcessResult r = Backout({"plan", "plan.yaml", "--json", "-o", out.string()},
                                  plan.parent_path());
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(r.out, "");
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  EXPECT_EQ(ReadFile(out), Backout({"plan", "plan.yaml", "--json"}, plan.parent_path()).out);

  const ProcessResult unwritable = Backout(
      {"plan", "plan.yaml", "-o", (tmp_.path() / "no" / "such" / "dir" / "x").string()},
      plan.parent_path());
  EXPECT_EQ(unwritable.exit_code, 2) << Show(unwritable);
}

TEST_F(PlanPreview, ABadPlanExits2WithFileLineAndColumn) {
  WriteFile(tmp_.path() / "bad.yaml", R"(version: 1
name: bad
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: one
    sqll: { target: db, script: "SELECT 1" }
)");
  const ProcessResult r = Backout({"plan", "bad.yaml"}, tmp_.path());
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(bad\.yaml:[0-9]+:[0-9]+: error)"))) << Show(r);
  EXPECT_EQ(r.out, "");

  const ProcessResult missing_var = Backout({"plan", "plan.yaml"},
                                            SourceDir() / "examples" / "pg-emergency-rollback",
                                            {});
  EXPECT_EQ(missing_var.exit_code, 2) << Show(missing_var);
}

}  // namespace
}  // namespace backout::testing
