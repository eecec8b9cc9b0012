// Tests of the SQLite adapter through its public interface, on real database files in a
// fresh temporary directory per test.
#include "adapters/sqlite/sqlite_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/sha256.h"
#include "base/time.h"
#include "testing/fake_env.h"
#include "testing/invocation_builder.h"
#include "testing/temp_dir.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::Contains;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::Not;

// A plain connection, independent of the adapter, to set up and inspect databases.
class RawDb {
 public:
  explicit RawDb(const fs::path& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  // Returns SQLite's error message, empty on success.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error != nullptr ? error : "";
    sqlite3_free(error);
    return message;
  }

  std::int64_t Integer(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr);
    const std::int64_t value =
        sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1;
    sqlite3_finalize(statement);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

constexpr char kSeed[] = R"sql(
  BEGIN;
  CREATE TABLE images(id INTEGER PRIMARY KEY, name TEXT);
  CREATE TABLE docs(id INTEGER PRIMARY KEY, title TEXT, body BLOB);
  CREATE TABLE media(id INTEGER PRIMARY KEY, kind TEXT);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
    INSERT INTO images SELECT i, 'img' || i FROM n;
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
    INSERT INTO docs SELECT i, 'doc' || i, randomblob(16) FROM n;
  INSERT INTO media VALUES (1, 'image'), (2, 'doc');
  COMMIT;
)sql";

// Never finishes on its own: only a stop can end it.
constexpr char kEndlessQuery[] =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c";

