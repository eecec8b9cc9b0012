// The shared preflight checks (adapters/common/preflight.h) and the Preflight() of the sqlite
// and command adapters on real files, databases and sockets.
#include "adapters/common/preflight.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <limits>

#include "adapters/command/command_adapter.h"
#include "adapters/sqlite/sqlite_adapter.h"
#include "base/sha256.h"
#include "testing/temp_dir.h"

namespace backout::adapters::common {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Preflight, KnownOnlyAtRunTimeAndKnownString) {
  EXPECT_TRUE(KnownOnlyAtRunTime("${steps.backup.outputs.path}"));
  EXPECT_TRUE(KnownOnlyAtRunTime("x/${steps.b.outputs.p}.db"));
  EXPECT_FALSE(KnownOnlyAtRunTime("backups/pre.db"));
  const json params = {{"from", "a.db"}, {"to", "${steps.b.outputs.path}"}, {"n", 3}, {"e", ""}};
  EXPECT_EQ(KnownString(params, "from"), "a.db");
  EXPECT_EQ(KnownString(params, "to"), std::nullopt);
  EXPECT_EQ(KnownString(params, "n"), std::nullopt);
  EXPECT_EQ(KnownString(params, "e"), std::nullopt);
  EXPECT_EQ(KnownString(params, "absent"), std::nullopt);
  EXPECT_EQ(KnownString(json::array(), "from"), std::nullopt);
}

