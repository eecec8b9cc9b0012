// Object storage for backups through the wrapper (object_store_adapter.h), on the SQLite
// adapter against a real s3rver, cross-checked with the AWS CLI.
#include "adapters/object_store/object_store_adapter.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/object_store/s3_client.h"
#include "adapters/object_store/transfer.h"
#include "base/sha256.h"
#include "testing/fake_env.h"
#include "testing/invocation_builder.h"
#include "tests/support/s3_server.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using backout::testing::InvocationBuilder;
using backout::testing::S3Server;
using nlohmann::json;

constexpr char kBucket[] = "backups";

void Exec(const fs::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
  sqlite3_free(error);
  sqlite3_close(handle);
}

std::int64_t Count(const fs::path& db, const std::string& table) {
  sqlite3* handle = nullptr;
  sqlite3_open(db.c_str(), &handle);
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(handle, ("SELECT count(*) FROM " + table).c_str(), -1, &statement, nullptr);
  const std::int64_t n = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0)
                                                               : -1;
  sqlite3_finalize(statement);
  sqlite3_close(handle);
  return n;
}

// Validation needs no store.
TEST(ObjectStoreValidateTest, TakesS3AndRefusesEveryOtherScheme) {
  const Registry registry = Registry::Default();
  const Adapter& sqlite = *registry.Find("sqlite");
  const auto Target = [](json store = {{"endpoint", "http://127.0.0.1:9"}, {"path_style", true}}) {
    return json{{"type", "sqlite"}, {"path", "app.db"}, {"object_store", std::move(store)}};
  };
  EXPECT_TRUE(sqlite.Validate("backup", Target(), {{"to", "s3://backups/app/"}}).empty());
  EXPECT_TRUE(sqlite.Validate("restore", Target(), {{"from", "s3://backups/app/a.db"}}).empty());

  const std::vector<ParamError> gs = sqlite.Validate("backup", Target(), {{"to", "gs://b/x/"}});
  ASSERT_EQ(gs.size(), 1U);
  EXPECT_EQ(gs[0].pointer, "/to");
  EXPECT_NE(gs[0].message.find("'gs://' URLs are not supported"), std::string::npos)
      << gs[0].message;
  const std::vector<ParamError> prefix =
      sqlite.Validate("restore", Target(), {{"from", "s3://backups/app/"}});
  ASSERT_EQ(prefix.size(), 1U);
  EXPECT_EQ(prefix[0].pointer, "/from");

  const std::vector<ParamError> folder = registry.Find("json_store")->Validate(
      "backup", {{"type", "json_store"}, {"path", "store"}}, {{"to", "s3://backups/x/"}});
  ASSERT_EQ(folder.size(), 1U);
  EXPECT_NE(folder[0].message.find("writes a folder"), std::string::npos) << folder[0].message;

  const std::vector<ParamError> sse = sqlite.Validate(
      "backup", Target({{"sse", "rot13"}, {"part_size_mib", 1}}), {{"to", "s3://backups/a/"}});
  ASSERT_EQ(sse.size(), 2U);
  EXPECT_TRUE(sse[0].in_target);
  EXPECT_EQ(sse[0].pointer, "/object_store/sse");
  EXPECT_EQ(sse[1].pointer, "/object_store/part_size_mib");
}

class ObjectStoreAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<S3Server*> shared = S3Server::Shared();
    ASSERT_TRUE(shared.ok()) << shared.status().ToString();
    server_ = *shared;
    for (const auto& [name, value] : server_->Env()) env_.SetVar(name, value);
    env_.UnsetVar("AWS_SESSION_TOKEN");
    db_ = dir_.path() / "app.db";
    Exec(db_, "CREATE TABLE items(id INTEGER PRIMARY KEY, body BLOB);"
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)"
              "  INSERT INTO items SELECT i, randomblob(64) FROM n;");
    logs_ = dir_.path() / "logs";
    fs::create_directories(logs_);
  }

  json Target(json store = json()) const {
    if (store.is_null()) store = server_->StoreConfig();
    return {{"type", "sqlite"}, {"path", db_.string()}, {"object_store", store}};
  }

  InvocationBuilder Invocation(const std::string& action, json params) {
    return std::move(InvocationBuilder(action)
                         .Target("app", Target())
                         .Params(std::move(params))
                         .BaseDir(dir_.path())
                         .LogDir(logs_)
                         .StepId(action + "-db")
                         .UseEnv(&env_));
  }

  object_store::S3Client Client() const {
    object_store::StoreConfig config;
    config.endpoint = server_->endpoint();
    config.region = backout::testing::kS3Region;
    config.path_style = true;
    config.credentials = {backout::testing::kS3AccessKeyId,
                          backout::testing::kS3SecretAccessKey, ""};
    return object_store::S3Client(config);
  }

  S3Server* server_ = nullptr;
  backout::testing::TempDir dir_;
  backout::testing::FakeEnv env_;
  fs::path db_;
  fs::path logs_;
  // The build's sqlite adapter, which the registry wraps for object storage.
  Registry registry_ = Registry::Default();
  Adapter& sqlite_ = *registry_.Find("sqlite");
};


