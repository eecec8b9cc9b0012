// Captures end to end (docs/backups.md#captures), with the real binary on real SQLite: a
// capture taken before a migration, the migration, and a rollback plan that restores from
// and verifies against the capture by name, with no figure or path copied by hand; also with
// the capture's backup in object storage (s3rver).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/example.h"
#include "tests/support/s3_server.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 50;

Example CaptureExample(std::map<std::string, std::string> env = {}) {
  return Example(Example::FromDir{SourceDir() / "tests" / "data" / "capture"}, kRows,
                 std::move(env));
}

json JsonOf(const ProcessResult& r) { return json::parse(r.out); }

TEST(CaptureEndToEnd, RollbackRestoresAndVerifiesAgainstTheCaptureTakenBeforeTheMigration) {
  const Example ex = CaptureExample();
  const fs::path db = ex.dir() / "app.db";
  const std::string before = DumpDatabase(db);

  ProcessResult r = ex.Backout({"validate", "rollback.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);

  // No capture yet: refused before anything exists, saying how to take it.
  r = ex.Backout({"run", "rollback.yaml"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "capture 'pre-migration' is not in the journal")) << Show(r);
  EXPECT_TRUE(Contains(r.err, "backout capture PLAN --name pre-migration")) << Show(r);
  EXPECT_FALSE(fs::exists(ex.journal()) && !fs::is_empty(ex.journal()));

  // The capture: what the rollback plan's references need (images and docs, and a backup
  // because a step restores from it).
  r = ex.Backout({"capture", "rollback.yaml", "--name", "pre-migration"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const std::string capture_run = RunIdFrom(r);

  r = ex.Backout({"run", "migrate.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  ASSERT_NE(DumpDatabase(db), before);

  r = ex.Backout({"run", "rollback.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const std::string rollback_run = RunIdFrom(r);
  EXPECT_EQ(DumpDatabase(db), before);

  // The capture is fixed in the rollback's own journal...
  const json started = Events(ex, rollback_run).front().at("payload");
  ASSERT_EQ(started.at("captures").size(), 1u) << started.dump();
  EXPECT_EQ(started["captures"][0]["run_id"], capture_run);
  EXPECT_EQ(started["captures"][0]["targets"]["appdb"]["baseline"]["tables"]["images"]["rows"],
            kRows);
  // ...and its report says which capture it compared with, when and by whom.
  r = ex.Backout({"report", rollback_run, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const json report = JsonOf(r);
  ASSERT_EQ(report.at("captures").size(), 1u);
  EXPECT_EQ(report["captures"][0]["name"], "pre-migration");
  EXPECT_EQ(report["captures"][0]["run_id"], capture_run);
  EXPECT_EQ(report["captures"][0]["by"], "tester");
  EXPECT_EQ(report["captures"][0]["backups"].size(), 1u);
  for (const json& check : report.at("verification")) {
    EXPECT_TRUE(check.value("pass", false)) << check.dump();
  }
  WriteFile(ex.dir() / "report.json", r.out);
  r = CheckReportSchema({ex.dir() / "report.json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);

  // A later capture of the same name changes nothing of the finished run.
  r = ex.Backout({"capture", "rollback.yaml", "--name", "pre-migration"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  r = ex.Backout({"report", rollback_run, "--format", "json"});
  EXPECT_EQ(JsonOf(r)["captures"][0]["run_id"], capture_run);
  r = ex.Backout({"verify", rollback_run});
  EXPECT_EQ(r.exit_code, 0) << Show(r);

  // Retention never deletes what a capture took, whatever the rules say.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  r = ex.Backout({"backups", "prune", "--keep-within", "1s"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(Contains(r.out, "capture 'pre-migration' (run " + capture_run + ")")) << Show(r);
  const json listed = JsonOf(ex.Backout({"backups", "list", "--json"}));
  for (const json& backup : listed) {
    if (backup["run"] == capture_run) {
      EXPECT_EQ(backup["state"], "present") << backup.dump();
    }
  }

  // The latest capture of the name counts for a new run; a backup of it that changed since
  // it was taken refuses the run in preflight, before any effect.
  r = ex.Backout({"run", "rollback.yaml", "--again"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const json latest = JsonOf(ex.Backout({"report", RunIdFrom(r), "--format", "json"}));
  EXPECT_NE(latest["captures"][0]["run_id"], capture_run);
  std::ofstream(latest["captures"][0]["backups"][0]["location"].get<std::string>(),
                std::ios::app)
      << "tampered";
  r = ex.Backout({"run", "rollback.yaml", "--again"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "sha256 is")) << Show(r);
}

TEST(CaptureEndToEnd, ACaptureStepInAPlanIsComparedWithByAnotherPlan) {
  const Example ex = CaptureExample();
  ProcessResult r = ex.Backout({"run", "migrate-with-capture.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  r = ex.Backout({"run", "check-cleanup.yaml"});
  EXPECT_EQ(r.exit_code, 1) << Show(r);
  const json report = JsonOf(ex.Backout({"report", RunIdFrom(r), "--format", "json"}));
  ASSERT_EQ(report.at("verification").size(), 1u);
  EXPECT_EQ(report["verification"][0]["expected"], kRows);
  EXPECT_EQ(report["verification"][0]["observed"], 5);
  EXPECT_EQ(report["captures"][0]["backups"].size(), 0u);
}

// The capture's backup goes to object storage: the rollback restores from it and verifies
// against the capture, and preflight asks the store for it (a missing object refuses the
// run before any effect).
TEST(CaptureEndToEnd, ACaptureBackedUpToObjectStorageIsRestoredFromAndCheckedByPreflight) {
  Result<S3Server*> s3 = S3Server::Shared();
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  const Example ex = CaptureExample((*s3)->Env());
  const fs::path db = ex.dir() / "app.db";
  const std::string before = DumpDatabase(db);
  const std::string target = fmt::format(
      "  appdb:\n    type: sqlite\n    path: app.db\n    object_store: {}\n",
      (*s3)->StoreConfig().dump());
  WriteFile(ex.dir() / "capture-offsite.yaml", R"(version: 1
name: capture-offsite
targets:
)" + target + R"(steps:
  - id: capture
    capture: { target: appdb, name: offsite, baseline: { tables: [images, docs] },
               backup: { to: "s3://backups/captures/" } }
)");
  WriteFile(ex.dir() / "rollback-offsite.yaml", R"(version: 1
name: rollback-offsite
targets:
)" + target + R"(steps:
  - id: restore
    restore: { target: appdb, from: capture.offsite }
  - id: verify
    verify:
      target: appdb
      checks:
        - row_count: { table: images, equals: capture.offsite }
        - checksum: { table: docs, equals: capture.offsite }
)");

  ProcessResult r = ex.Backout({"run", "capture-offsite.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const json step = JsonOf(ex.Backout({"status", RunIdFrom(r), "--json"}))["steps"][0];
  const std::string url = step["outputs"]["backup"].value("url", "");
  ASSERT_TRUE(url.starts_with("s3://backups/captures/")) << step.dump();
  const ProcessResult listed = (*s3)->Aws({"s3", "ls", "s3://backups/captures/"});
  ASSERT_EQ(listed.exit_code, 0) << Show(listed);
  EXPECT_TRUE(Contains(listed.out, url.substr(url.rfind('/') + 1))) << Show(listed);

  r = ex.Backout({"run", "migrate.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  ASSERT_NE(DumpDatabase(db), before);

  r = ex.Backout({"run", "rollback-offsite.yaml"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  EXPECT_EQ(DumpDatabase(db), before);
  const json started = Events(ex, RunIdFrom(r)).front().at("payload");
  bool checked = false;
  for (const json& check : started["preflight"]["checks"]) {
    checked = checked || Contains(check.value("check", ""), url + " (");
  }
  EXPECT_TRUE(checked) << started["preflight"].dump();

  // The object gone from the store: refused in preflight, before the run's first effect.
  const ProcessResult removed = (*s3)->Aws({"s3", "rm", url});
  ASSERT_EQ(removed.exit_code, 0) << Show(removed);
  r = ex.Backout({"run", "migrate.yaml", "--again"});
  ASSERT_EQ(r.exit_code, 0) << Show(r);
  const std::string migrated = DumpDatabase(db);
  r = ex.Backout({"run", "rollback-offsite.yaml", "--again"});
  EXPECT_EQ(r.exit_code, 2) << Show(r);
  EXPECT_TRUE(Contains(r.err, "capture offsite: backup of target appdb at " + url)) << Show(r);
  EXPECT_TRUE(Contains(r.err, "not in the store")) << Show(r);
  EXPECT_EQ(DumpDatabase(db), migrated);
}

}  // namespace
}  // namespace backout::testing