class SqliteAdapterTest : public ::testing::Test {
 protected:
  // Adds about 2.4 MB of rows to docs: more pages than one copy chunk.
  void Grow() {
    ASSERT_EQ(RawDb(db_).Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                              "WHERE i < 600) INSERT INTO docs SELECT i + 100, 'big', "
                              "randomblob(4000) FROM n;"),
              "");
  }

  void SetUp() override {
    db_ = dir_ / "app.db";
    ASSERT_EQ(RawDb(db_).Exec(kSeed), "");
  }

  Invocation MakeInvocation(const std::string& action, json params) {
    return testing::InvocationBuilder(action)
        .Target("appdb", {{"type", "sqlite"}, {"path", "app.db"}, {"busy_timeout", 1000}})
        .Params(std::move(params))
        .RunId("run-1")
        .Dirs(dir_)
        .NowMicros(1'764'000'000'000'000)  // 2025-11-24T16:00:00Z
        .Build();
  }

  // `baseline`: what the engine passes a verify (Invocation::baseline).
  Outcome Run(const std::string& action, json params,
              std::optional<json> baseline = std::nullopt) {
    Invocation invocation = MakeInvocation(action, std::move(params));
    invocation.baseline = std::move(baseline);
    Outcome outcome = adapter_->Run(invocation);
    EXPECT_EQ(UndeclaredOutputs(adapter_->vocabulary(), action, outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }

  // The baseline figures of `tables` in the database at `path`.
  json Baseline(const fs::path& path, const json& tables) {
    Invocation invocation = MakeInvocation("baseline", {{"tables", tables}});
    invocation.target["path"] = path.string();
    Outcome outcome = adapter_->Run(invocation);
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    return outcome.outputs;
  }

  json Backup(const std::string& to) {
    Outcome outcome = Run("backup", {{"to", to}});
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    return outcome.outputs;
  }

  // A backup of the grown database with a page of the docs table damaged inside a file that
  // still starts as a database, as a backup of an already damaged database would be.
  fs::path DamagedBackup() {
    const fs::path path = Backup("backups/").at("path").get<std::string>();
    std::int64_t page_size = 0;
    std::int64_t root = 0;
    {
      RawDb backup(path);
      page_size = backup.Integer("PRAGMA page_size");
      root = backup.Integer("SELECT rootpage FROM sqlite_schema WHERE name = 'docs'");
    }
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp((root - 1) * page_size);
    file.write(std::string(16, '\xff').data(), 16);
    return path;
  }

  static std::string Contents(const fs::path& path) {
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
  }

  std::vector<fs::path> FilesIn(const fs::path& dir) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
    return files;
  }

  std::unique_ptr<Adapter> adapter_ = MakeSqliteAdapter();
  const testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
  fs::path db_;
};

// --- runner lock -----------------------------------------------------------------------

LockRequest LockFor(const fs::path& dir, const std::string& run_id,
                    std::chrono::milliseconds same_run_wait) {
  LockRequest request;
  request.target = {{"type", "sqlite"}, {"path", "app.db"}};
  request.run_id = run_id;
  request.base_dir = dir;
  request.same_run_wait = same_run_wait;
  return request;
}

// Another run is refused at once, naming the holder; the holder itself locks again freely;
// the lock is the sidecar's flock, so SQLite's own locks on the database are untouched.
TEST_F(SqliteAdapterTest, LockRefusesAnotherRunNamingTheHolder) {
  ASSERT_TRUE(adapter_->Lock(LockFor(dir_, "run-1", std::chrono::milliseconds(0))).ok());
  EXPECT_TRUE(adapter_->Lock(LockFor(dir_, "run-1", std::chrono::milliseconds(0))).ok());
  EXPECT_TRUE(fs::exists(dir_ / "app.db.backout-lock"));
  auto other = MakeSqliteAdapter();
  const Status refused = other->Lock(LockFor(dir_, "run-2", std::chrono::seconds(60)));
  EXPECT_EQ(refused.code(), Code::kLocked);
  EXPECT_THAT(refused.message(), HasSubstr("another backout runner is working on this database"));
  EXPECT_THAT(refused.message(), HasSubstr("pid " + std::to_string(::getpid())));
  EXPECT_THAT(refused.message(), HasSubstr("run run-1"));
  const Outcome own = Run("sql", {{"script", "CREATE TABLE t (x); INSERT INTO t VALUES (1);"}});
  EXPECT_TRUE(own.status.ok()) << own.status.ToString();
  adapter_.reset();  // the holder goes: the lock with it
  EXPECT_TRUE(other->Lock(LockFor(dir_, "run-2", std::chrono::milliseconds(0))).ok());
}

// A holder of the same run is a runner of it that is going away: waited for, within bounds.
TEST_F(SqliteAdapterTest, LockWaitsForAHolderOfTheSameRun) {
  ASSERT_TRUE(adapter_->Lock(LockFor(dir_, "run-1", std::chrono::milliseconds(0))).ok());
  auto resumed = MakeSqliteAdapter();
  const Status no_wait = resumed->Lock(LockFor(dir_, "run-1", std::chrono::milliseconds(0)));
  EXPECT_EQ(no_wait.code(), Code::kLocked);
  EXPECT_THAT(no_wait.message(), HasSubstr("a runner of this run that did not exit within"));
  Status waited = Status::Unavailable("not run");
  std::thread resume([&] {
    waited = resumed->Lock(LockFor(dir_, "run-1", std::chrono::seconds(60)));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // usually finds it held
  adapter_.reset();
  resume.join();
  EXPECT_TRUE(waited.ok()) << waited.ToString();
}

// The holder line in the sidecar comes from the request's Env, not the process's.
TEST_F(SqliteAdapterTest, LockWritesTheHostAndTimeOfTheRequestsEnv) {
  testing::FakeEnv clock;
  class NamedHost final : public EnvWrapper {
   public:
    using EnvWrapper::EnvWrapper;
    std::string HostName() override { return "test-host"; }
  } env(&clock);
  LockRequest request = LockFor(dir_, "run-1", std::chrono::milliseconds(0));
  request.env = &env;
  ASSERT_TRUE(adapter_->Lock(request).ok());
  std::ifstream in(dir_ / "app.db.backout-lock");
  const std::string holder((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(holder, HasSubstr(" host=test-host run=run-1 since=" +
                                FormatUtcMicros(testing::FakeEnv::kDefaultNowMicros)));
}

// --- sql -------------------------------------------------------------------------------

TEST_F(SqliteAdapterTest, SqlRunsScriptAndCountsChangedRows) {
  Outcome outcome = Run("sql", {{"script", R"(
      DELETE FROM images WHERE id > 90;   -- 10 rows
      UPDATE docs SET title = 'x' WHERE id <= 3;
      DROP TABLE media;
      SELECT count(*) FROM images;        -- rows are ignored
  )"}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.outputs, json({{"changes", 13}}));
  RawDb db(db_);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM images"), 90);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM sqlite_schema WHERE name = 'media'"), 0);
}

TEST_F(SqliteAdapterTest, SqlReadsScriptFromFileRelativeToBaseDir) {
  std::ofstream(dir_ / "drop.sql") << "DELETE FROM media;";
  Outcome outcome = Run("sql", {{"file", "drop.sql"}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.outputs["changes"], 2);
}

TEST_F(SqliteAdapterTest, SqlMissingScriptFileIsNotFound) {
  Outcome outcome = Run("sql", {{"file", "nope.sql"}});
  EXPECT_EQ(outcome.status.code(), Code::kNotFound) << outcome.status.ToString();
}

TEST_F(SqliteAdapterTest, SqlFailingStatementRollsBackTheWholeScript) {
  Outcome outcome = Run("sql", {{"script",
                                 "DELETE FROM images;\n"
                                 "DROP TABLE media;\n"
                                 "INSERT INTO nowhere VALUES (1);\n"
                                 "DELETE FROM docs;"}});
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("sql: statement 3 (INSERT INTO nowhere VALUES (1)): no such table"));
  RawDb db(db_);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM images"), 100);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM media"), 2);
}

TEST_F(SqliteAdapterTest, SqlRefusesTransactionControlInScript) {
  Outcome outcome = Run("sql", {{"script", "DELETE FROM images; COMMIT; DELETE FROM docs;"}});
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_THAT(outcome.status.message(), HasSubstr("statement 2 (COMMIT)"));
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, SqlStoppedByDeadlineRollsBack) {
  Invocation invocation =
      MakeInvocation("sql", {{"script", std::string("DELETE FROM images; CREATE TABLE big(x); "
                                                    "INSERT INTO big ") +
                                            kEndlessQuery + ";"}});
  invocation.timeout = std::chrono::milliseconds(100);
  Outcome outcome = adapter_->Run(invocation);
  EXPECT_EQ(outcome.status.code(), Code::kTimeout) << outcome.status.ToString();
  EXPECT_THAT(outcome.status.message(), HasSubstr("sql: statement 3 (INSERT INTO big WITH"));
  RawDb db(db_);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM images"), 100);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM sqlite_schema WHERE name = 'big'"), 0);
}

TEST_F(SqliteAdapterTest, LockedDatabaseIsUnavailableAfterBusyTimeout) {
  RawDb holder(db_);
  ASSERT_EQ(holder.Exec("BEGIN IMMEDIATE; DELETE FROM media;"), "");
  Invocation invocation = MakeInvocation("sql", {{"script", "DELETE FROM images;"}});
  invocation.target["busy_timeout"] = 50;
  const auto start = std::chrono::steady_clock::now();
  Outcome outcome = adapter_->Run(invocation);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(outcome.status.code(), Code::kUnavailable);
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("sqlite database " + db_.string() + " is locked by another connection"));
  ASSERT_EQ(holder.Exec("ROLLBACK"), "");
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, MissingDatabaseIsNotFoundAndNeverCreated) {
  const std::vector<std::pair<std::string, json>> actions = {
      {"sql", {{"script", "CREATE TABLE t(x)"}}}, {"backup", {{"to", "backups/"}}},
      {"baseline", {{"tables", {"images"}}}},     {"verify", {{"checks", {{{"integrity", true}}}}}},
      {"query", {{"sql", "SELECT 1"}}},
  };
  for (const auto& [action, params] : actions) {
    Invocation invocation = MakeInvocation(action, params);
    invocation.target["path"] = "missing.db";
    Outcome outcome = adapter_->Run(invocation);
    EXPECT_EQ(outcome.status.code(), Code::kNotFound) << action;
    EXPECT_EQ(outcome.status.message(),
              "sqlite database " + (dir_ / "missing.db").string() + " does not exist")
        << action;
    EXPECT_FALSE(fs::exists(dir_ / "missing.db")) << action;
  }
  EXPECT_FALSE(fs::exists(dir_ / "backups"));
}

// --- backup ----------------------------------------------------------------------------

