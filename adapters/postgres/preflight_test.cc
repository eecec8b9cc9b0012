// The PostgreSQL adapter's Preflight against a real server (tests/support/pg_server.h): each
// finding when all is well, each failure (credentials, host, database, privileges, a read-only
// role, restore sources, client programs, cancel), that no finding holds the password, and
// that preflight changes nothing on the server and leaves no session behind.
#include "adapters/postgres/preflight.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/postgres/postgres_adapter.h"
#include "base/sha256.h"
#include "testing/invocation_builder.h"
#include "tests/support/pg_server.h"
#include "tests/support/preflight_findings.h"
#include "tests/support/process.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::AnyCheckMentions;
using testing::DescribeFindings;
using testing::ExpectAllOk;
using testing::TheOnlyFailure;
using testing::PgServer;

constexpr const char* kSchema = R"sql(
SET ROLE backout_test;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), total int);
INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 20) g;
INSERT INTO orders SELECT g, 1 + g % 20, g FROM generate_series(1, 100) g;
RESET ROLE;
)sql";

// A role that may log in and read the tables, nothing more.
constexpr const char* kReaderRole = "pf_reader";
constexpr const char* kReaderPassword = "Pw-reader-2b7e";

class PostgresPreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = server().CreateTestDatabase("pf_");
    server().Psql(kSchema, db_);
    server().Psql(fmt::format("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname "
                              "= '{0}') THEN CREATE ROLE {0} LOGIN PASSWORD '{1}'; END IF; END "
                              "$$; GRANT SELECT ON users, orders TO {0};",
                              kReaderRole, kReaderPassword),
                  db_);
  }

  static PgServer& server() { return PgServer::Shared(); }

  json Target(const std::string& dsn) const { return {{"type", "postgres"}, {"dsn", dsn}}; }
  json Target() const { return Target(server().dsn(db_)); }

  // Preflight of one step; asserts on the way that no finding holds a password.
  std::vector<PreflightFinding> Check(const std::string& action, json params,
                                      json target = nullptr) {
    PreflightRequest request;
    request.action = action;
    request.target = target.is_null() ? Target() : std::move(target);
    request.params = std::move(params);
    request.base_dir = dir_.path();
    request.cancel = &cancel_;
    std::vector<PreflightFinding> findings = adapter_->Preflight(request);
    const std::string text = DescribeFindings(findings);
    EXPECT_EQ(text.find(PgServer::kTestPassword), std::string::npos) << text;
    EXPECT_EQ(text.find(kReaderPassword), std::string::npos) << text;
    return findings;
  }

  // A tables backup of users and orders made by the adapter itself; its path.
  std::string TablesBackup() {
    Invocation inv = testing::InvocationBuilder("backup")
                         .Target("pg", Target())
                         .Params({{"to", (dir_.path() / "pre.pgtables").string()},
                                  {"tables", {"users", "orders"}}})
                         .RunId("run-pf")
                         .Dirs(dir_.path())
                         .Build();
    Outcome outcome = MakePostgresAdapter()->Run(inv);
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    return outcome.outputs.value("path", "");
  }

  std::string ReaderDsn() const {
    return server().dsn(db_) + " user=" + kReaderRole + " password=" + kReaderPassword;
  }

  std::string db_;
  testing::TempDir dir_;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<Adapter> adapter_ = MakePostgresAdapter();
};

TEST_F(PostgresPreflightTest, RestoreOfTablesAllOk) {
  const std::string path = TablesBackup();
  const std::string sha256 = Sha256File(path)->sha256_hex;
  const std::vector<PreflightFinding> findings =
      Check("restore", {{"from", path}, {"tables", {"users", "orders"}}, {"sha256", sha256}});
  ExpectAllOk(findings);
  EXPECT_TRUE(AnyCheckMentions(findings, "connect (postgres ")) << DescribeFindings(findings);
  EXPECT_TRUE(AnyCheckMentions(findings, "server accepts writes"));
  EXPECT_TRUE(AnyCheckMentions(findings, "sha256 matches"));
  EXPECT_TRUE(AnyCheckMentions(findings, "holds the tables"));
  EXPECT_TRUE(AnyCheckMentions(findings, "privilege TRUNCATE/INSERT on table users"));
  EXPECT_TRUE(AnyCheckMentions(findings, "privilege TRUNCATE/INSERT on table orders"));
}

