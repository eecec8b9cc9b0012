#include "adapters/sqlite/content.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <numeric>

#include "base/quote.h"

namespace backout::adapters::sqlite {
namespace {

using nlohmann::json;

void AppendBigEndian64(std::uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void AppendLengthPrefixed(char tag, const void* data, int size, std::string* out) {
  out->push_back(tag);
  AppendBigEndian64(static_cast<std::uint64_t>(size), out);
  out->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

// Appends the canonical encoding of one column value (see ContentChecksum).
void AppendValue(sqlite3_stmt* row, int column, std::string* out) {
  switch (sqlite3_column_type(row, column)) {
    case SQLITE_INTEGER:
      out->push_back('I');
      AppendBigEndian64(static_cast<std::uint64_t>(sqlite3_column_int64(row, column)), out);
      return;
    case SQLITE_FLOAT:
      out->push_back('R');
      AppendBigEndian64(std::bit_cast<std::uint64_t>(sqlite3_column_double(row, column)), out);
      return;
    case SQLITE_TEXT: {
      // The pointer must be fetched before the size: asking for text may convert the value.
      const unsigned char* text = sqlite3_column_text(row, column);
      AppendLengthPrefixed('T', text, sqlite3_column_bytes(row, column), out);
      return;
    }
    case SQLITE_BLOB: {
      const void* blob = sqlite3_column_blob(row, column);
      AppendLengthPrefixed('B', blob, sqlite3_column_bytes(row, column), out);
      return;
    }
    default:
      out->push_back('N');
      return;
  }
}

// sum += addend (mod 2^256), both big-endian.
void AddModulo256Bits(const Digest& addend, Digest* sum) {
  unsigned carry = 0;
  for (std::size_t i = sum->size(); i-- > 0;) {
    const unsigned total = (*sum)[i] + addend[i] + carry;
    (*sum)[i] = static_cast<std::uint8_t>(total & 0xff);
    carry = total >> 8;
  }
}

std::string HexBytes(const void* data, int size) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(static_cast<std::size_t>(size) * 2);
  for (int i = 0; i < size; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

json ColumnAsJson(sqlite3_stmt* row, int column) {
  switch (sqlite3_column_type(row, column)) {
    case SQLITE_INTEGER:
      return sqlite3_column_int64(row, column);
    case SQLITE_FLOAT:
      return sqlite3_column_double(row, column);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, column));
      // SQLite does not enforce UTF-8 for TEXT. The bytes are kept: the engine marks what is
      // not UTF-8 when it journals the outputs, losslessly (base/utf8.h).
      return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(row, column)));
    }
    case SQLITE_BLOB: {
      const void* blob = sqlite3_column_blob(row, column);
      return HexBytes(blob, sqlite3_column_bytes(row, column));
    }
    default:
      return nullptr;
  }
}

// Everything after the first statement must be whitespace or comments: running only the
// first of several statements would silently ignore the rest.
Status RequireNothingMore(Connection& db, std::string_view rest, std::string_view what) {
  Result<Statement> next = db.Prepare(rest, what);
  if (!next.ok()) return next.status();
  if (*next != nullptr) {
    return Status::InvalidArgument(fmt::format("{}: sql must be a single statement", what));
  }
  return Status::Ok();
}