TEST_F(SqliteAdapterTest, BackupIntoDirectoryCopiesContentDurablyAndPrivately) {
  const json outputs = Backup("backups/");
  const fs::path path = outputs.at("path").get<std::string>();
  EXPECT_EQ(path, dir_ / "backups" / "app-20251124T160000Z-step-a1.db");
  EXPECT_EQ(outputs.at("source"), db_.string());
  Result<FileDigest> digest = Sha256File(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(outputs.at("bytes"), digest->bytes);
  EXPECT_EQ(outputs.at("sha256"), digest->sha256_hex);
  const json tables = {"images", "docs", "media"};
  EXPECT_EQ(Baseline(path, tables), Baseline(db_, tables));
  EXPECT_EQ(FilesIn(dir_ / "backups"), std::vector<fs::path>{path});  // no .partial left
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST_F(SqliteAdapterTest, BackupToFilePathCreatesParentDirectories) {
  const json outputs = Backup("out/nested/copy.db");
  EXPECT_EQ(outputs.at("path"), (dir_ / "out" / "nested" / "copy.db").string());
  EXPECT_EQ(RawDb(dir_ / "out" / "nested" / "copy.db").Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, BackupOfRollbackJournalDatabaseIsItsFileByteForByte) {
  Grow();
  const json outputs = Backup("backups/");
  const std::string copy = Contents(outputs.at("path").get<std::string>());
  EXPECT_EQ(copy, Contents(db_));
  EXPECT_EQ(outputs.at("bytes"), copy.size());
  EXPECT_EQ(outputs.at("sha256"), Sha256Hex(copy));
}

TEST_F(SqliteAdapterTest, BackupHoldsWritersOffUntilTheCopyIsComplete) {
  Grow();
  const json before = Baseline(db_, {"docs"});
  Invocation invocation = MakeInvocation("backup", {{"to", "backups/"}});
  std::vector<std::string> refusals;
  invocation.progress = [&](std::string_view line) {
    if (line.find("100%") == std::string_view::npos) {
      refusals.push_back(RawDb(db_).Exec("DELETE FROM docs WHERE id > 100"));
    }
  };
  Outcome outcome = adapter_->Run(invocation);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  ASSERT_FALSE(refusals.empty());
  EXPECT_THAT(refusals, Each(HasSubstr("locked")));
  EXPECT_EQ(Baseline(outcome.outputs.at("path").get<std::string>(), {"docs"}), before);
  EXPECT_EQ(RawDb(db_).Exec("DELETE FROM docs WHERE id > 100"), "");  // the copy let go
}

TEST_F(SqliteAdapterTest, BackupOfWalDatabaseIsOneSelfContainedFile) {
  RawDb writer(db_);
  ASSERT_EQ(writer.Exec("PRAGMA journal_mode=WAL; INSERT INTO media VALUES (3, 'wal');"), "");
  const json outputs = Backup("backups/");
  const fs::path path = outputs.at("path").get<std::string>();
  Result<FileDigest> digest = Sha256File(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(outputs.at("sha256"), digest->sha256_hex);
  EXPECT_EQ(outputs.at("bytes"), digest->bytes);
  std::ifstream file(path, std::ios::binary);
  char header[20] = {};
  file.read(header, sizeof(header));
  EXPECT_EQ(header[18], 1) << "write version should be rollback journal, not WAL";
  EXPECT_EQ(FilesIn(dir_ / "backups"), std::vector<fs::path>{path});
  EXPECT_EQ(RawDb(path).Integer("SELECT count(*) FROM media"), 3);
}

TEST_F(SqliteAdapterTest, BackupNeverWritesThroughFilesOrLinksAtOldPartialNames) {
  // What an interrupted attempt of the old fixed-name scheme left, and a planted link: the
  // copy goes to a new file of its own, and neither is followed, reused or removed.
  const fs::path final_path = dir_ / "out" / "copy.db";
  fs::create_directories(final_path.parent_path());
  std::ofstream(final_path.string() + ".partial") << "half a copy";
  std::ofstream(final_path.string() + ".partial-journal") << "stale journal";
  std::ofstream(dir_ / "victim") << "victim";
  fs::create_symlink(dir_ / "victim", final_path.string() + ".0000000000000000.partial");
  Backup("out/copy.db");
  EXPECT_EQ(RawDb(final_path).Integer("SELECT count(*) FROM images"), 100);
  EXPECT_EQ(FilesIn(final_path.parent_path()).size(), 4u);  // copy.db and the three above
  std::ifstream partial(final_path.string() + ".partial");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(partial), {}), "half a copy");
  std::ifstream victim(dir_ / "victim");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(victim), {}), "victim");
}

TEST_F(SqliteAdapterTest, BackupOrRestoreOntoTheDatabaseItselfIsRefused) {
  EXPECT_EQ(Run("backup", {{"to", "./app.db"}}).status.code(), Code::kInvalidArgument);
  EXPECT_EQ(Run("restore", {{"from", "app.db"}}).status.code(), Code::kInvalidArgument);
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, BackupReportsProgress) {
  Invocation invocation = MakeInvocation("backup", {{"to", "backups/"}});
  std::vector<std::string> lines;
  invocation.progress = [&lines](std::string_view line) { lines.emplace_back(line); };
  ASSERT_TRUE(adapter_->Run(invocation).status.ok());
  ASSERT_FALSE(lines.empty());
  const std::string& last = lines.back();
  const std::string pages = last.substr(last.find('(') + 1, last.find('/') - last.find('(') - 1);
  EXPECT_EQ(last, "backup 100% (" + pages + "/" + pages + " pages)");
  EXPECT_GT(std::stoi(pages), 0);
}

TEST_F(SqliteAdapterTest, CancelledBackupStopsAndLeavesNoFile) {
  Grow();
  Invocation invocation = MakeInvocation("backup", {{"to", "backups/"}});
  std::atomic<bool> cancel{false};
  std::vector<std::string> lines;
  invocation.cancel = &cancel;
  invocation.progress = [&](std::string_view line) {
    lines.emplace_back(line);
    cancel = true;  // as if SIGINT arrived during the first chunk
  };
  Outcome outcome = adapter_->Run(invocation);
  EXPECT_EQ(outcome.status.code(), Code::kCancelled) << outcome.status.ToString();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], Not(HasSubstr("100%")));
  EXPECT_TRUE(FilesIn(dir_ / "backups").empty());
}

// --- restore ---------------------------------------------------------------------------

