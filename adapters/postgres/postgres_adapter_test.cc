// The PostgreSQL adapter against a real server (tests/support/pg_server.h): every action
// and check, parameter validation, the failure messages and the DSN's secrecy, the advisory
// lock, rehearsal copies, restore round trips (indexes built again after the load) and
// cancellation.
#include "adapters/postgres/postgres_adapter.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/postgres/actions.h"
#include "adapters/postgres/content.h"
#include "testing/invocation_builder.h"
#include "tests/support/pg_server.h"
#include "tests/support/process.h"

namespace backout::adapters {
namespace {

using nlohmann::json;
using testing::PgServer;

constexpr const char* kSchema = R"sql(
SET ROLE backout_test;
CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL, tenant int NOT NULL);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_isolation ON users USING (tenant = 1);
CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL REFERENCES users (id),
                     total numeric(10, 2), created timestamptz DEFAULT now(), note text);
CREATE TABLE order_items (id int PRIMARY KEY, order_id int NOT NULL REFERENCES orders (id),
                          sku text, qty int);
CREATE TABLE legacy_orders (id int);
INSERT INTO users SELECT g, 'user ' || g, g % 3 FROM generate_series(1, 50) g;
INSERT INTO orders SELECT g, 1 + g % 50, g * 1.25, '2024-01-01'::timestamptz + g * interval '1 h',
                          CASE WHEN g % 7 = 0 THEN NULL ELSE 'note ' || g END
  FROM generate_series(1, 400) g;
INSERT INTO order_items SELECT g, 1 + g % 400, 'sku-' || g, g % 5 FROM generate_series(1, 1000) g;
)sql";

// Whether `text` mentions the test role's password anywhere.
bool LeaksPassword(const std::string& text) {
  return text.find(PgServer::kTestPassword) != std::string::npos;
}

class PostgresAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = server().CreateTestDatabase("t_");
    server().Psql(kSchema, db_);
  }

  static PgServer& server() { return PgServer::Shared(); }

  json Target(const std::string& dsn) const { return {{"type", "postgres"}, {"dsn", dsn}}; }
  json Target() const { return Target(server().dsn(db_)); }

  Invocation Inv(const std::string& action, json params, json target = nullptr) {
    return testing::InvocationBuilder(action)
        .Target("pg", target.is_null() ? Target() : std::move(target))
        .Params(std::move(params))
        .RunId("run-test")
        .Dirs(dir_.path())
        .NowMicros(1'700'000'000'000'000)
        .Cancel(&cancel_)
        .Build();
  }

  // `baseline`: what the engine passes a verify (Invocation::baseline).
  Outcome Run(Adapter& adapter, const std::string& action, json params, json target = nullptr,
              std::optional<json> baseline = std::nullopt) {
    Invocation inv = Inv(action, std::move(params), std::move(target));
    inv.baseline = std::move(baseline);
    Outcome outcome = adapter.Run(inv);
    EXPECT_FALSE(LeaksPassword(outcome.status.message())) << outcome.status.message();
    EXPECT_FALSE(LeaksPassword(outcome.outputs.dump())) << outcome.outputs.dump();
    EXPECT_EQ(UndeclaredOutputs(adapter.vocabulary(), action, outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }

  Outcome Run(const std::string& action, json params) {
    return Run(*adapter_, action, std::move(params));
  }

  std::string Psql(const std::string& sql) { return server().Psql(sql, db_); }

  json Baseline(const json& tables) {
    Outcome out = Run("baseline", {{"tables", tables}});
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
    return out.outputs;
  }

  // Index name -> OID, for every index of the public schema.
  std::map<std::string, std::string> IndexOids() {
    std::istringstream lines(Psql(
        "SELECT c.relname || ' ' || c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('i', 'I')"));
    std::map<std::string, std::string> oids;
    for (std::string name, oid; lines >> name >> oid;) oids[name] = oid;
    return oids;
  }

  // The indexes whose OID changed between two IndexOids(): those dropped and built again.
  static std::set<std::string> Rebuilt(const std::map<std::string, std::string>& before,
                                       const std::map<std::string, std::string>& after) {
    EXPECT_EQ(before.size(), after.size());
    std::set<std::string> names;
    for (const auto& [name, oid] : before) {
      const auto it = after.find(name);
      if (it == after.end() || it->second != oid) names.insert(name);
    }
    return names;
  }

  std::string db_;
  testing::TempDir dir_;
  std::atomic<bool> cancel_{false};
  std::unique_ptr<Adapter> adapter_ = MakePostgresAdapter();
};

// --- validation --------------------------------------------------------------------------

TEST(PostgresValidate, ReportsEveryProblemWithItsPointer) {
  const auto adapter = MakePostgresAdapter();
  const json target = {{"type", "postgres"}, {"dsn", "${DATABASE_URL}"}, {"lock_timeout", "soon"}};
  auto pointers = [&](const std::string& action, const json& params) {
    std::vector<std::string> out;
    for (const ParamError& e : adapter->Validate(action, target, params)) {
      out.push_back((e.in_target ? "target" : "") + e.pointer);
    }
    return out;
  };
  EXPECT_EQ(pointers("sql", {{"script", "x"}, {"file", "y"}}),
            (std::vector<std::string>{"target/lock_timeout", ""}));
  EXPECT_EQ(pointers("backup", {{"to", "b/"}}), (std::vector<std::string>{"target/lock_timeout", ""}));
  EXPECT_EQ(pointers("restore", {{"from", "f"}, {"full", true}, {"cascade", true}}),
            (std::vector<std::string>{"target/lock_timeout", "/cascade"}));
  EXPECT_EQ(pointers("verify", {{"checks",
                                 {{{"row_count", {{"table", "t"}, {"equals", "many"}}}},
                                  {{"checksum", {{"table", "t"}, {"equals", "abc"}}}},
                                  {{"fk_valid", json::object()}},
                                  {{"rls_enabled", {{"table", "t"}, {"forced", "yes"}}}},
                                  {{"integrity", true}}}}}),
            (std::vector<std::string>{"target/lock_timeout", "/checks/0/row_count/equals",
                                      "/checks/1/checksum/equals", "/checks/2/fk_valid/tables",
                                      "/checks/3/rls_enabled/forced", "/checks/4/integrity"}));
  EXPECT_EQ(pointers("baseline", {{"tables", {"a"}}, {"colour", 1}}),
            (std::vector<std::string>{"target/lock_timeout", "/colour"}));
  EXPECT_EQ(adapter->Validate("drop", target, json::object()).size(), 1u);
}

TEST(PostgresValidate, AcceptsReferencesAndNeverQuotesABadDsn) {
  const auto adapter = MakePostgresAdapter();
  const json good = {{"type", "postgres"}, {"dsn", "${DATABASE_URL}"}, {"lock_timeout", "5s"},
                     {"schema", "public"}};
  EXPECT_TRUE(adapter
                  ->Validate("restore", good,
                             {{"from", "${steps.backup.outputs.path}"}, {"tables", {"orders"}}})
                  .empty());
  EXPECT_TRUE(adapter->Validate("sql", good, {{"file", "r.sql"}, {"transaction", false},
                                              {"lock_timeout", "250ms"}})
                  .empty());
  const json bad = {{"type", "postgres"}, {"dsn", "host=db password=Sup3rSecret oops"}};
  const std::vector<ParamError> errors = adapter->Validate("query", bad, {{"sql", "SELECT 1"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "/dsn");
  EXPECT_TRUE(errors[0].in_target);
  EXPECT_EQ(errors[0].message.find("Sup3rSecret"), std::string::npos) << errors[0].message;
}

TEST(PostgresSplit, RespectsQuotesCommentsAndDollarBodies) {
  const auto parts = postgres::SplitStatements(
      "SELECT ';'; -- a ; comment\n SELECT \"a;b\" FROM t; /* x ; /* y; */ */ "
      "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;"
      "SELECT E'\\';'; SELECT $1 ;  ;");
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0], "SELECT ';'");
  EXPECT_EQ(parts[1], "-- a ; comment\n SELECT \"a;b\" FROM t");
  EXPECT_TRUE(parts[2].ends_with("$body$ LANGUAGE sql")) << parts[2];
  EXPECT_EQ(parts[3], "SELECT E'\\';'");
  EXPECT_EQ(parts[4], "SELECT $1");
}

// --- sql and query -------------------------------------------------------------------------

TEST_F(PostgresAdapterTest, SqlRunsTheScriptInOneTransaction) {
  Outcome out = Run("sql", {{"script", "DELETE FROM order_items; DELETE FROM nope;"}});
  EXPECT_EQ(out.status.code(), Code::kNotFound) << out.status.ToString();
  EXPECT_NE(out.status.message().find("relation \"nope\" does not exist"), std::string::npos)
      << out.status.message();
  EXPECT_EQ(Psql("SELECT count(*) FROM order_items"), "1000\n");

  out = Run("sql", {{"script", "DELETE FROM order_items WHERE id > 10; DROP TABLE legacy_orders;"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["last_command"], "DROP TABLE");
  EXPECT_EQ(Psql("SELECT count(*) FROM order_items"), "10\n");
}

TEST_F(PostgresAdapterTest, SqlOutsideATransactionRunsStatementsOneByOne) {
  Outcome in_tx = Run("sql", {{"script", "CREATE INDEX CONCURRENTLY i1 ON orders (note)"}});
  EXPECT_FALSE(in_tx.status.ok());
  EXPECT_NE(in_tx.status.message().find("transaction: false"), std::string::npos)
      << in_tx.status.message();
  Outcome out = Run("sql", {{"script", "CREATE INDEX CONCURRENTLY i1 ON orders (note);\n"
                                       "CREATE INDEX CONCURRENTLY i2 ON orders (total);"},
                            {"transaction", false}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["statements"], 2);
  EXPECT_EQ(Psql("SELECT count(*) FROM pg_indexes WHERE indexname IN ('i1', 'i2')"), "2\n");

  out = Run("sql", {{"script", "DROP INDEX i1; DROP INDEX nope; DROP INDEX i2"},
                    {"transaction", false}});
  EXPECT_NE(out.status.message().find("statement 2"), std::string::npos) << out.status.message();
  EXPECT_EQ(Psql("SELECT count(*) FROM pg_indexes WHERE indexname IN ('i1', 'i2')"), "1\n");
}

TEST_F(PostgresAdapterTest, SqlFromAFileAndNoticesAreKept) {
  testing::WriteFile(dir_.path() / "rollback.sql", "DROP TABLE IF EXISTS media;\n");
  Outcome out = Run("sql", {{"file", "rollback.sql"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_TRUE(out.outputs.contains("notices")) << out.outputs.dump();
  EXPECT_NE(out.outputs["notices"][0].get<std::string>().find("does not exist, skipping"),
            std::string::npos);
}

TEST_F(PostgresAdapterTest, SqlThatEndsTheStepTransactionIsReported) {
  Outcome out = Run("sql", {{"script", "DELETE FROM legacy_orders; COMMIT;"}});
  EXPECT_EQ(out.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(out.status.message().find("COMMIT or ROLLBACK"), std::string::npos);
}

TEST_F(PostgresAdapterTest, QueryComparesTheFirstValue) {
  Outcome out = Run("query", {{"sql", "SELECT count(*) FROM orders"}, {"expect", 400}});
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["value"], 400);
  out = Run("query", {{"sql", "SELECT count(*) FROM orders"}, {"expect", "400"}});
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  out = Run("query", {{"sql", "SELECT count(*) FROM legacy_orders"}, {"expect", 1}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.status.message(), "query returned 0, expected 1");
  out = Run("query", {{"sql", "SELECT name FROM users WHERE id = 2"}, {"expect", "user 2"}});
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  out = Run("query", {{"sql", "SELECT NULL"}, {"expect", nullptr}});
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
}

// --- baseline and verify -------------------------------------------------------------------

TEST_F(PostgresAdapterTest, BaselineChecksumIgnoresRowOrderAndSeesEveryChange) {
  const json before = Baseline({"orders", "users"});
  EXPECT_EQ(before["tables"]["orders"]["rows"], 400);
  EXPECT_EQ(before["tables"]["orders"]["checksum"].get<std::string>().size(), 16u);
  EXPECT_EQ(before["schema_fingerprint"].get<std::string>().size(), 64u);
  // Rewrite the table in another physical order: same content, same checksum.
  Psql("CREATE TABLE shuffled AS SELECT * FROM orders ORDER BY random();"
       "ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;"
       "TRUNCATE orders; INSERT INTO orders SELECT * FROM shuffled; DROP TABLE shuffled;"
       "ALTER TABLE order_items ADD FOREIGN KEY (order_id) REFERENCES orders (id);");
  EXPECT_EQ(Baseline({"orders", "users"}), before);
  Psql("UPDATE orders SET note = 'changed' WHERE id = 17");
  const json after = Baseline({"orders", "users"});
  EXPECT_NE(after["tables"]["orders"]["checksum"], before["tables"]["orders"]["checksum"]);
  EXPECT_EQ(after["tables"]["users"], before["tables"]["users"]);
  EXPECT_EQ(after["schema_fingerprint"], before["schema_fingerprint"]);
}

// The row hash is decided from the column types alone: the record hash only for types whose
// hash tells every two different values apart; the same for an empty table and a full one.
TEST_F(PostgresAdapterTest, ChecksumRowHashIsChosenFromTheColumnTypes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a bigint, b int, c smallint, d boolean, e oid", "record"},
      {"a text, b varchar(9), c name, d bytea, e uuid, f inet, g text COLLATE \"C\"", "record"},
      {"a date, b time, c timestamp, d timestamptz", "record"},
      {"a numeric(10, 2), b char(3), c price", "record"},  // price: a domain of numeric(10,2)
      {"a int, b int GENERATED ALWAYS AS (a * 2) STORED", "record"},
      {"a numeric", "text"},  // 1.0 = 1.00
      {"a amount", "text"},   // a domain of numeric
      {"a bpchar", "text"},   // 'a' = 'a '
      {"a float8", "text"},   // 0 = -0
      {"a real", "text"},
      {"a interval", "text"},  // '1 day' = '24 hours'
      {"a jsonb", "text"},     // '1.0' = '1.00'
      {"a json", "text"},
      {"a point", "text"},
      {"a int[]", "text"},
      {"a text COLLATE loose", "text"},  // 'A' = 'a'
      {"a int, b float8", "text"},
  };
  std::string ddl =
      "SET ROLE backout_test; CREATE DOMAIN cents AS numeric(10, 2); "
      "CREATE DOMAIN price AS cents; CREATE DOMAIN amount AS numeric; "
      "CREATE COLLATION loose (provider = icu, locale = 'und-u-ks-level2', "
      "deterministic = false);";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    ddl += fmt::format("CREATE TABLE rh_{} ({});", i, cases[i].first);
  }
  Psql(ddl + "CREATE TABLE rh_dropped (a int, b float8); ALTER TABLE rh_dropped DROP COLUMN b;");

  const postgres::StopCondition stop(nullptr, std::chrono::milliseconds(0));
  Result<std::unique_ptr<postgres::Connection>> conn =
      postgres::Connection::Open(server().dsn(db_), {}, stop);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  const Invocation inv = Inv("baseline", json::object());
  const postgres::ActionContext context{inv, inv.params, **conn, stop, std::nullopt};
  auto row_hash = [&](const std::string& name) -> std::string {
    Result<postgres::Table> table = postgres::RequireTable(context, name, "test");
    if (!table.ok()) return table.status().ToString();
    Result<postgres::RowHash> chosen = postgres::ChooseRowHash(context, *table);
    if (!chosen.ok()) return chosen.status().ToString();
    return *chosen == postgres::RowHash::kRecord ? "record" : "text";
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(row_hash(fmt::format("rh_{}", i)), cases[i].second) << cases[i].first;
  }
  EXPECT_EQ(row_hash("rh_dropped"), "record");  // a dropped column is no column

  std::string fill;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    fill += fmt::format("INSERT INTO rh_{} DEFAULT VALUES;", i);
  }
  Psql(fill);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(row_hash(fmt::format("rh_{}", i)), cases[i].second) << cases[i].first << ", full";
  }
}

// Either row hash: the checksum is the documented formula, it sees a changed value and values
// swapped between rows (a plain sum of record hashes would not), and not the rows' order.
TEST_F(PostgresAdapterTest, ChecksumOfEitherRowHashSeesChangesAndSwapsButNotOrder) {
  // Columns in name order: the checksum hashes them by name, which is then the table row.
  Psql("SET ROLE backout_test;"
       "CREATE TABLE hashed (amount numeric(10, 2), at timestamptz, id int, label text);"
       "CREATE TABLE printed (doc json, id int, ratio numeric, spot point);"
       "INSERT INTO hashed (id, amount, label, at) VALUES (1, 1.5, 'a', '2024-01-01 10:00+00');"
       "INSERT INTO printed (id, doc, spot, ratio) VALUES (1, '{\"k\": 1}', '(1,2)', 1.0);");
  // One row: the checksum is that row's hash, as 16 hex digits of its 64 bits.
  const json one = Baseline({"hashed", "printed"});
  EXPECT_EQ(one["tables"]["hashed"]["checksum"].get<std::string>() + "\n",
            Psql("SELECT lpad(to_hex(hashtextextended(hash_record_extended(t, 0)::text, 0)), "
                 "16, '0') FROM hashed t"));
  EXPECT_EQ(one["tables"]["printed"]["checksum"].get<std::string>() + "\n",
            Psql("SELECT lpad(to_hex(hashtextextended(t::text, 0)), 16, '0') FROM printed t"));

  Psql("INSERT INTO hashed (id, amount, label, at) VALUES (2, 2.5, 'b', '2024-01-02 10:00+00'),"
       "  (3, 3.5, 'c', '2024-01-03 10:00+00');"
       "INSERT INTO printed (id, doc, spot, ratio) VALUES (2, '{\"k\": 2}', '(3,4)', 2.0),"
       "  (3, '{\"k\": 3}', '(5,6)', 3.0);");
  struct Case {
    std::string table;
    std::string swapped;  // rows 1 and 2 exchange their values of this column
    std::string change;   // one value changes
  };
  const Case cases[] = {
      {"hashed", "label", "UPDATE hashed SET at = at + interval '1 microsecond' WHERE id = 3"},
      {"printed", "spot", "UPDATE printed SET ratio = 1.00 WHERE id = 1"},  // equal numbers
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.table);
    auto checksum = [&] { return Baseline({c.table})["tables"][c.table]["checksum"]; };
    const json before = checksum();
    Psql(fmt::format("CREATE TABLE reordered AS SELECT * FROM {0} ORDER BY id DESC;"
                     "TRUNCATE {0}; INSERT INTO {0} SELECT * FROM reordered; DROP TABLE reordered",
                     c.table));
    EXPECT_EQ(checksum(), before);
    const std::string swap =
        fmt::format("UPDATE {0} x SET {1} = o.{1} FROM {0} o WHERE x.id < 3 AND o.id = 3 - x.id",
                    c.table, c.swapped);
    Psql(swap);
    EXPECT_NE(checksum(), before);
    Psql(swap);  // and back
    EXPECT_EQ(checksum(), before);
    Psql(c.change);
    EXPECT_NE(checksum(), before);
  }
}

// A fingerprint copied from an earlier baseline's outputs and written into the plan: the
// check names the tables (or schema) that baseline took, and needs no baseline step.
TEST_F(PostgresAdapterTest, ASchemaFingerprintWrittenOutIsCheckedAgainstTheTablesItNames) {
  const json tables = {"users", "orders"};
  const std::string by_tables = Baseline(tables)["schema_fingerprint"].get<std::string>();
  Outcome of_schema = Run("baseline", {{"schema", "public"}});
  ASSERT_TRUE(of_schema.status.ok()) << of_schema.status.ToString();
  const std::string by_schema = of_schema.outputs["schema_fingerprint"].get<std::string>();
  const json checks = {{{"schema", {{"equals", by_tables}, {"tables", tables}}}},
                       {{"schema", {{"equals", by_schema}, {"schema", "public"}}}}};
  EXPECT_TRUE(adapter_->Validate("verify", Target(), {{"checks", checks}}).empty());

  Outcome out = Run("verify", {{"checks", checks}});  // no baseline given
  EXPECT_TRUE(out.status.ok()) << out.status.ToString() << out.outputs.dump();
  EXPECT_EQ(out.outputs["passed"], 2);

  Psql("ALTER TABLE orders ADD COLUMN extra int;");
  out = Run("verify", {{"checks", checks}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.outputs["failed"], 2) << out.outputs.dump();
  EXPECT_NE(out.status.message().find("schema: schema fingerprint"), std::string::npos)
      << out.status.message();
}

TEST_F(PostgresAdapterTest, ASchemaFingerprintWithNoTablesNorBaselineSaysWhatItNeeds) {
  Outcome out = Run("verify", {{"checks", {{{"schema", {{"equals", std::string(64, 'a')}}}}}}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_NE(out.status.message().find("the schema check needs 'tables' or 'schema', or a "
                                      "baseline step on this target"),
            std::string::npos)
      << out.status.message();
}

TEST_F(PostgresAdapterTest, BaselineOfASchemaCoversEveryTable) {
  Outcome out = Run("baseline", {{"schema", "public"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["tables"].size(), 4u) << out.outputs.dump();
  EXPECT_EQ(out.outputs["scope"], json({{"schema", "public"}}));
  out = Run("baseline", {{"schema", "nope"}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
}

TEST_F(PostgresAdapterTest, VerifyPassesOnTheBaselineAndNamesEachDifference) {
  const json baseline = Baseline({"users", "orders", "order_items"});
  const json checks = {
      {{"table_present", {"users", "orders"}}},
      {{"table_absent", "media"}},
      {{"row_count", {{"table", "orders"}, {"equals", "baseline"}}}},
      {{"row_count", {{"table", "users"}, {"equals", 50}}}},
      {{"checksum", {{"table", "orders"}, {"equals", "baseline"}}}},
      {{"schema", {{"equals", "baseline"}}}},
      {{"fk_valid", {{"tables", {"order_items"}}}}},
      {{"rls_enabled", {{"table", "users"}, {"policy", "users_isolation"}}}},
      {{"query", {{"sql", "SELECT count(*) FROM users WHERE tenant = 1"}, {"expect", 17}}}}};
  Outcome out = Run(*adapter_, "verify", {{"checks", checks}}, nullptr, baseline);
  EXPECT_TRUE(out.status.ok()) << out.status.ToString() << out.outputs.dump();
  EXPECT_EQ(out.outputs["passed"], 10);

  Psql("DELETE FROM order_items WHERE order_id = 5; DELETE FROM orders WHERE id = 5;"
       "DROP POLICY users_isolation ON users; ALTER TABLE orders ADD COLUMN extra int;"
       "CREATE TABLE media (id int);");
  out = Run(*adapter_, "verify", {{"checks", checks}}, nullptr, baseline);
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  const std::string& message = out.status.message();
  for (const char* part : {"table_absent media", "row_count orders: expected 400, observed 399",
                           "checksum orders", "schema: schema fingerprint",
                           "policy users_isolation is missing"}) {
    EXPECT_NE(message.find(part), std::string::npos) << part << " in " << message;
  }
  EXPECT_EQ(out.outputs["failed"], 5);
}

// Checksums and the fingerprint compare columns by name: a column dropped and re-added at the
// end, holding the same values, verifies equal, with either row hash. A baseline journaled
// before `column_order` existed was positional, and is still compared positionally; one
// recording an order this version does not know is refused, not judged.
TEST_F(PostgresAdapterTest, AColumnReaddedAtTheEndVerifiesEqualAndOldBaselinesStayPositional) {
  Psql("SET ROLE backout_test;"
       "CREATE TABLE moved (id int, note text, amount numeric(10, 2));"      // record hash
       "CREATE TABLE moved_text (id int, note text, ratio numeric);"         // text hash
       "INSERT INTO moved VALUES (1, 'a', 1.50);"
       "INSERT INTO moved_text VALUES (1, 'a', 1.5);");
  const json baseline = Baseline({"moved", "moved_text"});
  EXPECT_EQ(baseline["column_order"], "by_name");
  const json checks = {{{"checksum", {{"table", "moved"}, {"equals", "baseline"}}}},
                       {{"checksum", {{"table", "moved_text"}, {"equals", "baseline"}}}},
                       {{"schema", {{"equals", "baseline"}}}}};

  // A baseline as an older version journaled it: no column_order, positional checksums.
  json positional = baseline;
  positional.erase("column_order");
  positional["tables"]["moved"]["checksum"] = Psql(
      "SELECT lpad(to_hex(hashtextextended(hash_record_extended(t, 0)::text, 0)), 16, '0') "
      "FROM moved t").substr(0, 16);
  positional["tables"]["moved_text"]["checksum"] =
      Psql("SELECT lpad(to_hex(hashtextextended(t::text, 0)), 16, '0') FROM moved_text t")
          .substr(0, 16);
  const json content_checks = {checks[0], checks[1]};
  Outcome old = Run(*adapter_, "verify", {{"checks", content_checks}}, nullptr, positional);
  EXPECT_TRUE(old.status.ok()) << old.status.ToString();
  EXPECT_NE(positional["tables"]["moved"]["checksum"], baseline["tables"]["moved"]["checksum"]);

  json unknown = baseline;
  unknown["column_order"] = "by_phase_of_moon";
  Outcome refused = Run(*adapter_, "verify", {{"checks", checks}}, nullptr, unknown);
  EXPECT_EQ(refused.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.status.message().find("does not know"), std::string::npos)
      << refused.status.message();

  Psql("ALTER TABLE moved DROP COLUMN note; ALTER TABLE moved ADD COLUMN note text;"
       "UPDATE moved SET note = 'a';"
       "ALTER TABLE moved_text DROP COLUMN note; ALTER TABLE moved_text ADD COLUMN note text;"
       "UPDATE moved_text SET note = 'a';");
  Outcome out = Run(*adapter_, "verify", {{"checks", checks}}, nullptr, baseline);
  EXPECT_TRUE(out.status.ok()) << out.status.ToString() << out.outputs.dump();
  EXPECT_EQ(out.outputs["passed"], 3);
  // Positionally the rows differ now: the old baseline sees it.
  old = Run(*adapter_, "verify", {{"checks", content_checks}}, nullptr, positional);
  EXPECT_EQ(old.outputs["failed"], 2);

  Psql("UPDATE moved SET note = 'b'");
  out = Run(*adapter_, "verify", {{"checks", checks}}, nullptr, baseline);
  EXPECT_EQ(out.outputs["failed"], 1);
}

// checksum: false takes counts only (and the fingerprint), and a row_count check compares
// with them.
TEST_F(PostgresAdapterTest, ABaselineWithoutChecksumsTakesCountsOnly) {
  Outcome counts = Run("baseline", {{"tables", {"orders"}}, {"checksum", false}});
  ASSERT_TRUE(counts.status.ok()) << counts.status.ToString();
  EXPECT_EQ(counts.outputs["tables"]["orders"], json({{"rows", 400}}));
  EXPECT_TRUE(counts.outputs.contains("schema_fingerprint"));
  const json checks = {{{"row_count", {{"table", "orders"}, {"equals", "baseline"}}}},
                       {{"checksum", {{"table", "orders"}, {"equals", "baseline"}}}}};
  Outcome out = Run(*adapter_, "verify", {{"checks", checks}}, nullptr, counts.outputs);
  EXPECT_EQ(out.outputs["passed"], 1);
  EXPECT_NE(out.status.message().find("has no checksum (it took counts only)"),
            std::string::npos)
      << out.status.message();
}

TEST_F(PostgresAdapterTest, FkValidFindsUnvalidatedKeysAndOrphans) {
  Psql("ALTER TABLE order_items DROP CONSTRAINT order_items_order_id_fkey;"
       "INSERT INTO order_items VALUES (5000, 99999, 'ghost', 1), (5001, 99998, 'ghost', 1);"
       "ALTER TABLE order_items ADD CONSTRAINT items_fk FOREIGN KEY (order_id) "
       "REFERENCES orders (id) NOT VALID;");
  Outcome out = Run("verify", {{"checks", {{{"fk_valid", {{"tables", {"order_items"}}}}}}}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_NE(out.status.message().find("items_fk on order_items is NOT VALID"), std::string::npos)
      << out.status.message();
  EXPECT_NE(out.status.message().find("2 row(s) of order_items refer to no row of orders"),
            std::string::npos)
      << out.status.message();
  EXPECT_EQ(out.outputs["checks"][0]["observed"]["orphan_rows"], 2);
}

TEST_F(PostgresAdapterTest, VerifyOfAMissingTableIsAnAnswerAndOtherChecksStillRun) {
  Outcome out = Run("verify", {{"checks",
                                {{{"row_count", {{"table", "nope"}, {"equals", 0}}}},
                                 {{"query", {{"sql", "SELECT broken syntax"}, {"expect", 1}}}},
                                 {{"table_present", "orders"}}}}});
  EXPECT_EQ(out.outputs["checks"][0]["message"], "table: table 'nope' does not exist");
  EXPECT_EQ(out.outputs["checks"][2]["pass"], true) << out.outputs.dump();
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);  // the query could not be evaluated
}

// --- backup and restore --------------------------------------------------------------------

TEST_F(PostgresAdapterTest, TableBackupAndRestoreRoundTrip) {
  const json baseline = Baseline({"orders", "order_items"});
  Outcome backup = Run("backup", {{"to", "backups/"}, {"tables", {"order_items", "orders"}}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  const std::string path = backup.outputs["path"];
  EXPECT_EQ(backup.outputs["format"], "backout-pg-tables");
  EXPECT_EQ(backup.outputs["tables"]["orders"]["rows"], 400);
  EXPECT_EQ(backup.outputs["tables"]["order_items"]["rows"], 1000);
  EXPECT_EQ(backup.outputs["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(std::filesystem::file_size(path), backup.outputs["bytes"].get<std::uint64_t>());
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);

  Psql("DELETE FROM order_items WHERE id % 2 = 0; UPDATE orders SET note = 'broken';");
  Outcome restore = Run("restore", {{"from", path},
                                    {"tables", {"orders", "order_items"}},
                                    {"sha256", backup.outputs["sha256"]}});
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(restore.outputs["tables"]["order_items"]["rows"], 1000);
  EXPECT_EQ(Baseline({"orders", "order_items"}), baseline);
}

// The restore drops the indexes it can build again exactly and builds them after each
// table's load: same names and definitions (the fingerprint and an independent picture of the
// schema are unchanged), every constraint enforced again; the primary key another table's
// foreign key refers to stays as it was (same OID), every other index is new.
TEST_F(PostgresAdapterTest, RestoreBuildsIndexesAgainAfterTheLoad) {
  Psql("SET ROLE backout_test;"
       "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, seat int,"
       "  score int, during int4range,"
       "  CONSTRAINT accounts_seat_key UNIQUE (seat) DEFERRABLE INITIALLY DEFERRED,"
       "  CONSTRAINT accounts_during_excl EXCLUDE USING gist (during WITH &&));"
       "CREATE INDEX accounts_scored ON accounts (score) WHERE score > 0;"
       "CREATE INDEX accounts_email_lower ON accounts (lower(email));"
       "CREATE TABLE entries (id bigint PRIMARY KEY,"
       "  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, amount int);"
       "CREATE INDEX entries_account ON entries (account_id);"
       "INSERT INTO accounts SELECT g, 'user' || g || '@example.com', g, g % 7 - 3,"
       "  int4range(g * 10, g * 10 + 5) FROM generate_series(1, 300) g;"
       "INSERT INTO entries SELECT g, 1 + g % 300, g FROM generate_series(1, 900) g;");
  const std::string picture = server().Snapshot(db_);
  const json baseline = Baseline({"accounts", "entries"});
  const std::map<std::string, std::string> before = IndexOids();
  Outcome backup = Run("backup", {{"to", "b.pgtables"}, {"tables", {"accounts", "entries"}}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();

  Psql("DELETE FROM entries WHERE id > 100; UPDATE accounts SET score = 0, seat = -id;");
  Outcome restore = Run("restore", {{"from", "b.pgtables"}, {"tables", {"accounts", "entries"}}});
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(Baseline({"accounts", "entries"}), baseline);
  EXPECT_EQ(server().Snapshot(db_), picture);
  EXPECT_EQ(Rebuilt(before, IndexOids()),
            (std::set<std::string>{"accounts_during_excl", "accounts_email_key",
                                   "accounts_email_lower", "accounts_scored", "accounts_seat_key",
                                   "entries_account", "entries_pkey"}));

  // Each constraint in turn: entries_pkey, the foreign key, accounts_pkey, accounts_email_key,
  // accounts_seat_key (deferred: at COMMIT), accounts_during_excl; then a row that fits.
  EXPECT_THROW(Psql("INSERT INTO entries VALUES (1, 1, 0)"), std::runtime_error);
  EXPECT_THROW(Psql("INSERT INTO entries VALUES (5000, 5000, 0)"), std::runtime_error);
  EXPECT_THROW(Psql("INSERT INTO accounts VALUES (1, 'new@example.com')"), std::runtime_error);
  EXPECT_THROW(Psql("INSERT INTO accounts VALUES (1000, 'user1@example.com')"),
               std::runtime_error);
  EXPECT_THROW(Psql("INSERT INTO accounts VALUES (1000, 'new@example.com', 1)"),
               std::runtime_error);
  EXPECT_THROW(Psql("INSERT INTO accounts VALUES (1000, 'new@example.com', 1000, 0, '[12,13)')"),
               std::runtime_error);
  EXPECT_NO_THROW(Psql("INSERT INTO accounts VALUES (1000, 'new@example.com', 1000, 0, '[1,2)')"));
}

// Indexes whose definition does not say everything about them, that something refers to, or
// of tables the restore may not or should not rebuild: all left as they were.
TEST_F(PostgresAdapterTest, RestoreLeavesInPlaceTheIndexesItCannotBuildAgainExactly) {
  Psql("DO $$BEGIN CREATE ROLE backout_other; EXCEPTION WHEN duplicate_object THEN NULL; END$$;"
       "CREATE TABLE foreign_owned (id int PRIMARY KEY);"
       "ALTER TABLE foreign_owned OWNER TO backout_other;"
       "GRANT ALL ON foreign_owned TO backout_test;"
       "SET ROLE backout_test;"
       "CREATE TABLE marked (id int PRIMARY KEY, a int NOT NULL, b int, c int, d int);"
       "CREATE UNIQUE INDEX marked_a ON marked (a);"
       "ALTER TABLE marked REPLICA IDENTITY USING INDEX marked_a;"
       "CREATE INDEX marked_b ON marked (b); CLUSTER marked USING marked_b;"
       "CREATE INDEX marked_c ON marked (c); COMMENT ON INDEX marked_c IS 'kept';"
       "CREATE INDEX marked_sum ON marked ((b + c));"
       "ALTER INDEX marked_sum ALTER COLUMN 1 SET STATISTICS 500;"
       "CREATE INDEX marked_d ON marked (d);"
       "CREATE TABLE grouped (id int PRIMARY KEY, v int);"
       "CREATE VIEW grouped_view AS SELECT id, v FROM grouped GROUP BY id;"
       "CREATE TABLE audited (id int PRIMARY KEY);"
       "CREATE FUNCTION pass() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
       "CREATE TRIGGER audited_insert BEFORE INSERT ON audited FOR EACH ROW "
       "  EXECUTE FUNCTION pass();"
       "CREATE TABLE parts (id int PRIMARY KEY) PARTITION BY RANGE (id);"
       "CREATE TABLE parts_low PARTITION OF parts FOR VALUES FROM (0) TO (1000);"
       "CREATE TABLE slices (id int PRIMARY KEY) PARTITION BY RANGE (id);"
       "CREATE TABLE slices_low PARTITION OF slices FOR VALUES FROM (0) TO (1000);"
       "INSERT INTO marked SELECT g, g, g, g, g FROM generate_series(1, 200) g;"
       "INSERT INTO grouped SELECT g, g FROM generate_series(1, 200) g;"
       "INSERT INTO audited SELECT generate_series(1, 200);"
       "INSERT INTO parts SELECT generate_series(1, 200);"
       "INSERT INTO slices SELECT generate_series(1, 200);"
       "INSERT INTO foreign_owned SELECT generate_series(1, 200);");
  const json tables = {"marked", "grouped", "audited", "parts", "slices_low", "foreign_owned"};
  const std::string picture = server().Snapshot(db_);
  const json baseline = Baseline(tables);
  const std::map<std::string, std::string> before = IndexOids();
  Outcome backup = Run("backup", {{"to", "b.pgtables"}, {"tables", tables}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  Psql("DELETE FROM marked WHERE id > 10; DELETE FROM parts; DELETE FROM foreign_owned;");
  Outcome restore = Run("restore", {{"from", "b.pgtables"}, {"tables", tables}});
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(Baseline(tables), baseline);
  EXPECT_EQ(server().Snapshot(db_), picture);
  EXPECT_EQ(Rebuilt(before, IndexOids()), (std::set<std::string>{"marked_d", "marked_pkey"}));
  EXPECT_EQ(Psql("SELECT indisclustered FROM pg_index WHERE indexrelid = 'marked_b'::regclass"),
            "t\n");
}

TEST_F(PostgresAdapterTest, RestoreRefusesToEmptyTablesItWasNotGiven) {
  Outcome backup = Run("backup", {{"to", "b.pgtables"}, {"tables", {"orders"}}});
  ASSERT_TRUE(backup.status.ok()) << backup.status.ToString();
  Outcome restore = Run("restore", {{"from", "b.pgtables"}, {"tables", {"orders"}}});
  EXPECT_EQ(restore.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(restore.status.message().find("table order_items refers to orders"),
            std::string::npos)
      << restore.status.message();
  EXPECT_EQ(Psql("SELECT count(*) FROM order_items"), "1000\n");

  restore = Run("restore", {{"from", "b.pgtables"}, {"tables", {"users"}}});
  EXPECT_EQ(restore.status.code(), Code::kNotFound);
  EXPECT_NE(restore.status.message().find("holds no table 'users'"), std::string::npos);

  Outcome wrong_digest = Run("restore", {{"from", "b.pgtables"},
                                         {"tables", {"orders"}},
                                         {"cascade", true},
                                         {"sha256", std::string(64, 'a')}});
  EXPECT_EQ(wrong_digest.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(Psql("SELECT count(*) FROM order_items"), "1000\n");  // rolled back
}

TEST_F(PostgresAdapterTest, FullBackupAndRestore) {
  const json baseline = Baseline({"users", "orders", "order_items"});
  Outcome full = Run("backup", {{"to", "backups/full/"}, {"full", true}});
  ASSERT_TRUE(full.status.ok()) << full.status.ToString();
  EXPECT_EQ(full.outputs["format"], "pg_dump-custom");
  EXPECT_EQ(full.outputs["tables"]["orders"]["rows"], 400) << full.outputs.dump();
  Outcome schema = Run("backup", {{"to", "backups/schema/"}, {"schema_only", true}});
  ASSERT_TRUE(schema.status.ok()) << schema.status.ToString();
  EXPECT_EQ(schema.outputs["format"], "pg_dump-custom-schema-only");

  Psql("DROP TABLE order_items; DELETE FROM orders WHERE id > 100;"
       "ALTER TABLE users DISABLE ROW LEVEL SECURITY;");
  Outcome refused = Run("restore", {{"from", schema.outputs["path"]}, {"full", true}});
  EXPECT_EQ(refused.status.code(), Code::kFailedPrecondition) << refused.status.ToString();
  Outcome restore = Run("restore", {{"from", full.outputs["path"]}, {"full", true}});
  ASSERT_TRUE(restore.status.ok()) << restore.status.ToString();
  EXPECT_EQ(Baseline({"users", "orders", "order_items"}), baseline);
  // The report's restores list the tables the archive loaded, named as the backup names them.
  for (const char* table : {"users", "orders", "order_items"}) {
    EXPECT_EQ(restore.outputs["tables"][table], json::object()) << restore.outputs.dump();
  }
}

// --- failures and secrecy ------------------------------------------------------------------

TEST_F(PostgresAdapterTest, WrongPasswordIsOneClearMessage) {
  const std::string dsn = "host=" + server().socket_dir().string() +
                          " port=" + std::to_string(server().port()) + " dbname=" + db_ +
                          " user=backout_test password=Wrong-Pw-123";
  Outcome out = Run(*adapter_, "query", {{"sql", "SELECT 1"}}, Target(dsn));
  EXPECT_EQ(out.status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(out.status.message(),
            "postgres " + server().socket_dir().string() + ":" + std::to_string(server().port()) +
                "/" + db_ + " user=backout_test: password authentication failed for user "
                "\"backout_test\"");
  EXPECT_EQ(out.status.message().find("Wrong-Pw-123"), std::string::npos);
}

TEST_F(PostgresAdapterTest, UnreachableServerIsOneClearMessage) {
  // A URI with the password inline: it must not leak either.
  const std::string dsn = "postgresql://backout_test:" + std::string(PgServer::kTestPassword) +
                          "@127.0.0.1:1/" + db_;
  Outcome out = Run(*adapter_, "query", {{"sql", "SELECT 1"}}, Target(dsn));
  EXPECT_EQ(out.status.code(), Code::kUnavailable);
  EXPECT_EQ(out.status.message().find('\n'), std::string::npos);
  EXPECT_TRUE(out.status.message().starts_with("postgres 127.0.0.1:1/" + db_ +
                                               " user=backout_test: cannot connect: Connection "
                                               "refused"))
      << out.status.message();
}

TEST_F(PostgresAdapterTest, MissingTableIsOneClearMessage) {
  Outcome out = Run("baseline", {{"tables", {"orders", "nope"}}});
  EXPECT_EQ(out.status.code(), Code::kNotFound);
  EXPECT_EQ(out.status.message(), "baseline: table 'nope' does not exist");
  out = Run("backup", {{"to", "b/"}, {"tables", {"nope"}}});
  EXPECT_EQ(out.status.message(), "backup: table 'nope' does not exist");
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "b") &&
               !std::filesystem::is_empty(dir_.path() / "b"));
}

TEST_F(PostgresAdapterTest, LockTimeoutIsOneClearMessage) {
  PGconn* holder = PQconnectdb(server().dsn(db_).c_str());
  ASSERT_EQ(PQstatus(holder), CONNECTION_OK);
  PQclear(PQexec(holder, "BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"));
  Outcome out = Run("sql", {{"script", "DELETE FROM orders"}, {"lock_timeout", "200ms"}});
  PQfinish(holder);
  EXPECT_EQ(out.status.code(), Code::kTimeout);
  EXPECT_EQ(out.status.message(),
            "sql: waited longer than lock_timeout (200ms) for a lock another session holds; the "
            "statement was cancelled");
  EXPECT_EQ(Psql("SELECT count(*) FROM orders"), "400\n");
}

// --- advisory lock -------------------------------------------------------------------------

TEST_F(PostgresAdapterTest, SecondRunnerIsRefusedUntilTheFirstConnectionEnds) {
  auto first = MakePostgresAdapter();
  Invocation other_run = Inv("query", {{"sql", "SELECT 1"}});
  other_run.run_id = "run-other";
  ASSERT_TRUE(first->Run(other_run).status.ok());
  Outcome refused = Run(*adapter_, "query", {{"sql", "SELECT 1"}});
  EXPECT_EQ(refused.status.code(), Code::kLocked);
  EXPECT_NE(refused.status.message().find("another backout runner is working on database " + db_),
            std::string::npos)
      << refused.status.message();
  EXPECT_NE(refused.status.message().find("application_name 'backout run run-other'"),
            std::string::npos)
      << refused.status.message();
  EXPECT_NE(refused.status.message().find("pid "), std::string::npos);

  // The runner's connection dies (as when its process is killed): the lock goes with it.
  server().Psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                db_ + "' AND application_name = 'backout run run-other'");
  EXPECT_TRUE(Run(*adapter_, "query", {{"sql", "SELECT 1"}}).status.ok());
  // Now the first adapter is the second runner: it reconnects and is refused.
  EXPECT_EQ(first->Run(other_run).status.code(), Code::kLocked);
  adapter_.reset();  // ends the connection, and the lock
  EXPECT_TRUE(first->Run(other_run).status.ok());
}

// A resume right after its runner was SIGKILLed can find the killed runner's connection
// still holding the lock (the server has not noticed yet): same run, so it is ended.
TEST_F(PostgresAdapterTest, StaleConnectionOfTheSameRunIsEnded) {
  auto killed = MakePostgresAdapter();
  ASSERT_TRUE(Run(*killed, "query", {{"sql", "SELECT 1"}}).status.ok());
  const std::string stale_pid =
      server().Psql("SELECT pid FROM pg_stat_activity WHERE datname = '" + db_ +
                    "' AND application_name = 'backout run run-test'");
  Outcome resumed = Run(*adapter_, "query", {{"sql", "SELECT 1"}});
  EXPECT_TRUE(resumed.status.ok()) << resumed.status.ToString();
  EXPECT_EQ(server().Psql("SELECT count(*) FROM pg_stat_activity WHERE pid = " + stale_pid),
            "0\n");
}

// --- rehearsal copies ----------------------------------------------------------------------

TEST_F(PostgresAdapterTest, RehearsalCopyIsMadeReusedAndDropped) {
  ASSERT_TRUE(adapter_->CanCopyForRehearsal());
  const json baseline = Baseline({"users", "orders", "order_items"});
  adapter_ = MakePostgresAdapter();  // no session on the source: the TEMPLATE path
  RehearsalScratch scratch;
  scratch.name = "rh_" + db_.substr(2, 20);
  scratch.dir = dir_.path();
  scratch.base_dir = dir_.path();
  Result<json> copy = adapter_->MakeRehearsalCopy(Target(), scratch);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ((*copy)["type"], "postgres");
  Outcome on_copy = Run(*adapter_, "baseline", {{"tables", {"users", "orders", "order_items"}}},
                        *copy);
  ASSERT_TRUE(on_copy.status.ok()) << on_copy.status.ToString();
  EXPECT_EQ(on_copy.outputs["tables"], baseline["tables"]);
  ASSERT_TRUE(Run(*adapter_, "sql", {{"script", "DELETE FROM order_items"}}, *copy).status.ok());
  EXPECT_EQ(Psql("SELECT count(*) FROM order_items"), "1000\n");  // the real one is untouched

  Result<json> again = adapter_->MakeRehearsalCopy(Target(), scratch);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(server().Psql("SELECT count(*) FROM order_items", scratch.name), "0\n");  // reused

  ASSERT_TRUE(adapter_->DropRehearsalCopy(*copy, scratch).ok());
  EXPECT_EQ(server().Psql("SELECT count(*) FROM pg_database WHERE datname LIKE '" + scratch.name +
                          "%'"),
            "0\n");
  EXPECT_TRUE(adapter_->DropRehearsalCopy(*copy, scratch).ok());  // gone already is fine
}

TEST_F(PostgresAdapterTest, RehearsalCopyOfADatabaseInUseGoesThroughPgDump) {
  const json baseline = Baseline({"users", "orders", "order_items"});
  PGconn* busy = PQconnectdb(server().dsn(db_).c_str());  // keeps TEMPLATE from working
  ASSERT_EQ(PQstatus(busy), CONNECTION_OK);
  RehearsalScratch scratch;
  scratch.name = "rh_" + db_.substr(2, 20);
  scratch.dir = dir_.path();
  scratch.base_dir = dir_.path();
  std::vector<std::string> progress;
  scratch.progress = [&](std::string_view line) { progress.emplace_back(line); };
  Result<json> copy = adapter_->MakeRehearsalCopy(Target(), scratch);
  PQfinish(busy);
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  ASSERT_FALSE(progress.empty());
  EXPECT_NE(progress.back().find("pg_dump"), std::string::npos) << progress.back();
  Outcome on_copy = Run(*adapter_, "baseline", {{"tables", {"users", "orders", "order_items"}}},
                        *copy);
  ASSERT_TRUE(on_copy.status.ok()) << on_copy.status.ToString();
  EXPECT_EQ(on_copy.outputs, baseline);
  EXPECT_TRUE(adapter_->DropRehearsalCopy(*copy, scratch).ok());
}

// --- cancellation and deadlines ------------------------------------------------------------

TEST_F(PostgresAdapterTest, CancelStopsARunningStatement) {
  std::thread canceller([&] {
    testing::WaitFor(
        [&] {
          return server().Psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                               "'%pg_sleep(600)%' AND application_name LIKE 'backout run%'") ==
                 "1\n";
        },
        std::chrono::minutes(2));
    cancel_ = true;
  });
  Outcome out = Run("sql", {{"script", "SELECT pg_sleep(600)"}});
  canceller.join();
  EXPECT_EQ(out.status.code(), Code::kCancelled) << out.status.ToString();
  cancel_ = false;
  EXPECT_TRUE(Run("query", {{"sql", "SELECT 1"}, {"expect", 1}}).status.ok());  // still usable
}

TEST_F(PostgresAdapterTest, StepTimeoutBecomesStatementTimeout) {
  Invocation inv = Inv("sql", {{"script", "SELECT pg_sleep(600)"}});
  inv.timeout = std::chrono::milliseconds(300);
  Outcome out = adapter_->Run(inv);
  EXPECT_EQ(out.status.code(), Code::kTimeout) << out.status.ToString();
}

}  // namespace
}  // namespace backout::adapters
