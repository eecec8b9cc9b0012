// Seed 001 end to end: examples/dynamodb-to-file-rollback run by the real binary against a
// real dynalite (the DynamoDB tables) and the scripted HTTP server (the application's admin
// API and health check, and the chat webhook), one of each for the whole test binary.
// Checked: the final state of every target read directly, the journal, the report, the
// failures the issue names (a 500 from the health check, an unreachable endpoint, a
// malformed env file), that no secret leaks, and the crash matrix over the plan.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "tests/support/crash_matrix.h"
#include "tests/support/dynamo_server.h"
#include "tests/support/example.h"
#include "tests/support/http_server.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kExample = "dynamodb-to-file-rollback";
constexpr int kRows = 20;
constexpr int kNewParticipants = 2;  // registered in DynamoDB after the migration: kRows / 10
constexpr const char* kApprove = "--approve=confirm=ROLLBACK_TO_FILE";
constexpr const char* kHookPath = "/hooks/rollback-channel";
// Secrets: the admin API token (a header marked secret), and the one in the generated .env.
constexpr const char* kAdminToken = "admin-token-8c1e5a9f3b";
constexpr const char* kEnvSecret = "s3ss10n-4f1c9d2b7e";
const std::vector<std::string> kCollections = {"users", "events", "talks", "participants"};
const std::vector<std::string> kSteps = {
    "check-snapshot", "maintenance-on",     "stop-app",      "final-backup",
    "confirm",        "save-current-files", "restore-files", "flip-database-type",
    "start-app",      "health-check",       "verify-files",  "maintenance-off",
    "notify"};

std::string Table(const std::string& collection) { return "lightningtalk-circle-" + collection; }

// "relative/path sha256" for every regular file under `dir`, sorted: its complete content.
std::string Tree(const fs::path& dir) {
  if (!fs::exists(dir)) return "(missing)\n";
  std::vector<std::string> lines;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) {
      if (!entry.is_directory()) lines.push_back(entry.path().string() + " (not a file)");
      continue;
    }
    Result<FileDigest> digest = Sha256File(entry.path());
    lines.push_back(fs::relative(entry.path(), dir).string() + " " +
                    (digest.ok() ? digest->sha256_hex : digest.status().ToString()));
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