TEST_F(SqliteAdapterTest, RestoreBringsBackTheBackedUpContent) {
  const json tables = {"images", "docs", "media"};
  const json before = Baseline(db_, tables);
  const json backup = Backup("backups/");
  ASSERT_EQ(RawDb(db_).Exec("DELETE FROM images WHERE id < 50; DROP TABLE media; "
                            "CREATE TABLE extra(x);"),
            "");
  Outcome outcome = Run("restore", {{"from", backup["path"]}, {"sha256", backup["sha256"]}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(
      outcome.outputs,
      json({{"from", backup["path"]}, {"bytes", backup["bytes"]}, {"sha256", backup["sha256"]}}));
  EXPECT_EQ(Baseline(db_, tables), before);
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'"), 0);
  // Restoring again changes nothing.
  ASSERT_TRUE(Run("restore", {{"from", backup["path"]}}).status.ok());
  EXPECT_EQ(Baseline(db_, tables), before);
}

TEST_F(SqliteAdapterTest, RestoreIntoWalDatabaseKeepsItInWalMode) {
  const json backup = Backup("backups/");
  RawDb db(db_);
  ASSERT_EQ(db.Exec("PRAGMA journal_mode=WAL; DELETE FROM images;"), "");
  ASSERT_TRUE(Run("restore", {{"from", backup["path"]}}).status.ok());
  EXPECT_EQ(db.Integer("SELECT count(*) FROM images"), 100);
  EXPECT_EQ(db.Integer("SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
}

TEST_F(SqliteAdapterTest, CancelledRestoreLeavesLiveDatabaseUntouched) {
  Grow();
  const json backup = Backup("backups/");
  ASSERT_EQ(RawDb(db_).Exec("DELETE FROM images"), "");
  Invocation invocation = MakeInvocation("restore", {{"from", backup["path"]}});
  std::atomic<bool> cancel{false};
  invocation.cancel = &cancel;
  invocation.progress = [&cancel](std::string_view) { cancel = true; };
  EXPECT_EQ(adapter_->Run(invocation).status.code(), Code::kCancelled);
  RawDb db(db_);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM images"), 0);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM docs"), 610);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"),
            0);
}

TEST_F(SqliteAdapterTest, RestoreRefusesBackupWhoseDigestChanged) {
  const json backup = Backup("backups/");
  ASSERT_EQ(RawDb(backup["path"].get<std::string>()).Exec("DELETE FROM images"), "");
  ASSERT_EQ(RawDb(db_).Exec("DELETE FROM media"), "");
  Outcome outcome = Run("restore", {{"from", backup["path"]}, {"sha256", backup["sha256"]}});
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed);
  EXPECT_THAT(outcome.status.message(), HasSubstr("changed since it was taken (sha256 "));
  EXPECT_THAT(outcome.status.message(), HasSubstr(backup["sha256"].get<std::string>()));
  RawDb db(db_);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM media"), 0);
  EXPECT_EQ(db.Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, RestoreRefusesFileThatIsNotASoundDatabase) {
  std::ofstream(dir_ / "garbage.db") << std::string(8192, 'x');
  Outcome outcome = Run("restore", {{"from", "garbage.db"}});
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed) << outcome.status.ToString();
  EXPECT_THAT(outcome.status.message(), HasSubstr("is not a sound database"));
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, RestoreRefusesDamagedBackupEvenWhenItsDigestMatches) {
  Grow();
  const fs::path path = DamagedBackup();
  ASSERT_EQ(RawDb(db_).Exec("DELETE FROM images"), "");
  Outcome outcome =
      Run("restore", {{"from", path.string()}, {"sha256", Sha256Hex(Contents(path))}});
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed) << outcome.status.ToString();
  EXPECT_THAT(outcome.status.message(), HasSubstr("is not a sound database"));
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 0);
}

// Refused before the live database is touched: not written and rolled back, but left byte for
// byte as it was, with no rollback journal beside it (the backup is read through a memory
// map and checked before the live database is opened).
TEST_F(SqliteAdapterTest, RestoreOfDamagedBackupLeavesLiveFileByteForByte) {
  Grow();
  const fs::path path = DamagedBackup();
  ASSERT_EQ(RawDb(db_).Exec("DELETE FROM images"), "");
  const std::string live_before = Contents(db_);
  Outcome outcome =
      Run("restore", {{"from", path.string()}, {"sha256", Sha256Hex(Contents(path))}});
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed) << outcome.status.ToString();
  EXPECT_TRUE(Contents(db_) == live_before);
  EXPECT_FALSE(fs::exists(db_.string() + "-journal"));
}

TEST_F(SqliteAdapterTest, RestoreReportsChangedDigestBeforeDamage) {
  std::ofstream(dir_ / "garbage.db") << std::string(8192, 'x');
  Outcome outcome = Run("restore", {{"from", "garbage.db"}, {"sha256", std::string(64, '0')}});
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed);
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("changed since it was taken (sha256 " + Sha256Hex(std::string(8192, 'x'))));
  // With its true digest, the same file passes the hash and fails the check.
  outcome = Run("restore", {{"from", "garbage.db"}, {"sha256", Sha256Hex(std::string(8192, 'x'))}});
  EXPECT_THAT(outcome.status.message(), HasSubstr("is not a sound database"));
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 100);
}

TEST_F(SqliteAdapterTest, RestoreOfMissingBackupIsNotFound) {
  Outcome outcome = Run("restore", {{"from", "backups/none.db"}});
  EXPECT_EQ(outcome.status.code(), Code::kNotFound);
  EXPECT_EQ(outcome.status.message(),
            "backup file " + (dir_ / "backups" / "none.db").string() + " does not exist");
}

// --- baseline --------------------------------------------------------------------------