TEST_F(ObjectStoreAdapterTest, PreflightAsksTheStoreForTheBucketAndTheObject) {
  const object_store::ObjectUrl stored{kBucket, "preflight/app.db"};
  ASSERT_TRUE(Client().Put(stored, "bytes", Sha256Hex("bytes")).ok());
  const auto findings = [&](const std::string& action, json params) {
    PreflightRequest request{.action = action,
                             .target = Target(),
                             .params = std::move(params),
                             .base_dir = dir_.path(),
                             .env = &env_};
    std::vector<std::string> lines;
    for (const PreflightFinding& f : sqlite_.Preflight(request)) {
      if (f.check.find("s3://") != std::string::npos) {
        lines.push_back(f.check + ": " + std::string(CodeName(f.status.code())));
      }
    }
    return lines;
  };
  EXPECT_EQ(findings("backup", {{"to", "s3://backups/app/"}}),
            std::vector<std::string>{"bucket s3://backups reachable: OK"});
  const std::vector<std::string> no_bucket = findings("backup", {{"to", "s3://nowhere/app/"}});
  ASSERT_EQ(no_bucket.size(), 1U);
  EXPECT_EQ(no_bucket[0], "bucket s3://nowhere reachable: Not found");
  EXPECT_EQ(findings("restore", {{"from", stored.ToString()}}),
            std::vector<std::string>{
                "restore source s3://backups/preflight/app.db (5 bytes, sha256 recorded): OK"});
  EXPECT_EQ(findings("restore", {{"from", stored.ToString()}, {"sha256", std::string(64, 'a')}}),
            std::vector<std::string>{
                "restore source s3://backups/preflight/app.db: Expectation failed"});
  EXPECT_EQ(findings("restore", {{"from", "s3://backups/preflight/absent.db"}}),
            std::vector<std::string>{"restore source s3://backups/preflight/absent.db: Not found"});
}

TEST_F(ObjectStoreAdapterTest, BackupGoesUpAndRestoreComesBackChecked) {
  const Outcome backup = sqlite_.Run(Invocation("backup", {{"to", "s3://backups/app/"}}).Build());
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  const json& out = backup.outputs;
  EXPECT_TRUE(UndeclaredOutputs(sqlite_.vocabulary(), "backup", out).empty()) << out.dump();
  EXPECT_FALSE(out.contains("path")) << out.dump();
  const std::string url = out.value("url", "");
  ASSERT_TRUE(url.starts_with("s3://backups/app/app-")) << out.dump();
  EXPECT_EQ(out.value("endpoint", ""), server_->endpoint());
  EXPECT_EQ(out.value("region", ""), backout::testing::kS3Region);
  EXPECT_EQ(out.value("path_style", false), true);
  EXPECT_EQ(out.value("parts", -1), 0);
  // Nothing of the backup is left in the journal folder but the upload's record.
  EXPECT_FALSE(fs::exists(logs_ / "backup-db.object-store" / fs::path(url).filename()));

  const std::string key = url.substr(std::string("s3://backups/").size());
  const backout::testing::ProcessResult listed = server_->Aws({"s3", "ls", "s3://backups/app/"});
  ASSERT_EQ(listed.exit_code, 0) << backout::testing::Show(listed);
  EXPECT_NE(listed.out.find(fs::path(key).filename().string()), std::string::npos) << listed.out;
  const backout::testing::ProcessResult head =
      server_->Aws({"s3api", "head-object", "--bucket", kBucket, "--key", key});
  ASSERT_EQ(head.exit_code, 0) << backout::testing::Show(head);
  const json aws = json::parse(head.out);
  EXPECT_EQ(aws.value("ContentLength", -1), out.value("bytes", -2));
  EXPECT_EQ(aws["Metadata"].value("sha256", ""), out.value("sha256", "?"));
  Result<FileDigest> read_back = object_store::ReadBackDigest(Client(), {kBucket, key});
  ASSERT_TRUE(read_back.ok()) << read_back.status().ToString();
  EXPECT_EQ(read_back->sha256_hex, out.value("sha256", "?"));
  EXPECT_EQ(static_cast<std::int64_t>(read_back->bytes), out.value("bytes", -1));

  Exec(db_, "DELETE FROM items WHERE id > 10;");
  const Outcome restore = sqlite_.Run(Invocation("restore", {{"from", url}}).Build());
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(Count(db_, "items"), 100);
  EXPECT_EQ(restore.outputs.value("from", ""), url);
  EXPECT_EQ(restore.outputs.value("sha256", ""), out.value("sha256", "?"));
  EXPECT_TRUE(UndeclaredOutputs(sqlite_.vocabulary(), "restore", restore.outputs).empty());
}