std::vector<std::string> Entries(const fs::path& dir) {
  std::vector<std::string> names;
  if (fs::exists(dir)) {
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

json ParseLines(const std::string& text) {
  json lines = json::array();
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

class DynamoToFileRollback : public ::testing::Test {
 protected:
  // One dynalite and one HTTP server for every test of the binary.
  static void SetUpTestSuite() {
    Result<std::unique_ptr<DynamoServer>> dynamo = DynamoServer::Start();
    ASSERT_TRUE(dynamo.ok()) << dynamo.status().ToString();
    Result<std::unique_ptr<HttpServer>> app = HttpServer::Start();
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    dynamo_ = std::move(*dynamo).release();
    app_ = std::move(*app).release();
  }
  static void TearDownTestSuite() {
    delete dynamo_;
    delete app_;
    dynamo_ = nullptr;
    app_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(dynamo_, nullptr);
    ASSERT_NE(app_, nullptr);
  }

  // For generate.sh and every backout call.
  static std::map<std::string, std::string> ScenarioEnv() {
    return {{"DYNAMO_ENDPOINT", dynamo_->endpoint()},
            {"AWS_ACCESS_KEY_ID", kTestAccessKeyId},
            {"AWS_SECRET_ACCESS_KEY", kTestSecretAccessKey},
            {"APP_URL", app_->base_url()},
            {"ADMIN_TOKEN", kAdminToken},
            {"WEBHOOK_URL", app_->base_url() + kHookPath}};
  }

  // The application's requests (generate.sh forgets the earlier ones) with this method and path.
  static std::vector<json> Requests(const std::string& method, const std::string& path) {
    Result<json> recorded = app_->Recorded();
    EXPECT_TRUE(recorded.ok()) << recorded.status().ToString();
    std::vector<json> found;
    if (!recorded.ok()) return found;
    for (const json& request : *recorded) {
      if (request["method"] == method && request["path"] == path) found.push_back(request);
    }
    return found;
  }

  static json ServerState() {
    Result<json> state = app_->State();
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    return state.ok() ? *state : json::object();
  }

  // The text of the one notification the webhook got.
  static std::string Notification() {
    const std::vector<json> hooks = Requests("POST", kHookPath);
    EXPECT_EQ(hooks.size(), 1u) << "the webhook must get exactly one notification";
    return hooks.empty() ? ""
                         : json::parse(hooks.back()["body"].get<std::string>()).value("text", "");
  }

  // Every target the plan changes, as a comparable text. Backup folders are named by time
  // and attempt, so they appear by content only.
  static std::string EndState(const Example& ex) {
    std::string state = "top level:";
    for (const std::string& name : Entries(ex.dir())) {
      if (name != "journal") state += " " + name;
    }
    state += "\ndata/\n" + Tree(ex.dir() / "data");
    state += "dynamodb-exports/\n" + Tree(ex.dir() / "dynamodb-exports");
    state += "migration-backups/\n" + Tree(ex.dir() / "migration-backups");
    for (const std::string& backup : Entries(ex.dir() / "backups")) {
      state += "a backup\n" + Tree(ex.dir() / "backups" / backup);
    }
    const auto env_mode = static_cast<unsigned>(fs::status(ex.dir() / ".env").permissions());
    state += fmt::format(".env (mode {:o})\n", env_mode) + ReadFile(ex.dir() / ".env");
    state += "app.state: " + ReadFile(ex.dir() / "app.state");
    state += "app.log:\n" + ReadFile(ex.dir() / "app.log");
    state += "maintenance: " + ServerState().value("maintenance", json()).dump() + "\n";
    return state;
  }

  static json StatusOf(const Example& ex, const std::string& run_id) {
    const ProcessResult status = ex.Backout({"status", run_id, "--json"});
    EXPECT_EQ(status.exit_code, 0) << Show(status);
    return json::parse(status.out, nullptr, /*allow_exceptions=*/false);
  }

  static json StepOf(const json& status, const std::string& id) {
    for (const json& step : status.value("steps", json::array())) {
      if (step["id"] == id) return step;
    }
    ADD_FAILURE() << "no step " << id << " in " << status.dump();
    return json::object();
  }

  // The journaled StepFailed of `step`: exactly one, with its error message.
  static std::string JournaledFailure(const Example& ex, const std::string& run_id,
                                      const std::string& step) {
    const std::vector<json> failed = EventsOfType(Events(ex, run_id), "StepFailed", step);
    EXPECT_EQ(failed.size(), 1u) << "StepFailed events of " << step << ":\n" << json(failed);
    return failed.empty() ? "" : failed.front()["payload"]["error"].get<std::string>();
  }

  // No secret in the journal folder (logs included), the exports, backups and store, the
  // report in every format, the exported journal, the recorded notification or `outputs`.
  static void ExpectNoSecrets(const Example& ex, const std::string& run_id,
                              std::vector<std::string> outputs) {
    // The secrets are real in this scenario: a leak would be seen.
    ASSERT_TRUE(Contains(ReadFile(ex.dir() / ".env"), kEnvSecret));
    ASSERT_EQ(ScenarioEnv().at("AWS_SECRET_ACCESS_KEY"), kTestSecretAccessKey);
    for (const std::string format : {"md", "html", "json"}) {
      const ProcessResult report = ex.Backout({"report", run_id, "--format", format});
      EXPECT_EQ(report.exit_code, 0) << Show(report);
      outputs.push_back(report.out + report.err);
    }
    for (const std::vector<std::string>& args : {std::vector<std::string>{"export", run_id},
                                                 {"events", run_id, "--json"},
                                                 {"status", run_id, "--json"}}) {
      const ProcessResult r = ex.Backout(args);
      outputs.push_back(r.out + r.err);
    }
    for (const json& hook : Requests("POST", kHookPath))
      outputs.push_back(hook["body"].get<std::string>());
    for (const char* dir : {"journal", "dynamodb-exports", "backups", "data"}) {
      if (!fs::exists(ex.dir() / dir)) continue;
      for (const auto& entry : fs::recursive_directory_iterator(ex.dir() / dir)) {
        if (entry.is_regular_file()) outputs.push_back(ReadFile(entry.path()));
      }
    }
    for (const std::string secret : {kTestSecretAccessKey, kAdminToken, kEnvSecret}) {
      for (const std::string& text : outputs) {
        ASSERT_FALSE(Contains(text, secret)) << "secret " << secret << " leaked into:\n"
                                             << text.substr(0, 2000);
      }
    }
  }

  static CrashScenario Scenario() {
    return CrashScenario{
        .example = kExample,
        .rows = kRows,
        .env = ScenarioEnv(),
        .run_args = {kApprove},
        .resume_args = {kApprove},
        .end_state = EndState,
        // app.log (one stop, one start) is part of the end state. The http steps are
        // idempotent by declaration; a kill right after an append never lands between an
        // effect and its outcome, so every request still goes out exactly once.
        .exactly_once =
            [](const Example&, const std::string& label) {
              EXPECT_EQ(Requests("POST", "/admin/maintenance").size(), 1u) << label;
              EXPECT_EQ(Requests("DELETE", "/admin/maintenance").size(), 1u) << label;
              EXPECT_EQ(ServerState().value("maintenance_changes", -1), 2) << label;
              EXPECT_TRUE(Contains(Notification(), "failed steps: none")) << label;
            },
        .min_appends = 25,
    };
  }

  static DynamoServer* dynamo_;
  static HttpServer* app_;
};
DynamoServer* DynamoToFileRollback::dynamo_ = nullptr;
HttpServer* DynamoToFileRollback::app_ = nullptr;

// The runbook as an operator runs it from a script: the run stops at the approval with the
// application in maintenance, stopped, and DynamoDB exported, and nothing else changed; after
// approve and resume every target is in its final state.
TEST_F(DynamoToFileRollback, RunsEndToEndThroughTheApprovalGate) {
  Example ex(kExample, kRows, ScenarioEnv());
  const std::string data_before = Tree(ex.dir() / "data");
  const std::string env_before = ReadFile(ex.dir() / ".env");

  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 3) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_TRUE(Contains(run.out, "backout approve " + run_id + " confirm --phrase ROLLBACK_TO_FILE"))
      << run.out;
  EXPECT_EQ(ServerState()["maintenance"], true);
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), "stopped\n");
  EXPECT_EQ(Tree(ex.dir() / "data"), data_before) << "nothing is restored before the approval";
  EXPECT_EQ(ReadFile(ex.dir() / ".env"), env_before);
  EXPECT_EQ(Entries(ex.dir() / "dynamodb-exports").size(), kCollections.size());

  const ProcessResult approve =
      ex.Backout({"approve", run_id, "confirm", "--phrase", "ROLLBACK_TO_FILE"});
  ASSERT_EQ(approve.exit_code, 0) << Show(approve);
  const ProcessResult resume = ex.Backout({"resume", run_id});
  ASSERT_EQ(resume.exit_code, 0) << Show(resume);
  EXPECT_TRUE(Contains(resume.out, "run " + run_id + " succeeded")) << resume.out;

  // The final backup: every table whole, as journaled, holding every item DynamoDB had
  // (the migrated records and the participants registered since).
  const json status = StatusOf(ex, run_id);
  EXPECT_EQ(status["status"], "succeeded");
  const json exported = StepOf(status, "final-backup")["outputs"]["files"];
  for (const std::string& collection : kCollections) {
    SCOPED_TRACE(collection);
    const json& file = exported[Table(collection)];
    const fs::path path = ex.dir() / "dynamodb-exports" / (Table(collection) + ".jsonl");
    EXPECT_EQ(file["path"], fs::canonical(path).string());
    Result<FileDigest> digest = Sha256File(path);
    ASSERT_TRUE(digest.ok()) << digest.status().ToString();
    EXPECT_EQ(file["sha256"], digest->sha256_hex);
    std::set<std::string> ids;
    for (const json& line : ParseLines(ReadFile(path)))
      ids.insert(line["Item"]["id"]["S"].get<std::string>());
    std::set<std::string> expected;
    for (const json& record : json::parse(
             ReadFile(ex.dir() / "migration-backups/pre-dynamodb" / (collection + ".json")))) {
      expected.insert(record["id"].get<std::string>());
    }
    if (collection == "participants") {
      for (int i = kRows + 1; i <= kRows + kNewParticipants; ++i) {
        expected.insert(fmt::format("participant-{:05d}", i));
      }
    }
    EXPECT_EQ(ids, expected);
    EXPECT_EQ(file["items"], expected.size());
  }

  // The file database is the snapshot again; what the migration left is kept in backups/.
  EXPECT_EQ(Tree(ex.dir() / "data"), Tree(ex.dir() / "migration-backups/pre-dynamodb"));
  EXPECT_FALSE(fs::exists(ex.dir() / "data/dynamo_sync_state.json"));
  const std::vector<std::string> backups = Entries(ex.dir() / "backups");
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(Tree(ex.dir() / "backups" / backups[0]), data_before);
  for (const std::string& name : Entries(ex.dir())) {
    EXPECT_FALSE(Contains(name, "backout") || Contains(name, ".partial"))
        << name << ": a temp file or staging folder was left behind";
  }

  // .env: DATABASE_TYPE flipped, every other byte and the mode kept.
  std::string env_expected = env_before;
  const std::string from = "\nDATABASE_TYPE=dynamodb\n";
  ASSERT_NE(env_expected.find(from), std::string::npos);
  env_expected.replace(env_expected.find(from), from.size(), "\nDATABASE_TYPE=file\n");
  EXPECT_EQ(ReadFile(ex.dir() / ".env"), env_expected);
  EXPECT_EQ(fs::status(ex.dir() / ".env").permissions(),
            fs::perms::owner_read | fs::perms::owner_write);

  // The application: restarted on the file database, health-checked, out of maintenance.
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), "running database=file\n");
  EXPECT_EQ(ReadFile(ex.dir() / "app.log"), "start database=dynamodb\nstop\nstart database=file\n");
  EXPECT_GE(Requests("GET", "/healthz").size(), 1u);
  EXPECT_EQ(StepOf(status, "health-check")["outputs"]["json"]["status"], "healthy");
  const std::vector<json> on = Requests("POST", "/admin/maintenance");
  ASSERT_EQ(on.size(), 1u);
  EXPECT_EQ(on[0]["headers"]["x-admin-token"], kAdminToken) << "the secret header was sent";
  EXPECT_EQ(Requests("DELETE", "/admin/maintenance").size(), 1u);
  EXPECT_EQ(ServerState()["maintenance"], false);
  EXPECT_EQ(StepOf(status, "verify-files")["outputs"]["failed"], 0);
  EXPECT_EQ(StepOf(status, "verify-files")["outputs"]["passed"], 10);

  const std::string message = Notification();
  EXPECT_TRUE(Contains(message, "[INC-3107] dynamodb-to-file-rollback: run " + run_id +
                                    " by tester: 12 of 13 steps succeeded"))
      << message;
  EXPECT_TRUE(Contains(message, "failed steps: none")) << message;

  const ProcessResult verify = ex.Backout({"verify", run_id});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  const ProcessResult report = ex.Backout({"report", run_id});
  ASSERT_EQ(report.exit_code, 0) << Show(report);
  for (const std::string& step : kSteps)
    EXPECT_TRUE(Contains(report.out, "`" + step + "`")) << step;
  EXPECT_TRUE(Contains(report.out, "outcome: **succeeded**")) << report.out;
  ExpectNoSecrets(ex, run_id, {run.out, run.err, approve.out, approve.err, resume.out, resume.err});
}

