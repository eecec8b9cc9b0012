// The real binary killed (SIGKILL) in the middle of a multipart upload, then `backout resume`:
// the upload goes on from the parts the store acknowledged, without taking the backup again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/example.h"
#include "tests/support/s3_server.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The id of the run in `journal` (the test's only one), once it exists.
std::optional<std::string> RunId(const fs::path& journal) {
  std::error_code ignored;
  for (const auto& run : fs::directory_iterator(journal, ignored)) {
    const std::string name = run.path().filename().string();
    // A run being created lives under a hidden name (.creating.ID.PID) until its first append.
    if (name.starts_with('.')) continue;
    if (fs::is_directory(run.path() / "logs", ignored)) return name;
  }
  return std::nullopt;
}

// The upload's checkpoints the run journaled (StepCheckpoint payloads' `checkpoint`), as
// `backout events` lists them.
std::vector<json> Checkpoints(const ProcessResult& events) {
  std::vector<json> checkpoints;
  for (const std::string& line : SplitLines(events.out)) {
    const json event = json::parse(line, nullptr, false);
    if (event.is_object() && event.value("type", "") == "StepCheckpoint") {
      checkpoints.push_back(event["payload"]["checkpoint"]);
    }
  }
  return checkpoints;
}

int AcknowledgedParts(const std::vector<json>& checkpoints) {
  return static_cast<int>(std::count_if(checkpoints.begin(), checkpoints.end(),
                                        [](const json& c) { return c.contains("part"); }));
}

// How many parts the whole upload has (0 before it started).
int AllParts(const std::vector<json>& checkpoints) {
  for (const json& c : checkpoints) {
    if (!c.contains("upload")) continue;
    const std::uint64_t bytes = c.at("bytes").get<std::uint64_t>();
    const std::uint64_t part = c.at("part_size").get<std::uint64_t>();
    return static_cast<int>((bytes + part - 1) / part);
  }
  return 0;
}

TEST(ObjectStoreCrashTest, KilledMidUploadResumesWithoutResendingAcknowledgedParts) {
  Result<S3Server*> s3 = S3Server::Shared();
  ASSERT_TRUE(s3.ok()) << s3.status().ToString();
  TempDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() / "app.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE items(id INTEGER PRIMARY KEY, body BLOB);"
                         "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 5000) INSERT INTO items(body) SELECT randomblob(4000) FROM n;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  WriteFile(dir.path() / "plan.yaml",
            fmt::format(R"(version: 1
name: offsite-crash
targets:
  app:
    type: sqlite
    path: app.db
    object_store: {{ endpoint: "{}", path_style: true, part_size_mib: 5 }}
steps:
  - id: backup
    backup: {{ target: app, to: "s3://backups/crash/" }}
)",
                        (*s3)->endpoint()));
  std::map<std::string, std::string> env = (*s3)->Env();
  env["BACKOUT_JOURNAL"] = (dir.path() / "journal").string();
  env["BACKOUT_OPERATOR"] = "tester";
  const auto backout = [&](std::vector<std::string> args) {
    args.insert(args.begin(), BackoutBinary().string());
    return ProcessSpec{args, env, dir.path(), {}};
  };

  BackgroundProcess run(backout({"run", "plan.yaml"}));
  std::optional<std::string> run_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        run_id = RunId(dir.path() / "journal");
        return (run_id &&
                AcknowledgedParts(Checkpoints(RunProcess(backout({"events", *run_id, "--json"})))) >=
                    1) ||
               !run.Running();
      },
      std::chrono::seconds(60)));
  run.Signal(SIGKILL);
  const ProcessResult killed = run.Wait();
  // Looked up again: the wait may have ended with the runner, before its run was published.
  run_id = RunId(dir.path() / "journal");
  ASSERT_TRUE(run_id.has_value()) << Show(killed);
  const ProcessResult events = RunProcess(backout({"events", *run_id, "--json"}));
  ASSERT_EQ(events.exit_code, 0) << Show(events);
  const std::vector<json> checkpoints = Checkpoints(events);
  const int acknowledged = AcknowledgedParts(checkpoints);
  const int all = AllParts(checkpoints);
  if (killed.signal != SIGKILL || acknowledged >= all) {
    GTEST_SKIP() << "the upload finished before the kill";
  }
  ASSERT_GE(acknowledged, 1);
  // Journaled in clear, so without a secret: the store's credentials stay out.
  for (const auto& [name, value] : (*s3)->Env()) {
    if (name.find("SECRET") != std::string::npos) {
      EXPECT_FALSE(Contains(events.out, value));
    }
  }
  EXPECT_FALSE(fs::exists(dir.path() / "journal" / *run_id / "logs" / "backup.object-store" /
                          "upload.json"));

  const ProcessResult resumed = RunProcess(backout({"resume", *run_id}));
  ASSERT_EQ(resumed.exit_code, 0) << Show(resumed);
  const ProcessResult status = RunProcess(backout({"status", *run_id, "--json"}));
  ASSERT_EQ(status.exit_code, 0) << Show(status);
  const json steps = json::parse(status.out)["steps"];
  ASSERT_EQ(steps.size(), 1U);
  const json& outputs = steps[0]["outputs"];
  EXPECT_EQ(outputs.value("parts", -1), all) << outputs.dump(2);
  EXPECT_EQ(outputs.value("parts_resumed", -1), acknowledged) << outputs.dump(2);
  EXPECT_EQ(steps[0].value("attempts", -1), 2);
}

}  // namespace
}  // namespace backout::testing