TEST_F(PostgresPreflightTest, BackupsAllOk) {
  std::vector<PreflightFinding> tables =
      Check("backup", {{"to", "backups/"}, {"tables", {"users", "orders"}}});
  ExpectAllOk(tables);
  EXPECT_TRUE(AnyCheckMentions(tables, "privilege SELECT on table orders"));
  EXPECT_TRUE(AnyCheckMentions(tables, "backup destination backups/ (writable"));

  std::vector<PreflightFinding> full = Check("backup", {{"to", "backups/"}, {"full", true}});
  ExpectAllOk(full);
  EXPECT_TRUE(AnyCheckMentions(full, "privilege SELECT on every table (pg_dump)"));
  EXPECT_TRUE(AnyCheckMentions(full, "pg_dump ")) << DescribeFindings(full);
  EXPECT_FALSE(fs::exists(dir_.path() / "backups")) << "preflight created the folder";
}

TEST_F(PostgresPreflightTest, WrongPasswordIsOneFindingWithoutThePassword) {
  const std::string wrong = "Wrong-pw-91c4";
  const std::vector<PreflightFinding> findings =
      Check("sql", {{"script", "SELECT 1"}}, Target(server().dsn(db_) + " password=" + wrong));
  const PreflightFinding failure = TheOnlyFailure(findings);
  EXPECT_EQ(findings.size(), 1u) << DescribeFindings(findings);
  EXPECT_EQ(failure.check, "connect");
  EXPECT_EQ(failure.status.code(), Code::kFailedPrecondition) << failure.status.ToString();
  EXPECT_NE(failure.status.message().find("password authentication failed"), std::string::npos)
      << failure.status.ToString();
  EXPECT_EQ(failure.status.message().find(wrong), std::string::npos);
}

TEST_F(PostgresPreflightTest, EmptyPasswordIsRefused) {
  const PreflightFinding failure =
      TheOnlyFailure(Check("sql", {{"script", "SELECT 1"}},
                           Target(server().dsn(db_) + " password=''")));
  EXPECT_EQ(failure.status.code(), Code::kFailedPrecondition) << failure.status.ToString();
}

TEST_F(PostgresPreflightTest, UnreachablePortIsUnavailable) {
  const int port = testing::FreeTcpPort();
  const PreflightFinding failure = TheOnlyFailure(Check(
      "sql", {{"script", "SELECT 1"}},
      Target(server().tcp_dsn(db_) + " port=" + std::to_string(port))));
  EXPECT_EQ(failure.status.code(), Code::kUnavailable) << failure.status.ToString();
  EXPECT_NE(failure.status.message().find(std::to_string(port)), std::string::npos);
}

TEST_F(PostgresPreflightTest, UnansweringHostGivesUpWithinTheConnectTimeout) {
  // 192.0.2.0/24 (TEST-NET-1) is never routed: the connection attempt gets no answer.
  const auto start = std::chrono::steady_clock::now();
  const PreflightFinding failure = TheOnlyFailure(
      Check("sql", {{"script", "SELECT 1"}},
            Target("host=192.0.2.1 port=5432 dbname=x user=u password=secret-x "
                   "connect_timeout=60")));
  EXPECT_EQ(failure.status.code(), Code::kUnavailable) << failure.status.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            postgres::kPreflightConnectTimeout + std::chrono::seconds(5));
  EXPECT_EQ(failure.status.message().find("secret-x"), std::string::npos);
}

TEST_F(PostgresPreflightTest, MissingDatabaseIsNotFound) {
  const PreflightFinding failure = TheOnlyFailure(
      Check("query", {{"sql", "SELECT 1"}}, Target(server().dsn("pf_no_such_database"))));
  EXPECT_EQ(failure.status.code(), Code::kNotFound) << failure.status.ToString();
  EXPECT_NE(failure.status.message().find("pf_no_such_database"), std::string::npos);
}