// The application never gets healthy: the health check fails with its last answer, the run
// fails, maintenance still ends (an always-step) and the notification names the failure.
TEST_F(DynamoToFileRollback, HealthCheckAnswering500FailsTheRunAndMaintenanceEnds) {
  Example ex(kExample, kRows, ScenarioEnv());
  ASSERT_TRUE(app_->SetHealth({}, 500).ok());
  const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove});
  ASSERT_EQ(run.exit_code, 1) << Show(run);
  const std::string run_id = RunIdFrom(run);

  const std::string error = JournaledFailure(ex, run_id, "health-check");
  EXPECT_TRUE(Contains(error,
                       "/healthz: status 200, /status equal to \"healthy\" did not hold "
                       "within 10.0s"))
      << error;
  EXPECT_TRUE(Contains(error, "last answer 500: {\"status\": \"unhealthy\"")) << error;
  EXPECT_TRUE(Contains(run.out, "step 10/13 health-check: failed")) << run.out;
  const json status = StatusOf(ex, run_id);
  EXPECT_EQ(status["status"], "failed");
  EXPECT_EQ(StepOf(status, "verify-files")["status"], "skipped");
  EXPECT_EQ(StepOf(status, "maintenance-off")["status"], "succeeded");
  EXPECT_EQ(ServerState()["maintenance"], false);
  EXPECT_TRUE(Contains(Notification(), "failed steps: health-check")) << Notification();
  EXPECT_EQ(ex.Backout({"verify", run_id}).exit_code, 0);
  ExpectNoSecrets(ex, run_id, {run.out, run.err});
}