TEST(Preflight, RestoreSourceMustBeAReadableFileWithTheGivenSha256) {
  const testing::TempDir tmp;
  Write(tmp.path() / "pre.db", "backup bytes");
  fs::create_directory(tmp.path() / "folder");
  const std::string sha = Sha256Hex("backup bytes");

  const PreflightFinding missing = CheckRestoreSource(tmp.path(), "gone.db", std::nullopt);
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
  EXPECT_EQ(missing.status.message(), "restore source gone.db does not exist");
  EXPECT_EQ(CheckRestoreSource(tmp.path(), "folder", std::nullopt).status.code(),
            Code::kFailedPrecondition);

  const PreflightFinding plain = CheckRestoreSource(tmp.path(), "pre.db", std::nullopt);
  EXPECT_TRUE(plain.status.ok()) << plain.status.ToString();
  EXPECT_EQ(plain.check, "restore source pre.db (12 bytes)");
  const PreflightFinding matches = CheckRestoreSource(tmp.path(), "pre.db", sha);
  EXPECT_TRUE(matches.status.ok()) << matches.status.ToString();
  EXPECT_EQ(matches.check, "restore source pre.db (12 bytes, sha256 matches)");
  const PreflightFinding other = CheckRestoreSource(tmp.path(), "pre.db", std::string(64, 'a'));
  EXPECT_EQ(other.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(other.status.message(), "restore source pre.db has sha256 " + sha +
                                        ", the plan expects " + std::string(64, 'a'));
  EXPECT_EQ(CheckSourceFile(tmp.path(), "gone", std::nullopt, "env file").status.message(),
            "env file gone does not exist");
}

TEST(Preflight, BackupDestinationNeedsAWritableFolderWithRoom) {
  const testing::TempDir tmp;
  // Folders the backup creates: the nearest existing one is what must take it.
  const PreflightFinding nested = CheckBackupDestination(tmp.path(), "backups/deep/", 1);
  EXPECT_TRUE(nested.status.ok()) << nested.status.ToString();
  EXPECT_TRUE(nested.check.starts_with("backup destination backups/deep/ (writable, "))
      << nested.check;
  const PreflightFinding huge = CheckBackupDestination(
      tmp.path(), "backups/", std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(huge.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(huge.status.message().find("bytes free, about"), std::string::npos);
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(tmp.path() / "readonly");
    fs::permissions(tmp.path() / "readonly", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_FALSE(CheckBackupDestination(tmp.path(), "readonly/x.db", 1).status.ok());
    fs::permissions(tmp.path() / "readonly", fs::perms::owner_all);
  }
  EXPECT_TRUE(CheckDestination(tmp.path(), ".env", 0, "rewrite of env file")
                  .check.starts_with("rewrite of env file .env (writable"));
}

// A socket listening on 127.0.0.1 (port in `port`); closed when the test ends.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size), 0);
    port = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  int port = 0;

 private:
  int fd_ = -1;
};

TEST(Preflight, ReachableMeansResolvedAndConnected) {
  int closed_port = 0;
  {
    const Listener listening;
    const std::string url =
        "http://user:pw@127.0.0.1:" + std::to_string(listening.port) + "/secret/path?token=x";
    const PreflightFinding open = CheckReachable(url, kConnectTimeout, nullptr);
    EXPECT_TRUE(open.status.ok()) << open.status.ToString();
    EXPECT_EQ(open.check, "connect to http://127.0.0.1:" + std::to_string(listening.port) +
                              " (host resolves, TCP connection opens)");
    closed_port = listening.port;
  }
  const PreflightFinding refused = CheckReachable(
      "http://127.0.0.1:" + std::to_string(closed_port), kConnectTimeout, nullptr);
  EXPECT_EQ(refused.status.code(), Code::kUnavailable);
  EXPECT_NE(refused.status.message().find("cannot connect to http://127.0.0.1:"),
            std::string::npos);
  EXPECT_EQ(CheckReachable("ftp://example.com/", kConnectTimeout, nullptr).status.code(),
            Code::kInvalidArgument);
}

TEST(SqlitePreflight, FindsAMissingOrLockedDatabaseAndChangesNothing) {
  const testing::TempDir tmp;
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open((tmp.path() / "app.db").c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  const std::unique_ptr<Adapter> adapter = MakeSqliteAdapter();
  auto ask = [&](const std::string& action, const std::string& path) {
    return adapter->Preflight(PreflightRequest{.action = action,
                                               .target = {{"type", "sqlite"}, {"path", path}},
                                               .params = {{"target", "db"}, {"script", "x"}},
                                               .base_dir = tmp.path()});
  };
  const std::vector<PreflightFinding> free = ask("sql", "app.db");
  ASSERT_EQ(free.size(), 1u);
  EXPECT_TRUE(free[0].status.ok()) << free[0].status.ToString();
  EXPECT_EQ(free[0].check, "sqlite database app.db (present, readable, writable, not locked)");
  EXPECT_EQ(ask("sql", "gone.db")[0].status.code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(tmp.path() / "gone.db"));
  EXPECT_TRUE(ask("sql", "${steps.a.outputs.path}").empty());
  const std::vector<PreflightFinding> script = adapter->Preflight(
      PreflightRequest{.action = "sql",
                       .target = {{"type", "sqlite"}, {"path", "app.db"}},
                       .params = {{"target", "db"}, {"file", "revert.sql"}},
                       .base_dir = tmp.path()});
  ASSERT_EQ(script.size(), 2u);
  EXPECT_EQ(script[1].status.message(), "sql file revert.sql does not exist");

  // Another connection holds the database: writers and readers would wait, then fail.
  const std::string before = Sha256File(tmp.path() / "app.db")->sha256_hex;
  ASSERT_EQ(sqlite3_exec(holder, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const std::vector<PreflightFinding> locked = ask("sql", "app.db");
  EXPECT_EQ(locked[0].status.code(), Code::kUnavailable);
  EXPECT_NE(locked[0].status.message().find("is locked by another connection"),
            std::string::npos);
  EXPECT_EQ(ask("query", "app.db")[0].status.code(), Code::kUnavailable);
  sqlite3_exec(holder, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(holder);
  EXPECT_EQ(Sha256File(tmp.path() / "app.db")->sha256_hex, before);
}

TEST(CommandPreflight, FindsTheProgramAndTheWorkingDirectory) {
  const testing::TempDir tmp;
  fs::create_directory(tmp.path() / "bin");
  Write(tmp.path() / "bin" / "ctl", "#!/bin/sh\n");
  fs::permissions(tmp.path() / "bin" / "ctl", fs::perms::owner_all);
  const std::unique_ptr<Adapter> adapter = MakeCommandAdapter();
  auto ask = [&](json target, json argv) {
    return adapter->Preflight(PreflightRequest{.action = "command",
                                               .target = std::move(target),
                                               .params = {{"target", "app"}, {"argv", argv}},
                                               .base_dir = tmp.path()});
  };
  const std::vector<PreflightFinding> relative = ask({{"type", "command"}, {"cwd", "bin"}}, {"./ctl"});
  ASSERT_EQ(relative.size(), 2u);
  EXPECT_TRUE(relative[0].status.ok() && relative[1].status.ok());
  EXPECT_EQ(relative[1].check, "program ./ctl (executable)");
  const std::vector<PreflightFinding> on_path = ask({{"type", "command"}}, {"sh", "-c", "true"});
  EXPECT_TRUE(on_path[1].status.ok()) << on_path[1].status.ToString();
  const std::vector<PreflightFinding> own_path =
      ask({{"type", "command"}, {"env", {{"PATH", "bin"}}}}, {"ctl"});
  EXPECT_TRUE(own_path[1].status.ok()) << own_path[1].status.ToString();
  EXPECT_EQ(ask({{"type", "command"}}, {"backout-no-such-program"})[1].status.code(),
            Code::kNotFound);
  const std::vector<PreflightFinding> no_dir = ask({{"type", "command"}, {"cwd", "gone"}}, {"ls"});
  ASSERT_EQ(no_dir.size(), 1u);
  EXPECT_EQ(no_dir[0].status.code(), Code::kNotFound);
}

}  // namespace
}  // namespace backout::adapters::common