TEST_F(SqliteAdapterTest, BaselineCountsRowsAndChecksumsContent) {
  Outcome outcome = Run("baseline", {{"tables", {"images", "media"}}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  const json& tables = outcome.outputs.at("tables");
  EXPECT_EQ(tables.at("images").at("rows"), 100);
  EXPECT_EQ(tables.at("media").at("rows"), 2);
  EXPECT_THAT(tables.at("images").at("checksum").get<std::string>(),
              ::testing::MatchesRegex("[0-9a-f]{64}"));
}

TEST_F(SqliteAdapterTest, BaselineChecksumIgnoresRowOrderButSeesValuesAndTypes) {
  const fs::path other = dir_ / "other.db";
  auto checksum_after = [&](const std::string& inserts) {
    fs::remove(other);
    EXPECT_EQ(RawDb(other).Exec("CREATE TABLE t(a, b);" + inserts), "");
    return Baseline(other, {"t"})["tables"]["t"]["checksum"];
  };
  const json forward =
      checksum_after("INSERT INTO t VALUES (1, 'x'), (2, x'00'), (NULL, 2.5), (1, 'x');");
  const json backward =
      checksum_after("INSERT INTO t VALUES (1, 'x'), (NULL, 2.5), (2, x'00'), (1, 'x');");
  EXPECT_EQ(forward, backward);
  EXPECT_NE(forward, checksum_after(  // one value changed
                         "INSERT INTO t VALUES (1, 'x'), (2, x'00'), (NULL, 2.6), (1, 'x');"));
  EXPECT_NE(forward, checksum_after(  // same text, other type
                         "INSERT INTO t VALUES ('1', 'x'), (2, x'00'), (NULL, 2.5), (1, 'x');"));
  EXPECT_NE(forward, checksum_after(  // a duplicate row removed
                         "INSERT INTO t VALUES (1, 'x'), (2, x'00'), (NULL, 2.5);"));
  EXPECT_NE(checksum_after("INSERT INTO t VALUES ('ab', 'c');"),
            checksum_after("INSERT INTO t VALUES ('a', 'bc');"));
  EXPECT_EQ(checksum_after(""), std::string(64, '0'));
}

TEST_F(SqliteAdapterTest, BaselineOfMissingTableIsNotFound) {
  Outcome outcome = Run("baseline", {{"tables", {"images", "nope"}}});
  EXPECT_EQ(outcome.status.code(), Code::kNotFound);
  EXPECT_EQ(outcome.status.message(), "table 'nope' does not exist");
}

TEST_F(SqliteAdapterTest, BaselineQuotesIdentifiers) {
  ASSERT_EQ(RawDb(db_).Exec(R"(CREATE TABLE "we""ird"(x); INSERT INTO "we""ird" VALUES (1);)"), "");
  Outcome outcome = Run("baseline", {{"tables", {"we\"ird"}}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.outputs["tables"]["we\"ird"]["rows"], 1);
}

TEST_F(SqliteAdapterTest, CancelStopsBaseline) {
  // Enough rows that reading them takes many thousands of SQLite instructions.
  ASSERT_EQ(RawDb(db_).Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                            "WHERE i < 5000) INSERT INTO images SELECT i + 100, 'x' FROM n;"),
            "");
  Invocation invocation = MakeInvocation("baseline", {{"tables", {"images"}}});
  const std::atomic<bool> cancel{true};
  invocation.cancel = &cancel;
  EXPECT_EQ(adapter_->Run(invocation).status.code(), Code::kCancelled);
}

// --- query -----------------------------------------------------------------------------

TEST_F(SqliteAdapterTest, QueryReturnsFirstValueTyped) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"SELECT 42", 42},
      {"SELECT -1.5", -1.5},
      {"SELECT name FROM images WHERE id = 7", "img7"},
      {"SELECT NULL", nullptr},
      {"SELECT x'00ff'", "00ff"},
      {"SELECT id FROM images WHERE id > 1000", nullptr},
      {"SELECT count(*), 'second column ignored' FROM media", 2},
  };
  for (const auto& [sql, value] : cases) {
    Outcome outcome = Run("query", {{"sql", sql}});
    ASSERT_TRUE(outcome.status.ok()) << sql << ": " << outcome.status.ToString();
    EXPECT_EQ(outcome.outputs, json({{"value", value}})) << sql;
  }
}

TEST_F(SqliteAdapterTest, QueryComparesWithExpect) {
  struct Case {
    std::string sql;
    json expect;
    bool match;
  };
  const std::vector<Case> cases = {
      {"SELECT count(*) FROM media", 2, true},
      {"SELECT count(*) FROM media", 2.0, true},
      {"SELECT count(*) FROM media", 0, false},
      {"SELECT 2.5", 2.5, true},
      {"SELECT '2'", 2, false},
      {"SELECT 'abc'", "abc", true},
      {"SELECT 'abc'", "ABC", false},
      {"SELECT NULL", nullptr, true},
      {"SELECT 0", nullptr, false},
      {"SELECT 1", true, true},
      {"SELECT id FROM images WHERE 0", nullptr, true},
  };
  for (const Case& c : cases) {
    Outcome outcome = Run("query", {{"sql", c.sql}, {"expect", c.expect}});
    EXPECT_EQ(outcome.status.code(), c.match ? Code::kOk : Code::kExpectationFailed)
        << c.sql << " expect " << c.expect.dump();
    EXPECT_TRUE(outcome.outputs.contains("value")) << c.sql;
  }
  EXPECT_EQ(Run("query", {{"sql", "SELECT 3"}, {"expect", 0}}).status.message(),
            "query returned 3, expected 0");
}

TEST_F(SqliteAdapterTest, QueryRefusesWritesAndSeveralStatements) {
  for (const std::string sql : {"DELETE FROM images", "SELECT 1; DELETE FROM images"}) {
    Outcome outcome = Run("query", {{"sql", sql}});
    EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument) << sql;
  }
  EXPECT_EQ(RawDb(db_).Integer("SELECT count(*) FROM images"), 100);
  EXPECT_TRUE(Run("query", {{"sql", "SELECT 1; -- just a comment\n"}}).status.ok());
}

TEST_F(SqliteAdapterTest, QueryErrorIsNotAnExpectationFailure) {
  // As a step's check, kExpectationFailed would mean "the effect is not there".
  Outcome outcome = Run("query", {{"sql", "SELECT nope FROM images"}, {"expect", 0}});
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_THAT(outcome.status.message(), HasSubstr("no such column: nope"));
}

TEST_F(SqliteAdapterTest, DeadlineStopsLongQuery) {
  Invocation invocation = MakeInvocation("query", {{"sql", kEndlessQuery}});
  invocation.timeout = std::chrono::milliseconds(100);
  Outcome outcome = adapter_->Run(invocation);
  EXPECT_EQ(outcome.status.code(), Code::kTimeout) << outcome.status.ToString();
}