// The application's admin API cannot be reached. Preflight sees it and refuses the run before
// it exists. When it goes away after preflight (--skip-preflight stands in for that here), the
// first http step fails with curl's reason, nothing after it changes anything, and the
// notification still goes out.
TEST_F(DynamoToFileRollback, UnreachableApplicationStopsTheRunBeforeAnyChange) {
  Example ex(kExample, kRows, ScenarioEnv());
  const std::string data_before = Tree(ex.dir() / "data");
  const std::string env_before = ReadFile(ex.dir() / ".env");
  Result<int> nobody = FreePort();
  ASSERT_TRUE(nobody.ok());
  const std::map<std::string, std::string> unreachable = {
      {"APP_URL", "http://127.0.0.1:" + std::to_string(*nobody)}};
  const ProcessResult refused = ex.Backout({"run", "plan.yaml", kApprove}, unreachable);
  ASSERT_EQ(refused.exit_code, 2) << Show(refused);
  EXPECT_TRUE(Contains(refused.err, "preflight failed")) << Show(refused);
  EXPECT_TRUE(refused.out.empty()) << Show(refused);  // no run id: no run was created
  EXPECT_EQ(Tree(ex.dir() / "data"), data_before);

  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", kApprove, "--skip-preflight"}, unreachable);
  ASSERT_EQ(run.exit_code, 1) << Show(run);
  const std::string run_id = RunIdFrom(run);

  const std::string error = JournaledFailure(ex, run_id, "maintenance-on");
  EXPECT_TRUE(Contains(error, "POST ***/admin/maintenance: ")) << error;
  EXPECT_TRUE(Contains(error, "onnect")) << error;  // curl: "Couldn't connect to server"
  const json status = StatusOf(ex, run_id);
  for (const std::string step :
       {"stop-app", "final-backup", "restore-files", "flip-database-type"}) {
    EXPECT_EQ(StepOf(status, step)["status"], "skipped") << step;
  }
  EXPECT_FALSE(JournaledFailure(ex, run_id, "maintenance-off").empty());
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), "running database=dynamodb\n");
  EXPECT_EQ(Tree(ex.dir() / "data"), data_before);
  EXPECT_EQ(ReadFile(ex.dir() / ".env"), env_before);
  EXPECT_FALSE(fs::exists(ex.dir() / "dynamodb-exports"));
  EXPECT_TRUE(Contains(Notification(), "failed steps: maintenance-on, maintenance-off"))
      << Notification();
  ExpectNoSecrets(ex, run_id, {run.out, run.err});
}

