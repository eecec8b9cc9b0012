// Issue 14's corpus for PostgreSQL and DynamoDB targets: plans that used to fail after their
// first effect (a wrong password, an unreachable host, a missing privilege, a missing restore
// dump, a missing DynamoDB table) are now refused by `backout run` before anything happens:
// exit 2, one clear message, no run in the journal, and the database byte for byte as it was
// (tests/support/pg_server.h's Snapshot: every row and the schema; dynalite's Snapshot: every
// item of every table). Each plan's first step would change the target, and a control run of
// the same plan with the cause fixed shows that it does.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adapters/postgres/postgres_adapter.h"
#include "testing/invocation_builder.h"
#include "tests/support/dynamo_server.h"
#include "tests/support/example.h"
#include "tests/support/pg_server.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

using nlohmann::json;

constexpr const char* kReaderRole = "corpus_writer";
constexpr const char* kReaderPassword = "Pw-corpus-writer-81d2";

// The first step changes the target (one row more); the second is the one that used to fail.
// Paths and table names are written in clear, as plan authors do ({dump}, {table}: filled in
// by WritePlans); the engine scrubs `${VAR}` values from messages as possible secrets.
constexpr const char* kRestorePlan = R"yaml(version: 1
name: corpus-restore
targets:
  pg: { type: postgres, dsn: "${DATABASE_URL}" }
steps:
  - id: mark
    title: Change the target first, as a schema revert would
    sql: { target: pg, script: "INSERT INTO items VALUES (1000, 'added by the run')" }
  - id: restore
    title: Load items from the pre-migration backup
    restore: { target: pg, tables: [items], from: {dump} }
)yaml";

constexpr const char* kDynamoPlan = R"yaml(version: 1
name: corpus-dynamodb
targets:
  pg: { type: postgres, dsn: "${DATABASE_URL}" }
  ddb: { type: dynamodb, endpoint: "${DYNAMO_ENDPOINT}", region: us-east-1 }
steps:
  - id: mark
    title: Change the database first
    sql: { target: pg, script: "INSERT INTO items VALUES (1000, 'added by the run')" }
  - id: count
    title: Count the sessions table
    baseline: { target: ddb, tables: [{table}] }
)yaml";

class PreflightCorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<DynamoServer*> server = DynamoServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    dynamo_ = *server;
    db_ = pg().CreateTestDatabase("corpus_");
    pg().Psql("SET ROLE backout_test; CREATE TABLE items (id int PRIMARY KEY, name text); "
              "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g;",
              db_);
    pg().Psql(fmt::format("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                          "'{0}') THEN CREATE ROLE {0} LOGIN PASSWORD '{1}'; END IF; END $$; "
                          "GRANT SELECT, INSERT ON items TO {0};",
                          kReaderRole, kReaderPassword),
              db_);
    WritePlans();
    MakeDump();
    // The damage the plans repair: rows lost since the dump.
    pg().Psql("DELETE FROM items WHERE id > 40", db_);
  }

  static PgServer& pg() { return PgServer::Shared(); }

  // restore.yaml restoring from `dump`, dynamodb.yaml counting `table`.
  void WritePlans(const std::string& dump = "backups/pre.pgtables",
                  const std::string& table = "corpus-sessions") const {
    auto fill = [](std::string text, const std::string& key, const std::string& value) {
      return text.replace(text.find(key), key.size(), value);
    };
    WriteFile(dir_.path() / "restore.yaml", fill(kRestorePlan, "{dump}", dump));
    WriteFile(dir_.path() / "dynamodb.yaml", fill(kDynamoPlan, "{table}", table));
  }

  // backups/pre.pgtables: items as they are now, made by the adapter itself.
  void MakeDump() {
    const adapters::Invocation inv =
        InvocationBuilder("backup")
            .Target("pg", {{"type", "postgres"}, {"dsn", pg().dsn(db_)}})
            .Params({{"to", (dir_.path() / "backups" / "pre.pgtables").string()},
                     {"tables", {"items"}}})
            .RunId("corpus")
            .Dirs(dir_.path())
            .Build();
    const adapters::Outcome made = adapters::MakePostgresAdapter()->Run(inv);
    ASSERT_TRUE(made.status.ok()) << made.status.ToString();
  }

  // The environment of a run: the database as the test role, the dump that exists, the
  // DynamoDB table that exists; `overrides` change what the case breaks.
  std::map<std::string, std::string> Env(std::map<std::string, std::string> overrides) const {
    std::map<std::string, std::string> env = {
        {"BACKOUT_JOURNAL", (dir_.path() / "journal").string()},
        {"BACKOUT_OPERATOR", "tester"},
        {"DATABASE_URL", pg().dsn(db_)},
        {"DYNAMO_ENDPOINT", dynamo_->endpoint()},
    };
    for (auto& [name, value] : overrides) env[name] = value;
    return env;
  }

  ProcessResult Backout(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env) const {
    ProcessSpec spec;
    spec.argv = {BackoutBinary().string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = env;
    spec.cwd = dir_.path();
    return RunProcess(spec);
  }

  // How many runs the journal holds (`status --json`).
  int Runs(const std::map<std::string, std::string>& env) const {
    const ProcessResult status = Backout({"status", "--json"}, env);
    EXPECT_EQ(status.exit_code, 0) << Show(status);
    const json parsed = json::parse(status.out, nullptr, false);
    EXPECT_TRUE(parsed.is_array()) << status.out;
    return parsed.is_array() ? static_cast<int>(parsed.size()) : -1;
  }

  struct Case {
    std::string plan;
    std::map<std::string, std::string> env;
    std::string message;                 // what the one failed finding says
    std::vector<std::string> secrets;    // appear nowhere in the output
  };

  // `backout run` refuses the plan: exit 2, `message` once, one failed check, no run, the
  // database and the DynamoDB tables as they were.
  void ExpectRefused(const Case& c) {
    const std::string before = pg().Snapshot(db_);
    Result<std::string> dynamo_before = dynamo_->Snapshot();
    ASSERT_TRUE(dynamo_before.ok());
    const std::map<std::string, std::string> env = Env(c.env);
    const ProcessResult run = Backout({"run", c.plan}, env);
    EXPECT_EQ(run.exit_code, 2) << Show(run);
    const std::string output = run.out + run.err;
    const std::size_t first = output.find(c.message);
    ASSERT_NE(first, std::string::npos) << c.message << "\n" << Show(run);
    EXPECT_EQ(output.find(c.message, first + 1), std::string::npos)
        << "the message should appear once\n" << Show(run);
    EXPECT_TRUE(Contains(output, "1 preflight check failed; nothing was changed")) << Show(run);
    for (const std::string& secret : c.secrets) {
      EXPECT_FALSE(Contains(output, secret)) << "a secret in the output\n" << Show(run);
    }
    EXPECT_EQ(Runs(env), 0) << "no run may be created";
    EXPECT_EQ(pg().Snapshot(db_), before) << "the database must be unchanged";
    Result<std::string> dynamo_after = dynamo_->Snapshot();
    ASSERT_TRUE(dynamo_after.ok());
    EXPECT_EQ(*dynamo_after, *dynamo_before) << "DynamoDB must be unchanged";

    // validate --connect finds the same, and changes nothing either.
    const ProcessResult validate = Backout({"validate", "--connect", c.plan}, env);
    EXPECT_EQ(validate.exit_code, 2) << Show(validate);
    EXPECT_TRUE(Contains(validate.out + validate.err, c.message)) << Show(validate);
    EXPECT_EQ(pg().Snapshot(db_), before);
  }

  // The same plan with the cause fixed runs, and its first step does change the database.
  void ExpectControlRunChangesTheTarget(const std::string& plan,
                                        std::map<std::string, std::string> overrides = {}) {
    const std::string before = pg().Snapshot(db_);
    const std::map<std::string, std::string> env = Env(std::move(overrides));
    const ProcessResult run = Backout({"run", plan}, env);
    EXPECT_EQ(run.exit_code, 0) << Show(run);
    EXPECT_NE(pg().Snapshot(db_), before);
    EXPECT_EQ(Runs(env), 1);
  }

  DynamoServer* dynamo_ = nullptr;
  std::string db_;
  TempDir dir_;
};

