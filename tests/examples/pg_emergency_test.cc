// Seed 003 (examples/pg-emergency-rollback) end to end: a real PostgreSQL, the scripted HTTP
// server (tests/support/http_server.h) as the application's admin API through the http
// adapter, and the example's recording kubectl stand-in. The database must end exactly in
// its pre-migration state (PgServer::Snapshot), the application must have been scaled down
// and up and put behind the maintenance page and taken out again, in that order.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/examples/pg_example.h"
#include "tests/support/http_server.h"
#include "tests/support/s3_server.h"

namespace backout::testing {
namespace {

constexpr int kRows = 400;

TEST(Seed003, EmergencyRollbackEndToEnd) {
  Result<std::unique_ptr<HttpServer>> started = HttpServer::Start();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const HttpServer& app = **started;
  // The application comes back slowly: the health step has to poll.
  ASSERT_TRUE(app.SetHealth({503, 503}).ok());

  const std::string db = TestDatabase();
  std::map<std::string, std::string> env = PgExampleEnv(db);
  env["APP_URL"] = app.base_url();
  Example ex("pg-emergency-rollback", kRows, env);
  ASSERT_NE(PgServer::Shared().Snapshot(db), PreMigrationSnapshot("pg-emergency-rollback", kRows))
      << "the generator must apply the bad migration";

  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_EQ(PgServer::Shared().Snapshot(db), PreMigrationSnapshot("pg-emergency-rollback", kRows));
  ExpectVerifiedAndReported(ex, run_id, "succeeded");

  EXPECT_EQ(ReadFile(ex.dir() / "kubectl.calls"),
            "scale deployment app --replicas=0\n"
            "scale deployment app --replicas=3\n"
            "rollout status deployment/app\n");
  EXPECT_EQ(ReadFile(ex.dir() / "kubectl.state"), "replicas=3\n");

  Result<nlohmann::json> recorded = app.Recorded();
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  std::vector<std::string> requests;
  for (const nlohmann::json& r : *recorded) {
    requests.push_back(r["method"].get<std::string>() + " " + r["path"].get<std::string>());
  }
  EXPECT_EQ(requests, (std::vector<std::string>{
                          "POST /admin/maintenance", "GET /metrics/errors",
                          "DELETE /admin/maintenance", "GET /healthz", "GET /healthz",
                          "GET /healthz", "GET /metrics/errors"}))
      << recorded->dump(2);
  EXPECT_EQ((*recorded)[0]["body"], R"({"enabled": true})");
  Result<nlohmann::json> state = app.State();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ((*state)["maintenance"], false);
  EXPECT_EQ((*state)["maintenance_changes"], 2);

  // The emergency pg_dump is in the report's backups and on disk.
  const nlohmann::json backups = ReportJson(ex, run_id)["backups"];
  ASSERT_EQ(backups.size(), 1u) << backups.dump(2);
  EXPECT_EQ(backups[0]["step"], "emergency-backup");
  EXPECT_EQ(std::filesystem::file_size(backups[0]["path"].get<std::string>()),
            backups[0]["bytes"].get<std::uintmax_t>());
}

// The emergency dump kept off the machine (offsite.yaml, the runbook's `aws s3 cp ...
// s3://backups/emergency/`): uploaded to a real S3-compatible store, seen there by the AWS CLI
// with the size and sha256 the step reports, no local copy left; then restore-offsite.yaml
// puts the database back from that object, exactly as the dump found it.
TEST(Seed003, EmergencyDumpGoesToObjectStorageAndComesBack) {
  Result<S3Server*> s3 = S3Server::Shared();
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  const std::string db = TestDatabase();
  std::map<std::string, std::string> env = PgExampleEnv(db);
  for (const auto& [name, value] : (*s3)->Env()) env[name] = value;
  env["AWS_ENDPOINT_URL_S3"] = (*s3)->endpoint();
  Example ex("pg-emergency-rollback", kRows, env);
  const std::string migrated = PgServer::Shared().Snapshot(db);

  const ProcessResult run = ex.Backout({"run", "offsite.yaml"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_EQ(PgServer::Shared().Snapshot(db), PreMigrationSnapshot("pg-emergency-rollback", kRows));
  EXPECT_FALSE(std::filesystem::exists(ex.dir() / "backups"));
  const ProcessResult status = ex.Backout({"status", run_id, "--json"});
  ASSERT_EQ(status.exit_code, 0) << Show(status);
  const nlohmann::json steps = nlohmann::json::parse(status.out)["steps"];
  nlohmann::json dump = nlohmann::json::object();
  for (const nlohmann::json& step : steps) {
    if (step["id"] == "emergency-backup") dump = step["outputs"];
  }
  const std::string url = dump.value("url", "");
  ASSERT_TRUE(url.starts_with("s3://backups/emergency/")) << dump.dump(2);
  EXPECT_FALSE(dump.contains("path")) << dump.dump(2);
  EXPECT_EQ(dump.value("endpoint", ""), (*s3)->endpoint());

  const std::string key = url.substr(std::string("s3://backups/").size());
  const ProcessResult head =
      (*s3)->Aws({"s3api", "head-object", "--bucket", "backups", "--key", key});
  ASSERT_EQ(head.exit_code, 0) << Show(head);
  const nlohmann::json object = nlohmann::json::parse(head.out);
  EXPECT_EQ(object.value("ContentLength", -1), dump.value("bytes", -2));
  EXPECT_EQ(object["Metadata"].value("sha256", ""), dump.value("sha256", "?"));
  // The report names the object as the run's backup.
  const nlohmann::json backups = ReportJson(ex, run_id)["backups"];
  ASSERT_EQ(backups.size(), 1u) << backups.dump(2);
  EXPECT_EQ(backups[0]["path"], url);

  const ProcessResult restore =
      ex.Backout({"run", "restore-offsite.yaml", "--approve=confirm=RESTORE_EMERGENCY_DUMP"},
                 {{"EMERGENCY_DUMP_URL", url},
                  {"EMERGENCY_DUMP_SHA256", dump.value("sha256", "")}});
  ASSERT_EQ(restore.exit_code, 0) << Show(restore);
  EXPECT_EQ(PgServer::Shared().Snapshot(db), migrated);

  // The catalog reaches the object through the store settings the backup step journaled:
  // listed, re-hashed from the store, then pruned from it.
  const ProcessResult list = ex.Backout({"backups", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << Show(list);
  const nlohmann::json listed = nlohmann::json::parse(list.out);
  ASSERT_EQ(listed.size(), 1u) << list.out;
  EXPECT_EQ(listed[0]["location"], url);
  EXPECT_EQ(listed[0]["state"], "present") << list.out;
  const std::string id = listed[0]["id"];
  const ProcessResult verify = ex.Backout({"backups", "verify", id});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  EXPECT_TRUE(Contains(verify.out, "1 of 1 backups intact")) << verify.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const ProcessResult prune = ex.Backout({"backups", "prune", "--keep-within", "1s"});
  ASSERT_EQ(prune.exit_code, 0) << Show(prune);
  EXPECT_NE((*s3)->Aws({"s3api", "head-object", "--bucket", "backups", "--key", key}).exit_code,
            0);
  const ProcessResult after = ex.Backout({"backups", "show", id, "--json"});
  ASSERT_EQ(after.exit_code, 0) << Show(after);
  EXPECT_EQ(nlohmann::json::parse(after.out)["state"], "deleted") << after.out;
}

// A capture on PostgreSQL: `backout capture` of a rollback plan takes what its
// `capture.NAME` references need (a baseline of the compared tables and a backup of the
// restored ones); after rows are damaged, the plan restores those tables from the capture and
// verifies against it, with no figure or path copied by hand.
TEST(Seed003, TablesComeBackFromACaptureAndVerifyAgainstIt) {
  const std::string db = TestDatabase();
  Example ex("pg-emergency-rollback", kRows, PgExampleEnv(db));
  WriteFile(ex.dir() / "capture-rollback.yaml", R"(version: 1
name: order-fulfillment-capture-rollback
targets:
  db: { type: postgres, dsn: "${DATABASE_URL}" }
steps:
  - id: restore
    restore: { target: db, from: capture.before-cleanup, tables: [order_items] }
  - id: verify
    verify:
      target: db
      checks:
        - row_count: { table: order_items, equals: capture.before-cleanup }
        - checksum: { table: order_items, equals: capture.before-cleanup }
)");
  ProcessResult r = ex.Backout({"capture", "capture-rollback.yaml", "--name", "before-cleanup"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const std::string captured = PgServer::Shared().Snapshot(db);

  PgServer::Shared().Psql(
      "DELETE FROM order_items WHERE line % 2 = 0; UPDATE order_items SET quantity = 99", db);
  ASSERT_NE(PgServer::Shared().Snapshot(db), captured);

  r = ex.Backout({"run", "capture-rollback.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(PgServer::Shared().Snapshot(db), captured);
  const nlohmann::json report = ReportJson(ex, RunIdFrom(r));
  ASSERT_EQ(report.at("captures").size(), 1u) << report.dump(2);
  EXPECT_EQ(report["captures"][0]["name"], "before-cleanup");
  for (const nlohmann::json& check : report.at("verification")) {
    EXPECT_TRUE(check.value("pass", false)) << check.dump();
  }
}

// A step fails (a table the plan baselines is gone): the run stops before the app is scaled
// up, so it stays down behind the maintenance page for the operator, and nothing of the
// database changed.
TEST(Seed003, FailedRunLeavesTheAppDownBehindTheMaintenancePage) {
  Result<std::unique_ptr<HttpServer>> started = HttpServer::Start();
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  const HttpServer& app = **started;
  const std::string db = TestDatabase();
  std::map<std::string, std::string> env = PgExampleEnv(db);
  env["APP_URL"] = app.base_url();
  Example ex("pg-emergency-rollback", kRows, env);
  PgServer::Shared().Psql("DROP TABLE order_items", db);
  const std::string post = PgServer::Shared().Snapshot(db);

  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  EXPECT_TRUE(Contains(run.out, "step 5/13 baseline: failed")) << run.out;
  EXPECT_TRUE(Contains(run.out, "table 'order_items' does not exist")) << run.out;
  EXPECT_EQ(PgServer::Shared().Snapshot(db), post);
  EXPECT_EQ(ReadFile(ex.dir() / "kubectl.state"), "replicas=0\n");
  Result<nlohmann::json> state = app.State();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ((*state)["maintenance"], true);
  ExpectVerifiedAndReported(ex, RunIdFrom(run), "failed");
}

// The example rehearses as shipped: the database is rolled back on a scratch copy, kubectl
// is never called (k8s is `rehearsal: skip`), and the HTTP steps go to the staging server
// (`rehearsal: { base_url: ${STAGING_APP_URL} }`), never to the real application.
TEST(Seed003, RehearsalTouchesNeitherTheDatabaseNorTheRealApplication) {
  Result<std::unique_ptr<HttpServer>> real_started = HttpServer::Start();
  Result<std::unique_ptr<HttpServer>> staging_started = HttpServer::Start();
  ASSERT_TRUE(real_started.ok() && staging_started.ok());
  const HttpServer& real = **real_started;
  const HttpServer& staging = **staging_started;
  const std::string db = TestDatabase();
  std::map<std::string, std::string> env = PgExampleEnv(db);
  env["APP_URL"] = real.base_url();
  env["STAGING_APP_URL"] = staging.base_url();
  Example ex("pg-emergency-rollback", kRows, env);
  const std::string before = PgServer::Shared().Snapshot(db);
  const std::string kubectl_calls_before = ReadFile(ex.dir() / "kubectl.calls");  // generate.sh's

  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(PgServer::Shared().Snapshot(db), before) << "a rehearsal must not touch the database";
  EXPECT_EQ(ReadFile(ex.dir() / "kubectl.calls"), kubectl_calls_before) << "kubectl must not run";
  EXPECT_FALSE(std::filesystem::exists(ex.dir() / "backups"))
      << "the rehearsal's dump belongs in the run's scratch directory";
  Result<nlohmann::json> on_real = real.Recorded();
  ASSERT_TRUE(on_real.ok()) << on_real.status().ToString();
  EXPECT_EQ(*on_real, nlohmann::json::array()) << on_real->dump(2);
  Result<nlohmann::json> on_staging = staging.Recorded();
  ASSERT_TRUE(on_staging.ok()) << on_staging.status().ToString();
  EXPECT_FALSE(on_staging->empty());
  EXPECT_EQ((*on_staging)[0]["path"], "/admin/maintenance");
  const nlohmann::json summary = ReportJson(ex, RunIdFrom(run))["summary"];
  EXPECT_EQ(summary["rehearsal"], true);
  EXPECT_EQ(summary["rehearsal_targets"].size(), 3u) << summary.dump(2);
}

}  // namespace
}  // namespace backout::testing