std::string Show(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string QuoteIdentifier(std::string_view name) { return QuoteByDoubling(name, '"'); }

Result<bool> TableExists(Connection& db, std::string_view name) {
  const std::string what = fmt::format("looking up table '{}'", name);
  Result<Statement> statement = db.Prepare(
      "SELECT 1 FROM sqlite_schema WHERE type IN ('table', 'view') AND name = ?1 COLLATE NOCASE",
      what);
  if (!statement.ok()) return statement.status();
  // No destructor: the name outlives the statement.
  sqlite3_bind_text(statement->get(), 1, name.data(), static_cast<int>(name.size()), nullptr);
  return db.Step(statement->get(), what);
}

Status RequireTable(Connection& db, std::string_view name) {
  Result<bool> exists = TableExists(db, name);
  if (!exists.ok()) return exists.status();
  if (!*exists) return Status::NotFound(fmt::format("table '{}' does not exist", name));
  return Status::Ok();
}

Result<std::int64_t> CountRows(Connection& db, std::string_view table) {
  BACKOUT_RETURN_IF_ERROR(RequireTable(db, table));
  const std::string what = fmt::format("counting rows of '{}'", table);
  Result<Statement> statement =
      db.Prepare(fmt::format("SELECT count(*) FROM {}", QuoteIdentifier(table)), what);
  if (!statement.ok()) return statement.status();
  Result<bool> row = db.Step(statement->get(), what);
  if (!row.ok()) return row.status();
  return sqlite3_column_int64(statement->get(), 0);
}

std::vector<int> ColumnsInOrder(sqlite3_stmt* statement, common::ColumnOrder order) {
  const int count = sqlite3_column_count(statement);
  std::vector<int> columns(static_cast<std::size_t>(count));
  std::iota(columns.begin(), columns.end(), 0);
  if (order == common::ColumnOrder::kByPosition) return columns;
  std::vector<std::string> keys;
  for (int column = 0; column < count; ++column) {
    const char* name = sqlite3_column_name(statement, column);
    std::string key = name != nullptr ? name : "";
    for (char& ch : key) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    keys.push_back(std::move(key));
  }
  std::stable_sort(columns.begin(), columns.end(), [&](int a, int b) {
    return keys[static_cast<std::size_t>(a)] < keys[static_cast<std::size_t>(b)];
  });
  return columns;
}

void ContentChecksum::AddRow(sqlite3_stmt* row) {
  encoding_.clear();
  for (int column : columns_) AppendValue(row, column, &encoding_);
  AddModulo256Bits(Sha256(encoding_), &sum_);
}

Result<TableSummary> SummarizeTable(Connection& db, std::string_view table,
                                    common::ColumnOrder order) {
  BACKOUT_RETURN_IF_ERROR(RequireTable(db, table));
  const std::string what = fmt::format("reading table '{}'", table);
  Result<Statement> statement =
      db.Prepare(fmt::format("SELECT * FROM {}", QuoteIdentifier(table)), what);
  if (!statement.ok()) return statement.status();
  TableSummary summary;
  ContentChecksum checksum(ColumnsInOrder(statement->get(), order));
  while (true) {
    Result<bool> row = db.Step(statement->get(), what);
    if (!row.ok()) return row.status();
    if (!*row) break;
    ++summary.rows;
    checksum.AddRow(statement->get());
  }
  summary.checksum = checksum.Hex();
  return summary;
}

Result<json> QueryFirstValue(Connection& db, std::string_view sql, std::string_view what) {
  std::string_view rest;
  Result<Statement> statement = db.Prepare(sql, what, &rest);
  if (!statement.ok()) return statement.status();
  if (*statement == nullptr) {
    return Status::InvalidArgument(fmt::format("{}: sql holds no statement", what));
  }
  BACKOUT_RETURN_IF_ERROR(RequireNothingMore(db, rest, what));
  if (sqlite3_stmt_readonly(statement->get()) == 0) {
    return Status::InvalidArgument(
        fmt::format("{}: sql must only read (change data in a sql step)", what));
  }
  Result<bool> row = db.Step(statement->get(), what);
  if (!row.ok()) return row.status();
  if (!*row) return json(nullptr);
  return ColumnAsJson(statement->get(), 0);
}

Result<std::vector<std::string>> FindCorruption(Connection& db, std::string_view pragma) {
  const std::string what = fmt::format("PRAGMA {}", pragma);
  Result<Statement> statement = db.Prepare(fmt::format("PRAGMA {}(10)", pragma), what);
  if (!statement.ok()) return statement.status();
  std::vector<std::string> problems;
  while (true) {
    Result<bool> row = db.Step(statement->get(), what);
    if (!row.ok()) return row.status();
    if (!*row) break;
    const json line = ColumnAsJson(statement->get(), 0);
    // Compared as a string, not json != "ok": GCC 12 at -O3 warns falsely (array-bounds)
    // inside nlohmann's comparison with a C string.
    if (!line.is_string()) {
      problems.push_back(Show(line));
    } else if (line.get_ref<const std::string&>() != "ok") {
      problems.push_back(line.get<std::string>());
    }
  }
  return problems;
}

}  // namespace backout::adapters::sqlite
