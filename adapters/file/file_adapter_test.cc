// Tests of the file and json_store adapters through their public interface, on real files in
// a fresh temporary directory per test.
#include "adapters/file/file_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/json_store/json_store_adapter.h"
#include "base/sha256.h"
#include "testing/invocation_builder.h"
#include "testing/temp_dir.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kSecret[] = "s3cr3t-P4ssw0rd";

constexpr char kEnv[] =
    "# Application settings\n"
    "export NODE_ENV=production\n"
    "\n"
    "DATABASE_TYPE=dynamodb   # switched by the migration\n"
    "DATABASE_URL='postgres://app:s3cr3t-P4ssw0rd@db:5432/app'\n"
    "DYNAMODB_TABLE_PREFIX=\"lightningtalk-circle-\"\n"
    "  GREETING = \"hello world\"\n";

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

unsigned int ModeOf(const fs::path& path) {
  struct stat info {};
  stat(path.c_str(), &info);
  return info.st_mode & 07777;
}

// Every file name below `dir`, relative to it, sorted.
std::vector<std::string> Listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(entry.path().lexically_relative(dir).generic_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class FileAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_ / "app";
    fs::create_directories(root_);
    Write(root_ / ".env", kEnv);
    chmod((root_ / ".env").c_str(), 0640);
  }
  Outcome RunFile(const json& params, const json& target = {{"type", "file"}, {"root", "app"}}) {
    Outcome outcome = file_->Run(testing::InvocationBuilder("file")
                                     .Target("app", target)
                                     .Params(params)
                                     .RunId("run1")
                                     .Dirs(dir_)
                                     .Build());
    EXPECT_EQ(UndeclaredOutputs(file_->vocabulary(), "file", outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }

  const testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
  fs::path root_;
  std::unique_ptr<Adapter> file_ = MakeFileAdapter();
};

// ---- copy and restore ----------------------------------------------------------------------

TEST_F(FileAdapterTest, CopyMakesANewFileWithTheSourcesModeAndDigests) {
  const Outcome out = RunFile({{"copy", {{"from", ".env"}, {"to", "saved/.env.backup"}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Read(root_ / "saved/.env.backup"), kEnv);
  EXPECT_EQ(ModeOf(root_ / "saved/.env.backup"), 0640u);
  EXPECT_EQ(out.outputs["sha256"], Sha256Hex(kEnv));
  EXPECT_EQ(out.outputs["after_sha256"], Sha256Hex(kEnv));
  EXPECT_EQ(out.outputs["before_sha256"], "absent");
  EXPECT_EQ(out.outputs["bytes"], std::string(kEnv).size());
  EXPECT_EQ(out.outputs["changed"], true);
  EXPECT_EQ(out.outputs["replaced"], false);
  EXPECT_EQ(out.outputs["mode"], "0640");
  EXPECT_EQ(out.outputs["to"], "saved/.env.backup");
}

TEST_F(FileAdapterTest, CopyLeavesADifferentExistingFileAloneUnlessOverwrite) {
  Write(root_ / ".env.backup", "OLD=1\n");
  Outcome out = RunFile({{"copy", {{"from", ".env"}, {"to", ".env.backup"}}}});
  EXPECT_EQ(out.status.code(), Code::kFailedPrecondition);
  EXPECT_THAT(out.status.message(), HasSubstr("overwrite: true"));
  EXPECT_EQ(Read(root_ / ".env.backup"), "OLD=1\n");

  out = RunFile({{"copy", {{"from", ".env"}, {"to", ".env.backup"}, {"overwrite", true}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Read(root_ / ".env.backup"), kEnv);
  EXPECT_EQ(out.outputs["before_sha256"], Sha256Hex("OLD=1\n"));
  EXPECT_EQ(out.outputs["replaced"], true);
}

TEST_F(FileAdapterTest, CopyOfIdenticalContentIsANoOp) {
  Write(root_ / ".env.backup", kEnv);
  const Outcome out = RunFile({{"copy", {{"from", ".env"}, {"to", ".env.backup"}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["changed"], false);
}

TEST_F(FileAdapterTest, RestoreReplacesKeepsTheDestinationsModeAndIsIdempotent) {
  Write(root_ / ".env.backup", "DATABASE_TYPE=file\n");
  chmod((root_ / ".env.backup").c_str(), 0644);
  const json params = {{"restore", {{"from", ".env.backup"}, {"to", ".env"}}}};
  Outcome first = RunFile(params);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(Read(root_ / ".env"), "DATABASE_TYPE=file\n");
  EXPECT_EQ(ModeOf(root_ / ".env"), 0640u);  // never loosened to the backup's 0644
  EXPECT_EQ(first.outputs["replaced"], true);
  EXPECT_EQ(first.outputs["before_sha256"], Sha256Hex(kEnv));
  EXPECT_EQ(first.outputs["after_sha256"], Sha256Hex("DATABASE_TYPE=file\n"));

  Outcome second = RunFile(params);
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(Read(root_ / ".env"), "DATABASE_TYPE=file\n");
  EXPECT_EQ(second.outputs["changed"], false);
  EXPECT_EQ(second.outputs["after_sha256"], first.outputs["after_sha256"]);
  EXPECT_THAT(Listing(root_), ElementsAre(".env", ".env.backup"));  // no temp files left
}

TEST_F(FileAdapterTest, RestoreNeedsItsSourceAndChecksItsDigest) {
  Outcome out = RunFile({{"restore", {{"from", ".env.backup"}, {"to", ".env"}}}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
  EXPECT_THAT(out.status.message(), HasSubstr(".env.backup does not exist"));

  Write(root_ / ".env.backup", "A=1\n");
  out = RunFile({{"restore",
                  {{"from", ".env.backup"}, {"to", ".env"}, {"sha256", std::string(64, 'a')}}}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(Read(root_ / ".env"), kEnv);
}

TEST_F(FileAdapterTest, AWriteLeavesTheOldFileUntilTheNewOneIsComplete) {
  // A stale temp file at the old fixed name (a crashed attempt's, or a planted one) is
  // neither reused nor removed: the new temp file has a name of its own.
  Write(root_ / ".env.tmp-backout", "half a fi");
  Write(root_ / ".env.backup", "DATABASE_TYPE=file\n");
  const Outcome out = RunFile({{"restore", {{"from", ".env.backup"}, {"to", ".env"}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Read(root_ / ".env"), "DATABASE_TYPE=file\n");
  EXPECT_EQ(Read(root_ / ".env.tmp-backout"), "half a fi");
  EXPECT_THAT(Listing(root_), ElementsAre(".env", ".env.backup", ".env.tmp-backout"));
}

TEST_F(FileAdapterTest, AFailedWriteChangesNothing) {
  Write(root_ / ".env.backup", "DATABASE_TYPE=file\n");
  // A real write failure, as root too: a file size limit below the new file's size makes
  // write() fail with EFBIG (SIGXFSZ ignored so that it is an error, not a kill).
  struct rlimit old_limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct sigaction ignore {}, old_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old_action), 0);
  struct rlimit tiny = old_limit;
  tiny.rlim_cur = 4;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  const Outcome out = RunFile({{"restore", {{"from", ".env.backup"}, {"to", ".env"}}}});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &old_action, nullptr), 0);
  EXPECT_EQ(out.status.code(), Code::kIOError) << out.status.ToString();
  EXPECT_EQ(Read(root_ / ".env"), kEnv);
  EXPECT_THAT(Listing(root_), ElementsAre(".env", ".env.backup"));  // the temp file removed
}

// ---- paths ---------------------------------------------------------------------------------

TEST_F(FileAdapterTest, PathsOutsideTheRootAreRefused) {
  Write(dir_ / "outside.env", "A=1\n");
  Outcome out = RunFile({{"copy", {{"from", "../outside.env"}, {"to", "x"}}}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_THAT(out.status.message(), HasSubstr("leads outside the target's root"));

  out = RunFile({{"set_env", {{"path", "/etc/passwd"}, {"values", {{"A", "1"}}}}}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_THAT(out.status.message(), HasSubstr("absolute paths are refused"));

  fs::create_directory_symlink(dir_, root_ / "up");
  out = RunFile({{"set_env", {{"path", "up/outside.env"}, {"values", {{"A", "2"}}}}}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_THAT(out.status.message(), HasSubstr("symbolic link leads outside"));
  EXPECT_EQ(Read(dir_ / "outside.env"), "A=1\n");
}

TEST_F(FileAdapterTest, AMissingRootIsNotFound) {
  const Outcome out = RunFile({{"copy", {{"from", ".env"}, {"to", "b"}}}},
                              {{"type", "file"}, {"root", "nowhere"}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
  EXPECT_THAT(out.status.message(), HasSubstr("nowhere is not a directory"));
}

// ---- set_env and unset_env -----------------------------------------------------------------

TEST_F(FileAdapterTest, SetEnvChangesOnlyTheNamedKeysAndKeepsTheRest) {
  const Outcome out = RunFile(
      {{"set_env", {{"path", ".env"}, {"values", {{"DATABASE_TYPE", "file"},
                                                  {"DYNAMODB_TABLE_PREFIX", "tc-"},
                                                  {"NODE_ENV", "production"},
                                                  {"NEW_KEY", "two words"}}}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Read(root_ / ".env"),
            "# Application settings\n"
            "export NODE_ENV=production\n"
            "\n"
            "DATABASE_TYPE=file   # switched by the migration\n"
            "DATABASE_URL='postgres://app:s3cr3t-P4ssw0rd@db:5432/app'\n"
            "DYNAMODB_TABLE_PREFIX=\"tc-\"\n"
            "  GREETING = \"hello world\"\n"
            "NEW_KEY='two words'\n");
  EXPECT_EQ(ModeOf(root_ / ".env"), 0640u);
  EXPECT_EQ(out.outputs["changed"], json({"DATABASE_TYPE", "DYNAMODB_TABLE_PREFIX", "NEW_KEY"}));
  EXPECT_EQ(out.outputs["added"], json({"NEW_KEY"}));
  EXPECT_EQ(out.outputs["unchanged"], json({"NODE_ENV"}));
  EXPECT_EQ(out.outputs["before_sha256"], Sha256Hex(kEnv));
  EXPECT_EQ(out.outputs["after_sha256"], Sha256Hex(Read(root_ / ".env")));
  EXPECT_EQ(out.outputs["written"], true);
  EXPECT_THAT(Listing(root_), ElementsAre(".env"));

  const Outcome again = RunFile({{"set_env", {{"path", ".env"}, {"values", {{"DATABASE_TYPE", "file"}}}}}});
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_EQ(again.outputs["written"], false);
  EXPECT_THAT(again.outputs["changed"], IsEmpty());
}

TEST_F(FileAdapterTest, SetEnvQuotesWhatNeedsQuotingAndKeepsCrlf) {
  Write(root_ / "win.env", "A=1\r\nB='x'\r\nC=\"y\"");
  const Outcome out = RunFile({{"set_env",
                                {{"path", "win.env"},
                                 {"values", {{"A", "it's $HOME"}, {"B", "p q"}, {"C", "z"},
                                             {"D", ""}}}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Read(root_ / "win.env"), "A=\"it's \\$HOME\"\r\nB='p q'\r\nC=\"z\"\r\nD=\r\n");
}

TEST_F(FileAdapterTest, UnsetEnvRemovesEveryAssignmentOfTheKeys) {
  Write(root_ / ".env", "A=1\n# keep\nB=2\nA=3\n");
  const Outcome out =
      RunFile({{"unset_env", {{"path", ".env"}, {"keys", {"A", "MISSING"}}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Read(root_ / ".env"), "# keep\nB=2\n");
  EXPECT_EQ(out.outputs["changed"], json({"A"}));
  EXPECT_EQ(out.outputs["absent"], json({"MISSING"}));
}

TEST_F(FileAdapterTest, AMalformedEnvFileNamesFileAndLineAndWritesNothing) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"A=1\nthis is not an assignment\n", ".env:2: expected KEY=VALUE"},
      {"A=1\nB=\"open " + std::string(kSecret) + "\n", ".env:2: unterminated double quote"},
      {"A='x' trailing\n", ".env:1: unexpected text after the closing quote"},
      {"1A=x\n", ".env:1: expected KEY=VALUE"},
  };
  for (const Case& c : cases) {
    Write(root_ / ".env", c.text);
    const Outcome out =
        RunFile({{"set_env", {{"path", ".env"}, {"values", {{"DATABASE_TYPE", "file"}}}}}});
    EXPECT_EQ(out.status.code(), Code::kInvalidArgument) << c.text;
    EXPECT_THAT(out.status.message(), HasSubstr(c.message));
    EXPECT_THAT(out.status.message(), HasSubstr((root_ / ".env").string()));
    EXPECT_THAT(out.status.message(), Not(HasSubstr(kSecret)));
    EXPECT_EQ(Read(root_ / ".env"), c.text);
    EXPECT_THAT(Listing(root_), ElementsAre(".env"));
  }
}

TEST_F(FileAdapterTest, EnvValuesNeverReachTheOutputs) {
  const std::string new_secret = "n3w-" + std::string(kSecret);
  std::vector<Outcome> outs;
  outs.push_back(RunFile(
      {{"set_env", {{"path", ".env"}, {"values", {{"DATABASE_URL", new_secret},
                                                  {"EXTRA", new_secret}}}}}}));
  outs.push_back(RunFile({{"unset_env", {{"path", ".env"}, {"keys", {"DATABASE_URL"}}}}}));
  outs.push_back(RunFile({{"copy", {{"from", ".env"}, {"to", ".env.copy"}}}}));
  for (const Outcome& out : outs) {
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    const std::string dumped = out.outputs.dump();
    EXPECT_THAT(dumped, Not(HasSubstr(kSecret)));
    EXPECT_THAT(dumped, Not(HasSubstr("postgres://")));
  }
  EXPECT_THAT(Read(root_ / ".env"), HasSubstr("EXTRA=" + new_secret));
}

// ---- json_store ----------------------------------------------------------------------------

class JsonStoreTest : public FileAdapterTest {
 protected:
  void SetUp() override {
    FileAdapterTest::SetUp();
    store_ = dir_ / "data";
    Write(store_ / "users.json", R"([{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}])");
    Write(store_ / "events.json", R"({"e1": {"title": "Kickoff"}, "e2": {"title": "LT"}})");
    Write(store_ / "notes/readme.txt", "not a collection");
  }

  // `baseline`: what the engine passes a verify (Invocation::baseline).
  Outcome RunStore(const std::string& action, json params,
                   std::optional<json> baseline = std::nullopt) {
    testing::InvocationBuilder builder(action);
    builder.Target("store", {{"type", "json_store"}, {"path", "data/"}})
        .Params(std::move(params))
        .RunId("run1")
        .StepId(action)
        .NowMicros(1'700'000'000'000'000)
        .Dirs(dir_);
    if (baseline) builder.Baseline(std::move(*baseline));
    Outcome outcome = store_adapter_->Run(builder.Build());
    EXPECT_EQ(UndeclaredOutputs(store_adapter_->vocabulary(), action, outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }

  fs::path store_;
  std::unique_ptr<Adapter> store_adapter_ = MakeJsonStoreAdapter();
};

TEST_F(JsonStoreTest, BaselineCountsRecordsWithAnOrderIndependentChecksum) {
  Outcome out = RunStore("baseline", json::object());
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["collections"]["users"]["records"], 2);
  EXPECT_EQ(out.outputs["collections"]["events"]["records"], 2);
  EXPECT_EQ(out.outputs["collections"].size(), 2u);
  const json checksum = out.outputs["collections"]["users"]["checksum"];

  Write(store_ / "users.json", R"([{"name": "bob", "id": 2}, {"name": "ann", "id": 1}])");
  out = RunStore("baseline", {{"collections", {"users"}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["collections"]["users"]["checksum"], checksum);

  Write(store_ / "users.json", R"([{"id": 1, "name": "ann"}, {"id": 2, "name": "bobby"}])");
  out = RunStore("baseline", {{"collections", {"users"}}});
  EXPECT_NE(out.outputs["collections"]["users"]["checksum"], checksum);

  out = RunStore("baseline", {{"collections", {"nope"}}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
}

TEST_F(JsonStoreTest, ABaselineWithoutChecksumsCountsRecordsOnly) {
  Outcome out = RunStore("baseline", {{"checksum", false}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["collections"],
            json({{"users", {{"records", 2}}}, {"events", {{"records", 2}}}}));
}

TEST_F(JsonStoreTest, CorruptJsonNamesTheFileAndThePosition) {
  Write(store_ / "users.json", "[\n  {\"id\": 1},\n  {\"id\": tru}\n]");
  const Outcome out = RunStore("baseline", json::object());
  EXPECT_EQ(out.status.code(), Code::kIOError);
  EXPECT_THAT(out.status.message(), HasSubstr((store_ / "users.json").string()));
  EXPECT_THAT(out.status.message(), HasSubstr("invalid JSON at line 3, column"));
  EXPECT_THAT(out.status.message(), Not(HasSubstr("last read")));
}

TEST_F(JsonStoreTest, BackupThenRestoreBringsTheStoreBack) {
  const Outcome backup = RunStore("backup", {{"to", "backups/"}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  const fs::path path = backup.outputs["path"].get<std::string>();
  EXPECT_EQ(path.parent_path(), dir_ / "backups");
  EXPECT_EQ(Listing(path), Listing(store_));
  EXPECT_EQ(ModeOf(path), 0700u);
  EXPECT_EQ(backup.outputs["collections"]["users"]["records"], 2);
  EXPECT_EQ(backup.outputs["files"], 3);
  // The folder digest is what docs/adapters/file.md says sha256sum gives.
  const std::string command = "cd '" + path.string() +
                              "' && find . -type f | sed 's|^\\./||' | LC_ALL=C sort | "
                              "xargs -d '\\n' sha256sum | sha256sum";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char digest[64] = {};
  const std::size_t got = fread(digest, 1, sizeof digest, pipe);
  pclose(pipe);
  EXPECT_EQ(backup.outputs["sha256"], std::string(digest, got));
  EXPECT_EQ(backup.outputs["bytes"], fs::file_size(store_ / "users.json") +
                                          fs::file_size(store_ / "events.json") +
                                          fs::file_size(store_ / "notes/readme.txt"));
  EXPECT_THAT(Listing(dir_ / "backups"), ElementsAre(path.filename().string(),
                                                     path.filename().string() + "/events.json",
                                                     path.filename().string() + "/notes",
                                                     path.filename().string() + "/notes/readme.txt",
                                                     path.filename().string() + "/users.json"));

  const std::string users = Read(store_ / "users.json");
  Write(store_ / "users.json", "[]");
  Write(store_ / "sessions.json", "[]");
  const json params = {{"from", path.string()}, {"sha256", backup.outputs["sha256"]}};
  const Outcome restore = RunStore("restore", params);
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(Read(store_ / "users.json"), users);
  EXPECT_FALSE(fs::exists(store_ / "sessions.json"));
  EXPECT_EQ(restore.outputs["replaced"], true);
  EXPECT_EQ(restore.outputs["sha256"], backup.outputs["sha256"]);
  EXPECT_NE(restore.outputs["before_sha256"], backup.outputs["sha256"]);
  // Nothing left beside the store: the staging folder became the store, the old one is gone.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_THAT(entry.path().filename().string(), Not(HasSubstr("backout")));
  }

  const Outcome again = RunStore("restore", params);  // idempotent by nature
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_EQ(again.outputs["before_sha256"], backup.outputs["sha256"]);
  EXPECT_EQ(Read(store_ / "users.json"), users);
}

TEST_F(JsonStoreTest, RestoreAfterACrashedAttemptIgnoresItsLeftovers) {
  const Outcome backup = RunStore("backup", {{"to", "backups/"}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  Write(dir_ / "data.restore-backout/users.json", "[half");
  Write(dir_ / "data.replaced-backout/users.json", "[]");
  fs::remove_all(store_);  // a crash between two renames of the fallback swap
  const Outcome restore = RunStore("restore", {{"from", backup.outputs["path"]}});
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(restore.outputs["replaced"], false);
  EXPECT_EQ(restore.outputs["before_sha256"], "absent");
  EXPECT_FALSE(fs::exists(dir_ / "data.restore-backout"));
  EXPECT_FALSE(fs::exists(dir_ / "data.replaced-backout"));
  EXPECT_EQ(Listing(store_), Listing(backup.outputs["path"].get<std::string>()));
}

TEST_F(JsonStoreTest, RestoreRefusesAChangedOrUnsoundBackupAndLeavesTheStore) {
  const Outcome backup = RunStore("backup", {{"to", "backups/"}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  const fs::path path = backup.outputs["path"].get<std::string>();
  Write(path / "users.json", "[{\"id\": 1,}]");
  const std::string users = Read(store_ / "users.json");

  Outcome out = RunStore("restore", {{"from", path.string()}, {"sha256", backup.outputs["sha256"]}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_THAT(out.status.message(), HasSubstr("changed since it was taken"));

  out = RunStore("restore", {{"from", path.string()}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_THAT(out.status.message(), HasSubstr("not a sound json_store"));
  EXPECT_THAT(out.status.message(), HasSubstr("users.json: invalid JSON at line 1, column"));
  EXPECT_EQ(Read(store_ / "users.json"), users);
  EXPECT_FALSE(fs::exists(dir_ / "data.restore-backout"));

  out = RunStore("restore", {{"from", "backups/none"}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
}

TEST_F(JsonStoreTest, BackupRefusesADestinationInsideTheStoreAndACorruptStore) {
  Outcome out = RunStore("backup", {{"to", "data/backups/"}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(store_ / "backups"));

  Write(store_ / "events.json", "{");
  out = RunStore("backup", {{"to", "backups/"}});
  EXPECT_EQ(out.status.code(), Code::kIOError);
  EXPECT_THAT(out.status.message(), HasSubstr("events.json: invalid JSON"));
  EXPECT_FALSE(fs::exists(dir_ / "backups"));
}

TEST_F(JsonStoreTest, VerifyComparesWithTheBaselineAndReportsEveryCheck) {
  const Outcome baseline = RunStore("baseline", json::object());
  ASSERT_TRUE(baseline.status.ok());
  json checks = json::array({
      {{"record_count", {{"collection", "users"}, {"equals", "baseline"}}}},
      {{"record_count", {{"collection", "events"}, {"equals", 2}}}},
      {{"checksum", {{"collection", "users"}, {"equals", "baseline"}}}},
      {{"collection_present", json::array({"users", "events"})}},
      {{"collection_absent", "sessions"}},
      {{"valid_json", true}},
  });
  const json params = {{"checks", checks}};
  Outcome out = RunStore("verify", params, baseline.outputs);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["passed"], 7);
  EXPECT_EQ(out.outputs["failed"], 0);

  Write(store_ / "users.json", R"([{"id": 1}])");
  Write(store_ / "sessions.json", "[1,");
  out = RunStore("verify", params, baseline.outputs);
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.outputs["failed"], 4);
  EXPECT_EQ(out.outputs["checks"][0]["observed"], 1);
  EXPECT_EQ(out.outputs["checks"][0]["expected"], 2);
  EXPECT_THAT(out.status.message(), HasSubstr("record_count users: expected 2, observed 1"));
  EXPECT_THAT(out.status.message(), HasSubstr("collection_absent sessions: collection exists"));
  EXPECT_THAT(out.status.message(), HasSubstr("sessions.json: invalid JSON"));

  out = RunStore("verify", params);
  EXPECT_THAT(out.status.message(), HasSubstr("no baseline to compare with"));
}

// ---- Validate ------------------------------------------------------------------------------

struct ValidateCase {
  std::string name;
  std::string type;  // "file" or "json_store"
  std::string action;
  json target;
  json params;
  std::string pointer;  // of the one expected error; "-" for none
  bool in_target = false;
};

class ValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateTest, ReportsOneErrorAtItsPointer) {
  const ValidateCase& c = GetParam();
  const std::unique_ptr<Adapter> adapter =
      c.type == "file" ? MakeFileAdapter() : MakeJsonStoreAdapter();
  json params = c.params;
  params["target"] = "t";
  const std::vector<ParamError> errors = adapter->Validate(c.action, c.target, params);
  if (c.pointer == "-") {
    EXPECT_THAT(errors, IsEmpty()) << errors.front().pointer << ": " << errors.front().message;
    return;
  }
  ASSERT_EQ(errors.size(), 1u) << (errors.empty() ? "" : errors[0].message);
  EXPECT_EQ(errors[0].pointer, c.pointer) << errors[0].message;
  EXPECT_EQ(errors[0].in_target, c.in_target);
}

const json kFile = {{"type", "file"}, {"root", "."}};
const json kStore = {{"type", "json_store"}, {"path", "data"}};

INSTANTIATE_TEST_SUITE_P(
    Params, ValidateTest,
    ::testing::Values(
        ValidateCase{"copy_ok", "file", "file", kFile, {{"copy", {{"from", "a"}, {"to", "b"}}}}, "-"},
        ValidateCase{"reference_ok", "file", "file", kFile,
                     {{"restore", {{"from", "${steps.s.outputs.to}"}, {"to", "b"},
                                   {"sha256", "${steps.s.outputs.sha256}"}}}}, "-"},
        ValidateCase{"root_default", "file", "file", {{"type", "file"}},
                     {{"unset_env", {{"path", ".env"}, {"keys", {"A"}}}}}, "-"},
        ValidateCase{"no_operation", "file", "file", kFile, json::object(), ""},
        ValidateCase{"two_operations", "file", "file", kFile,
                     {{"copy", {{"from", "a"}, {"to", "b"}}},
                      {"restore", {{"from", "a"}, {"to", "c"}}}}, ""},
        ValidateCase{"unknown_action", "file", "sql", kFile, json::object(), ""},
        ValidateCase{"unknown_key", "file", "file", kFile,
                     {{"copy", {{"from", "a"}, {"to", "b"}, {"mode", "0600"}}}}, "/copy/mode"},
        ValidateCase{"missing_to", "file", "file", kFile, {{"copy", {{"from", "a"}}}}, "/copy/to"},
        ValidateCase{"same_file", "file", "file", kFile,
                     {{"copy", {{"from", "./a"}, {"to", "a"}}}}, "/copy/to"},
        ValidateCase{"escape", "file", "file", kFile,
                     {{"copy", {{"from", "x/../../a"}, {"to", "b"}}}}, "/copy/from"},
        ValidateCase{"absolute", "file", "file", kFile,
                     {{"restore", {{"from", "a"}, {"to", "/etc/b"}}}}, "/restore/to"},
        ValidateCase{"directory", "file", "file", kFile,
                     {{"copy", {{"from", "a"}, {"to", "dir/"}}}}, "/copy/to"},
        ValidateCase{"bad_digest", "file", "file", kFile,
                     {{"restore", {{"from", "a"}, {"to", "b"}, {"sha256", "ABC"}}}},
                     "/restore/sha256"},
        ValidateCase{"overwrite_type", "file", "file", kFile,
                     {{"copy", {{"from", "a"}, {"to", "b"}, {"overwrite", "yes"}}}},
                     "/copy/overwrite"},
        ValidateCase{"env_key", "file", "file", kFile,
                     {{"set_env", {{"path", ".env"}, {"values", {{"BAD-KEY", "x"}}}}}},
                     "/set_env/values/BAD-KEY"},
        ValidateCase{"env_number", "file", "file", kFile,
                     {{"set_env", {{"path", ".env"}, {"values", {{"PORT", 8080}}}}}},
                     "/set_env/values/PORT"},
        ValidateCase{"env_newline", "file", "file", kFile,
                     {{"set_env", {{"path", ".env"}, {"values", {{"A", "x\ny"}}}}}},
                     "/set_env/values/A"},
        ValidateCase{"env_no_values", "file", "file", kFile,
                     {{"set_env", {{"path", ".env"}, {"values", json::object()}}}},
                     "/set_env/values"},
        ValidateCase{"unset_keys", "file", "file", kFile,
                     {{"unset_env", {{"path", ".env"}, {"keys", {"OK", "9BAD"}}}}},
                     "/unset_env/keys/1"},
        ValidateCase{"root_type", "file", "file", {{"type", "file"}, {"root", 3}},
                     {{"copy", {{"from", "a"}, {"to", "b"}}}}, "/root", true},
        ValidateCase{"target_key", "file", "file", {{"type", "file"}, {"path", "x"}},
                     {{"copy", {{"from", "a"}, {"to", "b"}}}}, "/path", true},
        ValidateCase{"store_backup_ok", "json_store", "backup", kStore, {{"to", "b/"}}, "-"},
        ValidateCase{"store_no_path", "json_store", "backup", {{"type", "json_store"}},
                     {{"to", "b/"}}, "/path", true},
        ValidateCase{"store_unknown_action", "json_store", "sql", kStore, json::object(), ""},
        ValidateCase{"store_backup_to", "json_store", "backup", kStore, json::object(), "/to"},
        ValidateCase{"store_restore_digest", "json_store", "restore", kStore,
                     {{"from", "b"}, {"sha256", 12}}, "/sha256"},
        ValidateCase{"store_baseline_all", "json_store", "baseline", kStore, json::object(), "-"},
        ValidateCase{"store_baseline_suffix", "json_store", "baseline", kStore,
                     {{"collections", {"users.json"}}}, "/collections/0"},
        ValidateCase{"store_baseline_empty", "json_store", "baseline", kStore,
                     {{"collections", json::array()}}, "/collections"},
        ValidateCase{"verify_ok", "json_store", "verify", kStore,
                     {{"checks", {{{"record_count", {{"collection", "u"}, {"equals", "3"}}}},
                                  {{"collection_absent", {"x", "y"}}},
                                  {{"valid_json", true}}}}}, "-"},
        ValidateCase{"verify_unknown_check", "json_store", "verify", kStore,
                     {{"checks", {{{"row_count", {{"table", "u"}, {"equals", 1}}}}}}},
                     "/checks/0/row_count"},
        ValidateCase{"verify_count", "json_store", "verify", kStore,
                     {{"checks", {{{"record_count", {{"collection", "u"}, {"equals", -1}}}}}}},
                     "/checks/0/record_count/equals"},
        ValidateCase{"verify_checksum", "json_store", "verify", kStore,
                     {{"checks", {{{"checksum", {{"collection", "u"}, {"equals", "x"}}}}}}},
                     "/checks/0/checksum/equals"},
        ValidateCase{"verify_valid_json", "json_store", "verify", kStore,
                     {{"checks", {{{"valid_json", false}}}}}, "/checks/0/valid_json"},
        ValidateCase{"verify_two_keys", "json_store", "verify", kStore,
                     {{"checks", {{{"valid_json", true}, {"collection_absent", "x"}}}}},
                     "/checks/0"},
        ValidateCase{"verify_slash", "json_store", "verify", kStore,
                     {{"checks", {{{"collection_present", "a/b"}}}}},
                     "/checks/0/collection_present"}),
    [](const ::testing::TestParamInfo<ValidateCase>& param) { return param.param.name; });

}  // namespace
}  // namespace backout::adapters