TEST_F(ObjectStoreAdapterTest, RestoreRefusesBytesNotTheRecordedOnesBeforeTouchingTheTarget) {
  const object_store::ObjectUrl url{kBucket, "tampered/app.db"};
  ASSERT_TRUE(Client().Put(url, "not a database", Sha256Hex("the bytes that were backed up")).ok());
  Exec(db_, "DELETE FROM items WHERE id > 10;");
  const Outcome restore = sqlite_.Run(Invocation("restore", {{"from", url.ToString()}}).Build());
  EXPECT_EQ(restore.status.code(), Code::kExpectationFailed) << restore.status.ToString();
  EXPECT_EQ(Count(db_, "items"), 10);

  // A sha256 given by the plan is checked too, before anything is downloaded.
  const Outcome wrong = sqlite_.Run(
      Invocation("restore", {{"from", url.ToString()}, {"sha256", std::string(64, 'a')}}).Build());
  EXPECT_EQ(wrong.status.code(), Code::kExpectationFailed) << wrong.status.ToString();
  EXPECT_EQ(Count(db_, "items"), 10);
}

TEST_F(ObjectStoreAdapterTest, MultipartUploadResumesWithoutResendingAcknowledgedParts) {
  // About 11 MiB: three parts of 5 MiB.
  Exec(db_, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2800)"
            "  INSERT INTO items(body) SELECT randomblob(4000) FROM n;");
  json store = server_->StoreConfig();
  store["part_size_mib"] = 5;
  std::atomic<bool> cancel{false};
  std::vector<std::string> lines;
  // What the engine does: journals each checkpoint, hands them all to the next attempt.
  json checkpoints = json::array();
  const auto build = [&](int attempt) {
    adapters::Invocation invocation = InvocationBuilder("backup")
        .Target("app", Target(store))
        .Params({{"to", "s3://backups/big/"}})
        .BaseDir(dir_.path())
        .LogDir(logs_)
        .StepId("backup-big")
        .Attempt(attempt)
        .UseEnv(&env_)
        .Cancel(&cancel)
        .Progress([&](std::string_view line) {
          lines.emplace_back(line);
          if (line.starts_with("uploaded part 1/")) cancel = true;  // stopped after part 1
        })
        .Build();
    invocation.checkpoints = checkpoints;
    invocation.checkpoint = [&](const json& checkpoint) {
      checkpoints.push_back(checkpoint);
      return Status::Ok();
    };
    return invocation;
  };
  const Outcome stopped = sqlite_.Run(build(1));
  ASSERT_EQ(stopped.status.code(), Code::kCancelled) << stopped.status.ToString();

  cancel = false;
  lines.clear();
  const Outcome resumed = sqlite_.Run(build(2));
  ASSERT_TRUE(resumed.status.ok()) << resumed.status.ToString();
  EXPECT_EQ(resumed.outputs.value("parts", -1), 3);
  EXPECT_EQ(resumed.outputs.value("parts_resumed", -1), 1);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "the backup of an earlier attempt is staged: uploading it");
  for (const std::string& line : lines) EXPECT_FALSE(line.starts_with("uploaded part 1/")) << line;
  // The object is named after the first attempt's backup, and holds what it staged.
  const std::string url = resumed.outputs.value("url", "");
  EXPECT_NE(url.find("-a1.db"), std::string::npos) << url;
  Result<object_store::ObjectUrl> parsed = object_store::ParseObjectUrl(url);
  ASSERT_TRUE(parsed.ok());
  Result<object_store::ObjectHead> head = Client().Head(*parsed);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->sha256, resumed.outputs.value("sha256", "?"));
  EXPECT_EQ(static_cast<std::int64_t>(head->bytes), resumed.outputs.value("bytes", -1));
  EXPECT_GT(head->bytes, 10U << 20);
}

}  // namespace
}  // namespace backout::adapters
