// Internal to the PostgreSQL adapter: reading what a database holds, for baseline, verify,
// backup and restore: tables by name, row counts and content checksums computed in the
// server, the schema fingerprint, foreign keys, and query values.
//
// Callers run these inside one snapshot (BeginSnapshot) when figures must agree with each
// other. None of them write.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/verify.h"
#include "adapters/postgres/actions.h"
#include "base/status.h"

namespace backout::adapters::postgres {

// A relation found by the name a plan gives it.
struct Table {
  std::string name;      // as the plan wrote it ("orders", "sales.orders")
  std::string oid;       // pg_class.oid, in decimal
  std::string relation;  // oid::regclass::text: quoted, schema-qualified unless on search_path
  char kind = 'r';       // pg_class.relkind
};

// Opens a REPEATABLE READ READ ONLY transaction with the output formats that row text
// depends on pinned (DateStyle, IntervalStyle, TimeZone, extra_float_digits, bytea_output),
// so checksums taken in different sessions compare. The caller commits or rolls back.
Status BeginSnapshot(const ActionContext& context, std::string_view what);

// The relation `name` names (SQL syntax: unquoted parts fold to lower case), or nullopt when
// there is none. Any relation kind.
Result<std::optional<Table>> FindTable(const ActionContext& context, const std::string& name);
// The table (ordinary or partitioned) `name` names; kNotFound "table 'name' does not exist".
Result<Table> RequireTable(const ActionContext& context, const std::string& name,
                           std::string_view what);
// Every ordinary and partitioned table of `schema`, by relname; kNotFound for no such schema.
Result<std::vector<Table>> TablesOfSchema(const ActionContext& context, const std::string& schema);

struct TableSummary {
  std::int64_t rows = 0;
  std::string checksum;  // kChecksumHexDigits lowercase hex digits
};

// How SummarizeTable hashes one row.
enum class RowHash {
  // hash_record_extended(r, 0): each column hashed as its type hashes for hash joins,
  // combined in column order. Only where equal hashes mean equal values (ChooseRowHash).
  kRecord,
  // hashtextextended(r::text, 0): the row's text form (as `SELECT t::text` prints it, under
  // the formats BeginSnapshot pins) hashed as a string.
  kText,
};

// The row hash for `table`, decided from the server version and the catalog only (never from
// the rows, so an empty table and a full one with the same columns get the same method, and
// baseline, verify and a rehearsal copy agree). kRecord needs hash_record_extended (server
// 14 or later) and every column's type, domains resolved to their base type, on a list of
// built-in types whose hash equality is value equality: bool, int2/4/8, oid, text, varchar
// and name with a deterministic collation, bytea, date, time, timestamp, timestamptz, uuid,
// inet, and numeric and bpchar only with a type modifier. Left out because values that print
// differently are equal and hash alike: float4/float8 (0 and -0), interval ('1 day' and
// '24 hours'), jsonb (its numbers: 1.0 and 1.00), numeric without a scale (1.0 and 1.00;
// numeric(p,s) stores every value with scale s), bpchar without a length (trailing blanks),
// arrays (their bounds are not hashed). Anything else is kText.
Result<RowHash> ChooseRowHash(const ActionContext& context, const Table& table);

// Row count and content checksum of `table`, in one scan in the server.
//
// For each row r, h is a 64-bit hash of the whole row, its columns in `order`
// (ColumnOrder::kByName: r is ROW(t.a, t.b, ...) with the columns sorted by name in byte
// order, so a column dropped and re-added at the end of the table takes its old place; a
// ROW of the table's columns in their own order prints and hashes as the table row does, so
// for a table whose columns are already in name order both orders give one checksum):
// hashtextextended(r::text, 0) or, with
// RowHash::kRecord, hashtextextended(hash_record_extended(r, 0)::text, 0) — the record hash
// is linear in its column hashes (h = 31 * h + column hash), so summed as it is it would be
// a weighted sum of per-column sums, blind to values swapped between rows; hashing its
// decimal text once more makes each row's term depend on the row as a whole. The checksum is
// the sum of h over all rows modulo 2^64, as 16 hex digits. Addition makes it independent of
// row order (a restore changes physical order) without letting duplicate rows cancel out as
// XOR would; the sum runs in the server's 128-bit integer aggregate, so any table size
// works, and only two numbers leave the server. The text form costs about what one COPY TO
// of the table costs (the row-to-text conversion dominates; md5 per row was 4x slower); the
// record form well under half of that. The hash is not cryptographic: it detects changes, not
// forgeries, and is compared only between databases of one server build (a rehearsal copy,
// a restore).
Result<TableSummary> SummarizeTable(const ActionContext& context, const Table& table,
                                    common::ColumnOrder order);

// The number of rows of `table` (count(*); a partitioned table's partitions included, as
// SummarizeTable counts them): what a row count costs without a checksum.
Result<std::int64_t> CountRows(const ActionContext& context, const Table& table);

// SHA-256 (hex) over the sorted canonical lines describing `tables`: for each table its
// RLS flags, its columns (name, type, NOT NULL, default, identity, generated; with
// ColumnOrder::kByPosition also each column's position, so that only then does a column
// dropped and re-added at the end change the fingerprint), its
// constraints (pg_get_constraintdef), indexes (pg_get_indexdef), RLS policies (command,
// permissive, roles, USING and WITH CHECK) and user triggers. `missing` names tables that do
// not exist; each adds a line of its own so that a dropped table changes the fingerprint.
Result<std::string> SchemaFingerprint(const ActionContext& context,
                                      const std::vector<Table>& tables,
                                      const std::vector<std::string>& missing,
                                      common::ColumnOrder order);

// The foreign keys where `tables` refer to others or others refer to them.
struct ForeignKey {
  std::string name;
  std::string child;   // relation (regclass text)
  std::string parent;  // relation
  std::string child_oid;
  std::string parent_oid;
  bool validated = true;
  std::vector<std::string> child_columns;   // quoted
  std::vector<std::string> parent_columns;  // quoted
};
Result<std::vector<ForeignKey>> ForeignKeysTouching(const ActionContext& context,
                                                    const std::vector<Table>& tables);

// The rows of the child that refer to no row of the parent (MATCH SIMPLE: a row with a NULL
// in the key refers to nothing and is never an orphan).
Result<std::int64_t> CountOrphans(const ActionContext& context, const ForeignKey& key);

// The first column of the first row `sql` returns, as JSON: integers and numerics as numbers,
// booleans as true/false, NULL (or no row) as null, anything else as its text.
// (common::QueryValueMatches judges the value against a plan's `expect`.)
Result<nlohmann::json> QueryFirstValue(const ActionContext& context, std::string_view sql,
                                       std::string_view what);

}  // namespace backout::adapters::postgres