TEST_F(SqliteAdapterTest, CancelFromAnotherThreadStopsLongQuery) {
  Invocation invocation = MakeInvocation("query", {{"sql", kEndlessQuery}});
  std::atomic<bool> cancel{false};
  invocation.cancel = &cancel;
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel = true;
  });
  Outcome outcome = adapter_->Run(invocation);
  canceller.join();
  EXPECT_EQ(outcome.status.code(), Code::kCancelled) << outcome.status.ToString();
}

// --- verify ----------------------------------------------------------------------------

TEST_F(SqliteAdapterTest, VerifyPassesWhenEveryCheckHolds) {
  const json baseline = Baseline(db_, {"images", "docs"});
  Outcome outcome =
      Run("verify", {{"checks",
                      {{{"table_present", {"images", "docs"}}},
                       {{"table_absent", "gone"}},
                       {{"row_count", {{"table", "images"}, {"equals", "baseline"}}}},
                       {{"row_count", {{"table", "media"}, {"equals", 2}}}},
                       {{"checksum", {{"table", "docs"}, {"equals", "baseline"}}}},
                       {{"integrity", true}},
                       {{"query", {{"sql", "SELECT count(*) FROM media"}, {"expect", 2}}}}}}},
          baseline);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.outputs["passed"], 8);
  EXPECT_EQ(outcome.outputs["failed"], 0);
}

TEST_F(SqliteAdapterTest, VerifyRunsAllChecksAndReportsEachFailure) {
  const json baseline = Baseline(db_, {"images"});
  ASSERT_EQ(RawDb(db_).Exec("DELETE FROM images WHERE id = 100"), "");
  Outcome outcome =
      Run("verify", {{"checks",
                      {{{"row_count", {{"table", "images"}, {"equals", "baseline"}}}},
                       {{"table_present", "images"}},
                       {{"table_absent", "media"}},
                       {{"integrity", true}},
                       {{"query", {{"sql", "SELECT count(*) FROM docs"}, {"expect", 10}}}},
                       {{"row_count", {{"table", "docs"}, {"equals", "10"}}}}}}},
          baseline);
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(outcome.status.message(),
            "2 of 6 checks failed: row_count images: expected 100, observed 99; "
            "table_absent media: table exists");
  EXPECT_EQ(outcome.outputs["passed"], 4);
  EXPECT_EQ(outcome.outputs["failed"], 2);
  const json& checks = outcome.outputs["checks"];
  ASSERT_EQ(checks.size(), 6u);
  EXPECT_EQ(checks[0], json({{"check", "row_count images"},
                             {"expected", 100},
                             {"observed", 99},
                             {"pass", false},
                             {"message", "expected 100, observed 99"}}));
  EXPECT_EQ(checks[1], json({{"check", "table_present images"},
                             {"expected", "present"},
                             {"observed", "present"},
                             {"pass", true}}));
  EXPECT_EQ(checks[3]["observed"],
            json({{"integrity_check", "ok"}, {"foreign_key_violations", 0}}));
}

TEST_F(SqliteAdapterTest, VerifyWithoutUsableBaselineFailsThoseChecksClearly) {
  const json checks = {{{"row_count", {{"table", "images"}, {"equals", "baseline"}}}},
                       {{"checksum", {{"table", "media"}, {"equals", "baseline"}}}},
                       {{"row_count", {{"table", "gone"}, {"equals", 0}}}}};
  Outcome no_baseline = Run("verify", {{"checks", checks}});
  EXPECT_EQ(no_baseline.status.code(), Code::kExpectationFailed);
  EXPECT_THAT(no_baseline.status.message(),
              HasSubstr("3 of 3 checks failed: row_count images: no baseline to compare with"));
  EXPECT_THAT(no_baseline.status.message(),
              HasSubstr("row_count gone: table 'gone' does not exist"));

  Outcome partial = Run("verify", {{"checks", checks}}, Baseline(db_, {"images"}));
  EXPECT_EQ(partial.outputs["passed"], 1);
  EXPECT_THAT(partial.status.message(),
              HasSubstr("checksum media: the baseline does not cover table 'media'"));

  Outcome malformed = Run("verify", {{"checks", checks}}, json("nonsense"));
  EXPECT_EQ(malformed.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(malformed.outputs["failed"], 3);
}

TEST_F(SqliteAdapterTest, VerifyChecksumNoticesChangedContent) {
  const json baseline = Baseline(db_, {"images"});
  ASSERT_EQ(RawDb(db_).Exec("UPDATE images SET name = 'changed' WHERE id = 5"), "");
  Outcome outcome =
      Run("verify", {{"checks", {{{"checksum", {{"table", "images"}, {"equals", "baseline"}}}}}}},
          baseline);
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(outcome.outputs["checks"][0]["expected"], baseline["tables"]["images"]["checksum"]);

  const json now = Baseline(db_, {"images"})["tables"]["images"]["checksum"];
  EXPECT_TRUE(Run("verify", {{"checks", {{{"checksum", {{"table", "images"}, {"equals", now}}}}}}})
                  .status.ok());
}

// Checksums compare columns by name: a column dropped and re-added at the end, holding the
// same values, verifies equal. A baseline journaled before `column_order` existed was
// positional and is still compared positionally; an order this version does not know is
// refused, not judged.
TEST_F(SqliteAdapterTest, AColumnReaddedAtTheEndVerifiesEqualAndOldBaselinesStayPositional) {
  ASSERT_EQ(RawDb(db_).Exec("CREATE TABLE moved(id INTEGER, note TEXT, amount REAL);"
                            "INSERT INTO moved VALUES (1, 'a', 1.5), (2, NULL, 2.5);"),
            "");
  const json baseline = Baseline(db_, {"moved"});
  EXPECT_EQ(baseline["column_order"], "by_name");
  const json checks = {{{"checksum", {{"table", "moved"}, {"equals", "baseline"}}}}};

  // Names sorting in the table's own order: hashed by name, these rows hash as moved's do
  // by position.
  const fs::path named = dir_ / "named.db";
  ASSERT_EQ(RawDb(named).Exec("CREATE TABLE moved(a_id INTEGER, b_note TEXT, c_amount REAL);"
                              "INSERT INTO moved VALUES (1, 'a', 1.5), (2, NULL, 2.5);"),
            "");
  json positional = baseline;  // as an older version journaled it
  positional.erase("column_order");
  positional["tables"]["moved"]["checksum"] = Baseline(named, {"moved"})["tables"]["moved"]["checksum"];
  EXPECT_NE(positional, baseline);
  EXPECT_TRUE(Run("verify", {{"checks", checks}}, positional).status.ok());

  json unknown = baseline;
  unknown["column_order"] = "by_phase_of_moon";
  Outcome refused = Run("verify", {{"checks", checks}}, unknown);
  EXPECT_EQ(refused.status.code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status.message(), HasSubstr("does not know"));

  ASSERT_EQ(RawDb(db_).Exec("ALTER TABLE moved DROP COLUMN note;"
                            "ALTER TABLE moved ADD COLUMN note TEXT;"
                            "UPDATE moved SET note = 'a' WHERE id = 1;"),
            "");
  EXPECT_TRUE(Run("verify", {{"checks", checks}}, baseline).status.ok());
  EXPECT_EQ(Run("verify", {{"checks", checks}}, positional).status.code(),
            Code::kExpectationFailed);
  ASSERT_EQ(RawDb(db_).Exec("UPDATE moved SET note = 'b' WHERE id = 1;"), "");
  EXPECT_EQ(Run("verify", {{"checks", checks}}, baseline).status.code(), Code::kExpectationFailed);
}

TEST_F(SqliteAdapterTest, ABaselineWithoutChecksumsTakesCountsOnly) {
  Outcome counts = Run("baseline", {{"tables", {"images"}}, {"checksum", false}});
  ASSERT_TRUE(counts.status.ok()) << counts.status.ToString();
  EXPECT_EQ(counts.outputs["tables"], json({{"images", {{"rows", 100}}}}));
  const json checks = {{{"row_count", {{"table", "images"}, {"equals", "baseline"}}}},
                       {{"checksum", {{"table", "images"}, {"equals", "baseline"}}}}};
  Outcome out = Run("verify", {{"checks", checks}}, counts.outputs);
  EXPECT_EQ(out.outputs["passed"], 1);
  EXPECT_THAT(out.status.message(),
              HasSubstr("checksum images: the baseline of table 'images' has no checksum"));
  EXPECT_FALSE(adapter_->Validate("baseline", {{"type", "sqlite"}, {"path", "x.db"}},
                                  {{"tables", {"images"}}, {"checksum", "no"}})
                   .empty());

  // A list: the checksums of those tables only (what the engine passes when later checks
  // read some).
  Outcome some = Run("baseline", {{"tables", {"images", "media"}}, {"checksum", {"media"}}});
  ASSERT_TRUE(some.status.ok()) << some.status.ToString();
  EXPECT_FALSE(some.outputs["tables"]["images"].contains("checksum"));
  EXPECT_TRUE(some.outputs["tables"]["media"].contains("checksum"));
}

TEST_F(SqliteAdapterTest, VerifyIntegrityFindsForeignKeyViolations) {
  ASSERT_EQ(RawDb(db_).Exec("CREATE TABLE orders(id INTEGER PRIMARY KEY, "
                            "image_id INTEGER REFERENCES images(id));"
                            "INSERT INTO orders VALUES (1, 5), (2, 500);"),
            "");
  Outcome outcome = Run("verify", {{"checks", {{{"integrity", true}}}}});
  EXPECT_EQ(outcome.status.code(), Code::kExpectationFailed);
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("1 foreign key violation(s), first: row 2 of orders refers to a "
                        "missing row of images"));
  EXPECT_EQ(outcome.outputs["checks"][0]["observed"]["foreign_key_violations"], 1);
}