TEST_F(PostgresPreflightTest, MissingPrivilegeNamesTableAndPrivileges) {
  const std::string path = TablesBackup();
  const PreflightFinding failure = TheOnlyFailure(
      Check("restore", {{"from", path}, {"tables", {"orders"}}}, Target(ReaderDsn())));
  EXPECT_EQ(failure.check, "privilege TRUNCATE/INSERT on table orders");
  EXPECT_EQ(failure.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(failure.status.message().find("role pf_reader lacks TRUNCATE, INSERT on table orders"),
            std::string::npos)
      << failure.status.ToString();

  // The reader may read: a backup of the tables is fine, a pg_dump of the database is not once
  // a table it may not read exists.
  ExpectAllOk(Check("backup", {{"to", "b/"}, {"tables", {"users"}}}, Target(ReaderDsn())));
  server().Psql("CREATE TABLE secrets (id int)", db_);
  const PreflightFinding dump = TheOnlyFailure(
      Check("backup", {{"to", "b/"}, {"full", true}}, Target(ReaderDsn())));
  EXPECT_EQ(dump.check, "privilege SELECT on every table (pg_dump)");
  EXPECT_NE(dump.status.message().find("secrets"), std::string::npos) << dump.status.ToString();
}

TEST_F(PostgresPreflightTest, ReadOnlyRoleCannotRunWritingSteps) {
  server().Psql(fmt::format("ALTER ROLE {} IN DATABASE {} SET default_transaction_read_only = on",
                            kReaderRole, db_));
  const PreflightFinding failure =
      TheOnlyFailure(Check("sql", {{"script", "UPDATE orders SET total = 0"}},
                           Target(ReaderDsn())));
  EXPECT_EQ(failure.check, "server accepts writes");
  EXPECT_EQ(failure.status.code(), Code::kFailedPrecondition);
  // A read-only step is fine there.
  ExpectAllOk(Check("query", {{"sql", "SELECT count(*) FROM orders"}}, Target(ReaderDsn())));
}

TEST_F(PostgresPreflightTest, MissingTableIsLeftToTheStep) {
  // A table an earlier step may create (a schema revert renaming it back) cannot be judged.
  const std::vector<PreflightFinding> renamed =
      Check("backup", {{"to", "b/"}, {"tables", {"orders_v2"}}});
  ExpectAllOk(renamed);
  EXPECT_TRUE(AnyCheckMentions(renamed, "the table does not exist now"))
      << DescribeFindings(renamed);
}

TEST_F(PostgresPreflightTest, RestoreSourceProblems) {
  const PreflightFinding missing = TheOnlyFailure(
      Check("restore", {{"from", "backups/pre.pgtables"}, {"tables", {"orders"}}}));
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
  EXPECT_EQ(missing.status.message(), "restore source backups/pre.pgtables does not exist");

  const std::string path = TablesBackup();
  const PreflightFinding changed = TheOnlyFailure(Check(
      "restore", {{"from", path}, {"tables", {"orders"}}, {"sha256", std::string(64, 'a')}}));
  EXPECT_EQ(changed.status.code(), Code::kExpectationFailed) << changed.status.ToString();

  const PreflightFinding not_held = TheOnlyFailure(
      Check("restore", {{"from", path}, {"tables", {"users", "order_items"}}}));
  EXPECT_EQ(not_held.status.code(), Code::kNotFound);
  EXPECT_NE(
      not_held.status.message().find("holds no table 'order_items' (it holds: users, orders)"),
      std::string::npos)
      << not_held.status.ToString();

  const PreflightFinding full_missing =
      TheOnlyFailure(Check("restore", {{"from", "nothing.dump"}, {"full", true}}));
  EXPECT_EQ(full_missing.status.code(), Code::kNotFound);
}

TEST_F(PostgresPreflightTest, FullRestoreNeedsTheOwnerOfTheArchivesTables) {
  Invocation inv = testing::InvocationBuilder("backup")
                       .Target("pg", Target())
                       .Params({{"to", (dir_.path() / "full.dump").string()}, {"full", true}})
                       .RunId("run-pf")
                       .Dirs(dir_.path())
                       .Build();
  const Outcome dumped = MakePostgresAdapter()->Run(inv);
  ASSERT_TRUE(dumped.status.ok()) << dumped.status.ToString();
  const std::vector<PreflightFinding> owner =
      Check("restore", {{"from", "full.dump"}, {"full", true}});
  ExpectAllOk(owner);
  EXPECT_TRUE(AnyCheckMentions(owner, "ownership of the tables full.dump replaces"))
      << DescribeFindings(owner);

  const PreflightFinding reader = TheOnlyFailure(
      Check("restore", {{"from", "full.dump"}, {"full", true}}, Target(ReaderDsn())));
  EXPECT_EQ(reader.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(reader.status.message().find("role pf_reader does not own public.orders (owner "
                                         "backout_test), public.users (owner backout_test)"),
            std::string::npos)
      << reader.status.ToString();

  std::ofstream(dir_.path() / "not-a-dump") << "hello";
  const PreflightFinding garbage =
      TheOnlyFailure(Check("restore", {{"from", "not-a-dump"}, {"full", true}}));
  EXPECT_EQ(garbage.status.code(), Code::kInvalidArgument) << garbage.status.ToString();
}

TEST_F(PostgresPreflightTest, ScriptFileMustBeThere) {
  const PreflightFinding failure = TheOnlyFailure(Check("sql", {{"file", "revert.sql"}}));
  EXPECT_EQ(failure.check, "script file revert.sql");
  EXPECT_EQ(failure.status.code(), Code::kNotFound);
  std::ofstream(dir_.path() / "revert.sql") << "SELECT 1;";
  ExpectAllOk(Check("sql", {{"file", "revert.sql"}}));
}

TEST_F(PostgresPreflightTest, ValuesKnownOnlyAtRunTimeAreSkipped) {
  const std::vector<PreflightFinding> findings = Check(
      "restore", {{"from", "${steps.dump.outputs.path}"}, {"tables", {"users"}},
                  {"sha256", "${steps.dump.outputs.sha256}"}});
  ExpectAllOk(findings);
  EXPECT_FALSE(AnyCheckMentions(findings, "restore source"));
  EXPECT_TRUE(Check("sql", {{"script", "SELECT 1"}}, Target("${steps.x.outputs.dsn}")).empty());
}

TEST_F(PostgresPreflightTest, CancelStopsIt) {
  cancel_ = true;
  const PreflightFinding failure = TheOnlyFailure(Check("sql", {{"script", "SELECT 1"}}));
  EXPECT_EQ(failure.status.code(), Code::kCancelled) << failure.status.ToString();
}

TEST_F(PostgresPreflightTest, ChangesNothingAndLeavesNoSession) {
  const std::string path = TablesBackup();
  server().Psql("CREATE TABLE audit (id int); INSERT INTO audit VALUES (1)", db_);
  const std::string before = server().Snapshot(db_);
  const std::string locks_before =
      server().Psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", db_);
  for (int i = 0; i < 2; ++i) {
    Check("sql", {{"script", "DROP TABLE orders"}});
    Check("restore", {{"from", path}, {"tables", {"users", "orders"}}});
    Check("backup", {{"to", "b/"}, {"full", true}});
    Check("baseline", {{"tables", {"users", "orders"}}});
  }
  EXPECT_EQ(server().Snapshot(db_), before);
  EXPECT_EQ(server().Psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", db_),
            locks_before);
  // The sessions end as Preflight returns; the server may take a moment to drop their rows.
  std::string sessions;
  for (int i = 0; i < 50; ++i) {
    sessions = server().Psql(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'backout preflight'");
    if (sessions == "0\n" || sessions == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(sessions == "0\n" || sessions == "0") << sessions;
  EXPECT_FALSE(fs::exists(dir_.path() / "b"));
}

// --- client programs ---------------------------------------------------------------------

class ClientProgramTest : public ::testing::Test {
 protected:
  // A fake client program that prints `version_line` for --version.
  fs::path FakeProgram(const std::string& version_line) {
    const fs::path path = dir_.path() / "pg_dump";
    std::ofstream(path) << "#!/bin/sh\necho '" << version_line << "'\n";
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }
  testing::TempDir dir_;
};

TEST_F(ClientProgramTest, OlderThanTheServerIsRefused) {
  const fs::path old = FakeProgram("pg_dump (PostgreSQL) 9.6.24");
  const PreflightFinding finding = postgres::CheckClientProgram("pg_dump", old, 160004, nullptr);
  EXPECT_EQ(finding.status.code(), Code::kFailedPrecondition) << finding.status.ToString();
  EXPECT_NE(finding.status.message().find("older than the server (major version 16)"),
            std::string::npos)
      << finding.status.ToString();
  EXPECT_NE(finding.status.message().find("postgresql-client-16"), std::string::npos);
}

TEST_F(ClientProgramTest, SameOrNewerIsFine) {
  const fs::path same = FakeProgram("pg_dump (PostgreSQL) 16.2 (Debian 16.2-1)");
  const PreflightFinding finding = postgres::CheckClientProgram("pg_dump", same, 160004, nullptr);
  EXPECT_TRUE(finding.status.ok()) << finding.status.ToString();
  EXPECT_EQ(finding.check, "pg_dump 16.2 (" + same.string() + ")");
  EXPECT_TRUE(postgres::CheckClientProgram("pg_dump", same, 90624, nullptr).status.ok());
}

TEST_F(ClientProgramTest, MissingOrSilentProgramIsRefused) {
  const PreflightFinding missing = postgres::CheckClientProgram(
      "pg_dump", Status::NotFound("pg_dump not found on PATH"), 160004, nullptr);
  EXPECT_EQ(missing.check, "pg_dump");
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
  const PreflightFinding silent =
      postgres::CheckClientProgram("pg_dump", FakeProgram("hello"), 160004, nullptr);
  EXPECT_EQ(silent.status.code(), Code::kFailedPrecondition) << silent.status.ToString();
}

}  // namespace
}  // namespace backout::adapters
