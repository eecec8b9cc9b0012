// Internal to the SQLite adapter: reading database content for baseline, verify and query:
// whether a table exists, row counts, the order-independent content checksum, and the first
// value a query returns.
//
// None of these write. Long reads stop with kCancelled / kTimeout through the Connection's
// stop condition.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/verify.h"
#include "adapters/sqlite/connection.h"
#include "base/sha256.h"
#include "base/status.h"

namespace backout::adapters::sqlite {

// `name` as an SQL identifier: in double quotes, inner double quotes doubled.
std::string QuoteIdentifier(std::string_view name);

// Whether a table or view called `name` exists in the main schema. Names compare as SQLite
// compares them: ASCII letters ignore case.
Result<bool> TableExists(Connection& db, std::string_view name);

// kNotFound "table 'name' does not exist" unless TableExists.
Status RequireTable(Connection& db, std::string_view name);

// The number of rows of an existing table (kNotFound otherwise).
Result<std::int64_t> CountRows(Connection& db, std::string_view table);

// An order-independent checksum of a table's rows.
//
// Each row is encoded canonically, column by column in the order given (ColumnsInOrder):
//   NULL     'N'
//   INTEGER  'I' + the value as 8 bytes, big-endian two's complement
//   REAL     'R' + the IEEE-754 binary64 bits as 8 bytes, big-endian
//   TEXT     'T' + the UTF-8 byte length as 8 bytes, big-endian + the UTF-8 bytes
//   BLOB     'B' + the byte length as 8 bytes, big-endian + the bytes
// The tag keeps 1, 1.0, '1' and x'31' apart; the length prefix keeps ('ab','c') apart from
// ('a','bc'). The row's SHA-256, read as a 256-bit big-endian unsigned integer, is added to
// the checksum modulo 2^256.
//
// Why a sum of row hashes rather than a hash of the rows in order: a restore (or VACUUM) may
// change the physical order of rows without changing the content, and a checksum taken
// before must still match after. Addition is order-independent; unlike XOR it does not let
// two identical rows (allowed in a table without a primary key) cancel out.
class ContentChecksum {
 public:
  // `columns`: the result columns of the rows to be added, in the order they are encoded.
  explicit ContentChecksum(std::vector<int> columns) : columns_(std::move(columns)) {}

  // Adds the current row of `row` (a statement positioned on a row).
  void AddRow(sqlite3_stmt* row);

  // 64 lowercase hex digits. An empty table sums to zero.
  std::string Hex() const { return ToHex(sum_); }

 private:
  std::vector<int> columns_;
  Digest sum_{};          // big-endian
  std::string encoding_;  // reused between rows to avoid an allocation per row
};

// The result columns of `statement` in `order`: kByPosition as the statement returns them;
// kByName sorted by name as SQLite compares names (ASCII letters ignore case; a table's
// column names are unique that way), so a column dropped and re-added at the end of the
// table takes its old place.
std::vector<int> ColumnsInOrder(sqlite3_stmt* statement, common::ColumnOrder order);

struct TableSummary {
  std::int64_t rows = 0;
  std::string checksum;  // ContentChecksum::Hex()
};

// Row count and content checksum, columns in `order`, of an existing table (kNotFound
// otherwise), in one scan. CountRows alone is much cheaper.
Result<TableSummary> SummarizeTable(Connection& db, std::string_view table,
                                    common::ColumnOrder order);

// Runs `sql`, which must be exactly one statement that does not write, and returns the first
// column of its first row as JSON: integer, real, string (its bytes as stored, UTF-8 or not),
// null; a blob as lowercase hex. Null when there are no rows. `what` prefixes errors.
// (common::QueryValueMatches judges the value against a plan's `expect`.)
Result<nlohmann::json> QueryFirstValue(Connection& db, std::string_view sql, std::string_view what);

// The problems `PRAGMA <pragma>` reports (pragma: "integrity_check" or "quick_check"), at
// most the first ten; empty when the database is sound.
Result<std::vector<std::string>> FindCorruption(Connection& db, std::string_view pragma);

}  // namespace backout::adapters::sqlite