TEST_F(PreflightCorpusTest, WrongPassword) {
  const std::string wrong = "Wrong-corpus-pw-0e6f";
  ExpectRefused({.plan = "restore.yaml",
                 .env = {{"DATABASE_URL", pg().dsn(db_) + " password=" + wrong}},
                 .message = "password authentication failed for user \"backout_test\"",
                 .secrets = {wrong, PgServer::kTestPassword}});
  ExpectControlRunChangesTheTarget("restore.yaml");
}

TEST_F(PreflightCorpusTest, EmptyPassword) {
  ExpectRefused({.plan = "restore.yaml",
                 .env = {{"DATABASE_URL", pg().dsn(db_) + " password=''"}},
                 .message = "no password supplied",
                 .secrets = {PgServer::kTestPassword}});
}

TEST_F(PreflightCorpusTest, UnreachableHost) {
  const int port = FreeTcpPort();
  ExpectRefused({.plan = "restore.yaml",
                 .env = {{"DATABASE_URL", "host=127.0.0.1 port=" + std::to_string(port) +
                                              " dbname=" + db_ + " user=backout_test password=" +
                                              PgServer::kTestPassword}},
                 .message = "postgres 127.0.0.1:" + std::to_string(port) + "/" + db_ +
                            " user=backout_test: cannot connect: Connection refused",
                 .secrets = {PgServer::kTestPassword}});
}

TEST_F(PreflightCorpusTest, MissingPrivilege) {
  // The role may insert (the first step would run) but not TRUNCATE for the restore.
  ExpectRefused({.plan = "restore.yaml",
                 .env = {{"DATABASE_URL", pg().dsn(db_) + " user=" + kReaderRole +
                                              " password=" + kReaderPassword}},
                 .message = "role corpus_writer lacks TRUNCATE on table items",
                 .secrets = {kReaderPassword}});
}

TEST_F(PreflightCorpusTest, MissingRestoreDump) {
  WritePlans("backups/pre-migration.pgtables");
  ExpectRefused({.plan = "restore.yaml",
                 .env = {},
                 .message = "restore source backups/pre-migration.pgtables does not exist",
                 .secrets = {PgServer::kTestPassword}});
}

TEST_F(PreflightCorpusTest, MissingDynamoDbTable) {
  ASSERT_TRUE(dynamo_->CreateTable("corpus-sessions").ok());
  WritePlans("backups/pre.pgtables", "corpus-sessions-v2");
  ExpectRefused({.plan = "dynamodb.yaml",
                 .env = {},
                 .message = "table corpus-sessions-v2 does not exist",
                 .secrets = {kTestSecretAccessKey}});
  WritePlans();
  ExpectControlRunChangesTheTarget("dynamodb.yaml");
}

}  // namespace
}  // namespace backout::testing