TEST_F(SqliteAdapterTest, VerifyCheckThatCannotRunIsAnErrorNotAFailure) {
  Outcome outcome = Run("verify", {{"checks",
                                    {{{"table_present", "images"}},
                                     {{"query", {{"sql", "SELEC 1"}, {"expect", 1}}}},
                                     {{"table_absent", "media"}}}}});
  EXPECT_EQ(outcome.status.code(), Code::kIOError);
  EXPECT_THAT(outcome.status.message(), HasSubstr("2 of 3 checks failed: query SELEC 1: failed:"));
  EXPECT_EQ(outcome.outputs["checks"].size(), 3u);
}

// --- Validate --------------------------------------------------------------------------

struct ValidateCase {
  std::string name;
  std::string action;
  json target_change;  // merged into a valid target
  json params;
  std::string pointer;  // expected among the errors
  bool in_target = false;
};

class SqliteValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(SqliteValidateTest, ReportsPointerOfOffendingNode) {
  const ValidateCase& c = GetParam();
  json target = {{"type", "sqlite"}, {"path", "app.db"}};
  if (c.target_change.is_object()) target.merge_patch(c.target_change);
  const std::vector<ParamError> errors = MakeSqliteAdapter()->Validate(c.action, target, c.params);
  std::vector<std::string> found;
  for (const ParamError& error : errors) {
    found.push_back((error.in_target ? "target" : "params") + error.pointer + ": " + error.message);
  }
  const std::string want = (c.in_target ? "target" : "params") + c.pointer + ":";
  EXPECT_THAT(found, Contains(::testing::StartsWith(want))) << c.name;
}

const json kRowCountOk = {{"table", "images"}, {"equals", 3}};

