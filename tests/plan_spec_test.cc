// `backout test` and `validate --json` on the real binary. Every example plan's spec
// (examples/*/NAME.test.yaml) holds, in an empty environment (no variable, no secret, no
// target), with a well-formed JUnit report; an expectation that does not hold is exit 1
// naming it; a bad spec is exit 2 with file:line:col; `validate --json` says where each error
// is, without --connect too.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "testing/temp_dir.h"
#include "tests/support/example.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Every plan of examples/ (not the specs).
std::vector<fs::path> ExamplePlans() {
  std::vector<fs::path> plans;
  for (const auto& dir : fs::directory_iterator(SourceDir() / "examples")) {
    if (!dir.is_directory()) continue;
    for (const auto& file : fs::directory_iterator(dir.path())) {
      const std::string name = file.path().filename().string();
      if (file.path().extension() == ".yaml" && !name.ends_with(".test.yaml")) {
        plans.push_back(file.path());
      }
    }
  }
  std::sort(plans.begin(), plans.end());
  return plans;
}

fs::path SpecOf(const fs::path& plan) {
  return plan.parent_path() / (plan.stem().string() + ".test.yaml");
}

// The binary with an empty environment: what a CI job without any secret has.
ProcessResult BackoutBare(const std::vector<std::string>& args) {
  ProcessSpec spec;
  spec.argv = {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", BackoutBinary().string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  return RunProcess(spec);
}

// [testcases, failures] of a JUnit file, parsed by Python's XML parser (so: well-formed).
std::pair<int, int> JUnitCounts(const fs::path& file) {
  const ProcessResult r = RunProcess(ProcessSpec{
      .argv = {BACKOUT_PYTHON3, "-c",
               "import sys, xml.etree.ElementTree as E\n"
               "root = E.parse(sys.argv[1]).getroot()\n"
               "assert root.tag == 'testsuites', root.tag\n"
               "print(len(root.findall('.//testcase')), len(root.findall('.//failure')))\n",
               file.string()},
      .env = {},
      .cwd = {},
      .stdin_text = ""});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  int cases = -1, failures = -1;
  std::sscanf(r.out.c_str(), "%d %d", &cases, &failures);
  return {cases, failures};
}

TEST(PlanTest, EveryExamplePlanHasASpecThatHolds) {
  const std::vector<fs::path> plans = ExamplePlans();
  ASSERT_GE(plans.size(), 8u);
  TempDir dir;
  for (const fs::path& plan : plans) {
    SCOPED_TRACE(plan.string());
    ASSERT_TRUE(fs::exists(SpecOf(plan))) << "every example plan needs its spec";
    const fs::path junit = dir.path() / (plan.stem().string() + ".xml");
    const ProcessResult r = BackoutBare(
        {"test", plan.string(), SpecOf(plan).string(), "--junit", junit.string()});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    EXPECT_TRUE(Contains(r.out, "passed, 0 failed")) << Show(r);
    const auto [cases, failures] = JUnitCounts(junit);
    EXPECT_GE(cases, 5);
    EXPECT_EQ(failures, 0);
  }
}

TEST(PlanTest, BuiltinScenariosRunOnEveryExampleWithoutItsVariables) {
  for (const fs::path& plan : ExamplePlans()) {
    SCOPED_TRACE(plan.string());
    const ProcessResult r = BackoutBare({"test", plan.string(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << Show(r);
    const json out = json::parse(r.out);
    EXPECT_EQ(out["ok"], true);
    EXPECT_EQ(out["spec"], nullptr);
    EXPECT_EQ(out["failed"], 0);
    ASSERT_GT(out["results"].size(), 4u);
    EXPECT_EQ(out["results"][0]["name"], "everything succeeds");
    EXPECT_EQ(out["results"][0]["path"]["final_status"], "succeeded");
    if (Contains(ReadFile(plan), "${DATABASE_URL}")) {
      const json& unset = out["unset_variables"];
      EXPECT_NE(std::find(unset.begin(), unset.end(), "DATABASE_URL"), unset.end()) << unset;
    }
  }
}

const fs::path kMediaPlan = SourceDir() / "examples" / "media-rollback" / "plan.yaml";

TEST(PlanTest, AnExpectationThatDoesNotHoldIsExit1NamingIt) {
  TempDir dir;
  const fs::path spec = dir.path() / "wrong.test.yaml";
  WriteFile(spec, R"(scenarios:
  - name: the backup fails
    when: { fails: backup }
    expect: { status: succeeded, runs: [drop-media] }
  - name: holds
    when: { fails: backup }
    expect: { status: failed }
)");
  const fs::path junit = dir.path() / "junit.xml";
  const ProcessResult r =
      BackoutBare({"test", kMediaPlan.string(), spec.string(), "--junit", junit.string()});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  EXPECT_TRUE(Contains(r.out, "FAIL the backup fails\n"
                              "     - expected status succeeded, the run ends failed\n"
                              "     - expected drop-media to run; it did not (skipped)"))
      << Show(r);
  EXPECT_TRUE(Contains(r.out, "ok   holds\n")) << Show(r);
  EXPECT_TRUE(Contains(r.out, "2 scenarios, 1 passed, 1 failed")) << Show(r);
  EXPECT_EQ(JUnitCounts(junit), std::make_pair(2, 1));
  EXPECT_TRUE(Contains(ReadFile(junit),
                       "message=\"expected status succeeded, the run ends failed\""));

  const ProcessResult json_run = BackoutBare({"test", kMediaPlan.string(), spec.string(), "--json"});
  EXPECT_EQ(json_run.exit_code, 1) << Show(json_run);
  const json out = json::parse(json_run.out);
  EXPECT_EQ(out["ok"], false);
  EXPECT_EQ(out["failed"], 1);
  EXPECT_EQ(out["results"][0]["failures"].size(), 2u);
  EXPECT_EQ(out["results"][0]["path"]["final_status"], "failed");
}

TEST(PlanTest, ABadSpecIsExit2WithItsPosition) {
  TempDir dir;
  const fs::path spec = dir.path() / "bad.test.yaml";
  WriteFile(spec, "scenarios:\n  - name: typo\n    when: { fails: drop-meda }\n"
                  "    expect: { status: failed }\n");
  const ProcessResult r = BackoutBare({"test", kMediaPlan.string(), spec.string()});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, spec.string() + ":3:20: error: 'fails' names step 'drop-meda', "
                                              "which the plan does not have (did you mean "
                                              "'drop-media'?)"))
      << Show(r);
  const ProcessResult bad_plan = BackoutBare(
      {"test", (SourceDir() / "tests" / "data" / "malformed" / "misspelled-output.yaml").string()});
  EXPECT_EQ(bad_plan.exit_code, 2) << Show(bad_plan);
  EXPECT_TRUE(Contains(bad_plan.err, "misspelled-output.yaml:10:38: error:")) << Show(bad_plan);
}

TEST(ValidateJson, WithoutConnectSaysThePlanOrWhereEachErrorIs) {
  const ProcessResult ok = BackoutBare({"validate", "--json", kMediaPlan.string()});
  EXPECT_EQ(ok.exit_code, 0) << Show(ok);
  const json good = json::parse(ok.out);
  EXPECT_EQ(good["ok"], true);
  EXPECT_EQ(good["plan"]["name"], "media-unification-rollback");
  EXPECT_EQ(good["plan"]["steps"].size(), 8u);
  EXPECT_EQ(good["plan"]["steps"][0], "stop-app");
  EXPECT_EQ(good["errors"], json::array());
  EXPECT_FALSE(good.contains("findings"));  // only with --connect

  const fs::path bad_file = SourceDir() / "tests" / "data" / "malformed" / "misspelled-output.yaml";
  const ProcessResult bad = BackoutBare({"validate", "--json", bad_file.string()});
  EXPECT_EQ(bad.exit_code, 2) << Show(bad);
  const json parsed = json::parse(bad.out);
  EXPECT_EQ(parsed["ok"], false);
  EXPECT_EQ(parsed["plan"], nullptr);
  ASSERT_EQ(parsed["errors"].size(), 1u) << bad.out;
  const json& error = parsed["errors"][0];
  EXPECT_EQ(error["file"], bad_file.string());
  EXPECT_EQ(error["line"], 10);
  EXPECT_EQ(error["col"], 38);
  EXPECT_TRUE(Contains(error["message"].get<std::string>(), "step 'backup' has no output 'paht'"));
  EXPECT_EQ(error["hint"], "did you mean 'path'?");

  const ProcessResult missing = BackoutBare({"validate", "--json", "/nonexistent/plan.yaml"});
  EXPECT_EQ(missing.exit_code, 2) << Show(missing);
  const json none = json::parse(missing.out);
  EXPECT_EQ(none["errors"][0]["line"], nullptr);
  EXPECT_EQ(none["errors"][0]["hint"], nullptr);
}

TEST(ValidateJson, WithConnectABadPlanIsReportedWithoutFindings) {
  const fs::path bad_file = SourceDir() / "tests" / "data" / "malformed" / "unknown-target.yaml";
  const ProcessResult r = BackoutBare({"validate", "--connect", "--json", bad_file.string()});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  const json parsed = json::parse(r.out);
  EXPECT_EQ(parsed["ok"], false);
  EXPECT_EQ(parsed["findings"], json::array());
  EXPECT_EQ(parsed["errors"][0]["line"], 10);
}

}  // namespace
}  // namespace backout::testing