// A line of .env that is not KEY=VALUE: the flip fails naming the file and line, the file is
// left byte for byte, and the application is not started on a half-made configuration.
TEST_F(DynamoToFileRollback, MalformedEnvFileFailsTheFlipAndWritesNothing) {
  Example ex(kExample, kRows, ScenarioEnv());
  const fs::path env_file = ex.dir() / ".env";
  std::string env = ReadFile(env_file);
  env.insert(env.find("DATA_DIR="), "DYNAMODB_CAPACITY on-demand\n");  // line 7
  WriteFile(env_file, env);
  const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove});
  ASSERT_EQ(run.exit_code, 1) << Show(run);
  const std::string run_id = RunIdFrom(run);

  const std::string error = JournaledFailure(ex, run_id, "flip-database-type");
  EXPECT_TRUE(Contains(error, fs::canonical(env_file).string() +
                                  ":7: expected KEY=VALUE, a comment or a blank line"))
      << error;
  EXPECT_FALSE(Contains(error, "on-demand")) << "the line itself may hold a secret";
  EXPECT_EQ(ReadFile(env_file), env);
  const std::vector<std::string> entries = Entries(ex.dir());
  // No temp file left (they are .env.<random>.tmp-backout).
  EXPECT_EQ(std::count_if(entries.begin(), entries.end(),
                          [](const std::string& e) { return e.ends_with(".tmp-backout"); }),
            0);
  const json status = StatusOf(ex, run_id);
  EXPECT_EQ(StepOf(status, "start-app")["status"], "skipped");
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), "stopped\n");
  EXPECT_EQ(ServerState()["maintenance"], false);
  EXPECT_TRUE(Contains(Notification(), "failed steps: flip-database-type")) << Notification();
  ExpectNoSecrets(ex, run_id, {run.out, run.err});
}

TEST_F(DynamoToFileRollback, CrashMatrixKillAfterEveryJournalAppendThenResume) {
  RecordProperty("crash_points_after_appends", KillAfterEveryAppend(Scenario()));
}

}  // namespace
}  // namespace backout::testing