INSTANTIATE_TEST_SUITE_P(
    Cases, SqliteValidateTest,
    ::testing::Values(
        ValidateCase{"unknown_action", "drop", {}, json::object(), ""},
        ValidateCase{
            "target_without_path", "query", {{"path", nullptr}}, {{"sql", "S"}}, "/path", true},
        ValidateCase{"target_busy_timeout",
                     "query",
                     {{"busy_timeout", "soon"}},
                     {{"sql", "S"}},
                     "/busy_timeout",
                     true},
        ValidateCase{"target_negative_busy_timeout",
                     "query",
                     {{"busy_timeout", -1}},
                     {{"sql", "S"}},
                     "/busy_timeout",
                     true},
        ValidateCase{"target_unknown_key", "query", {{"pth", "x"}}, {{"sql", "S"}}, "/pth", true},
        ValidateCase{"params_not_mapping", "query", {}, json::array(), ""},
        ValidateCase{"sql_neither", "sql", {}, json::object(), ""},
        ValidateCase{"sql_both", "sql", {}, {{"script", "S"}, {"file", "f"}}, ""},
        ValidateCase{"sql_script_type", "sql", {}, {{"script", 5}}, "/script"},
        ValidateCase{"sql_typo", "sql", {}, {{"scirpt", "S"}}, "/scirpt"},
        ValidateCase{"escaped_key", "sql", {}, {{"script", "S"}, {"a/b~", 1}}, "/a~1b~0"},
        ValidateCase{"backup_without_to", "backup", {}, json::object(), "/to"},
        ValidateCase{"backup_to_type", "backup", {}, {{"to", 3}}, "/to"},
        ValidateCase{"restore_from_type", "restore", {}, {{"from", {"a"}}}, "/from"},
        ValidateCase{
            "restore_sha256", "restore", {}, {{"from", "f"}, {"sha256", "abc"}}, "/sha256"},
        ValidateCase{"baseline_empty", "baseline", {}, {{"tables", json::array()}}, "/tables"},
        ValidateCase{"baseline_not_list", "baseline", {}, {{"tables", "images"}}, "/tables"},
        ValidateCase{"baseline_bad_name", "baseline", {}, {{"tables", {"a", 3}}}, "/tables/1"},
        ValidateCase{"verify_without_checks", "verify", {}, json::object(), "/checks"},
        ValidateCase{"verify_no_checks", "verify", {}, {{"checks", json::array()}}, "/checks"},
        ValidateCase{"check_two_keys",
                     "verify",
                     {},
                     {{"checks", {{{"integrity", true}, {"table_present", "a"}}}}},
                     "/checks/0"},
        ValidateCase{"check_unknown_kind",
                     "verify",
                     {},
                     {{"checks", {{{"integrity", true}}, {{"row_cuont", kRowCountOk}}}}},
                     "/checks/1/row_cuont"},
        ValidateCase{"row_count_equals",
                     "verify",
                     {},
                     {{"checks",
                       {{{"table_present", "a"}},
                        {{"table_absent", "b"}},
                        {{"row_count", {{"table", "a"}, {"equals", "lots"}}}}}}},
                     "/checks/2/row_count/equals"},
        ValidateCase{"row_count_float",
                     "verify",
                     {},
                     {{"checks", {{{"row_count", {{"table", "a"}, {"equals", 1.5}}}}}}},
                     "/checks/0/row_count/equals"},
        ValidateCase{"row_count_missing_equals",
                     "verify",
                     {},
                     {{"checks", {{{"row_count", {{"table", "a"}}}}}}},
                     "/checks/0/row_count/equals"},
        ValidateCase{"row_count_extra_key",
                     "verify",
                     {},
                     {{"checks", {{{"row_count", {{"table", "a"}, {"equals", 1}, {"x", 1}}}}}}},
                     "/checks/0/row_count/x"},
        ValidateCase{
            "row_count_target_key",
            "verify",
            {},
            {{"checks", {{{"row_count", {{"table", "a"}, {"equals", 1}, {"target", "x"}}}}}}},
            "/checks/0/row_count/target"},
        ValidateCase{"checksum_equals",
                     "verify",
                     {},
                     {{"checks", {{{"checksum", {{"table", "a"}, {"equals", 5}}}}}}},
                     "/checks/0/checksum/equals"},
        ValidateCase{"table_present_empty",
                     "verify",
                     {},
                     {{"checks", {{{"table_present", json::array()}}}}},
                     "/checks/0/table_present"},
        ValidateCase{"integrity_false",
                     "verify",
                     {},
                     {{"checks", {{{"integrity", false}}}}},
                     "/checks/0/integrity"},
        ValidateCase{"verify_query_without_expect",
                     "verify",
                     {},
                     {{"checks", {{{"query", {{"sql", "S"}}}}}}},
                     "/checks/0/query/expect"},
        ValidateCase{"query_without_sql", "query", {}, json::object(), "/sql"},
        ValidateCase{"query_expect_list", "query", {}, {{"sql", "S"}, {"expect", {1}}}, "/expect"}),
    [](const ::testing::TestParamInfo<ValidateCase>& param_info) { return param_info.param.name; });

TEST(SqliteValidate, AcceptsValidParamsEngineKeysAndReferences) {
  const auto adapter = MakeSqliteAdapter();
  const json target = {{"type", "sqlite"}, {"path", "${DATA_DIR}/app.db"}, {"busy_timeout", 250}};
  const std::vector<std::pair<std::string, json>> valid = {
      {"sql", {{"script", "DELETE FROM t"}, {"target", "appdb"}, {"timeout", "5s"}}},
      {"sql", {{"file", "rollback.sql"}}},
      {"backup", {{"to", "backups/"}}},
      {"restore",
       {{"from", "${steps.backup.outputs.path}"}, {"sha256", "${steps.backup.outputs.sha256}"}}},
      {"restore", {{"from", "b.db"}, {"sha256", std::string(64, 'a')}}},
      {"baseline", {{"tables", {"images", "docs"}}}},
      {"verify",
       {{"checks",
         {{{"table_present", "images"}},
          {{"table_absent", {"media", "tmp"}}},
          {{"row_count", {{"table", "images"}, {"equals", "baseline"}}}},
          {{"row_count", {{"table", "images"}, {"equals", 0}}}},
          {{"row_count", {{"table", "images"}, {"equals", "${steps.b.outputs.tables.t.rows}"}}}},
          {{"checksum", {{"table", "images"}, {"equals", "baseline"}}}},
          {{"integrity", true}},
          {{"query", {{"sql", "SELECT 1"}, {"expect", nullptr}}}}}}}},
      {"query", {{"sql", "SELECT count(*) FROM media"}, {"expect", 0}}},
      {"query", {{"sql", "SELECT 1"}}},
  };
  for (const auto& [action, params] : valid) {
    const std::vector<ParamError> errors = adapter->Validate(action, target, params);
    EXPECT_TRUE(errors.empty()) << action << " " << params.dump() << ": "
                                << (errors.empty() ? ""
                                                   : errors[0].pointer + " " + errors[0].message);
  }
  EXPECT_EQ(adapter->type(), "sqlite");
}

TEST_F(SqliteAdapterTest, RunRefusesUnexpandedReferenceWhereANumberBelongs) {
  Outcome outcome = Run(
      "verify",
      {{"checks", {{{"row_count", {{"table", "images"}, {"equals", "${steps.b.outputs.x}"}}}}}}});
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_THAT(outcome.status.message(), HasSubstr("params/checks/0/row_count/equals"));
}

}  // namespace
}  // namespace backout::adapters
