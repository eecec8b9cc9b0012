#include "adapters/sqlite/verify.h"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "adapters/common/query_check.h"
#include "adapters/common/verify.h"
#include "adapters/sqlite/content.h"
#include "adapters/sqlite/params.h"
#include "base/utf8.h"

namespace backout::adapters::sqlite {
namespace {

using nlohmann::json;

using common::AsAnswer;
using common::CheckResult;
using common::CheckResults;

void TablePresence(Connection& db, const json& names, CheckKind kind, CheckResults* out) {
  common::PresenceChecks(names, kind == CheckKind::kTablePresent, "table",
                         [&](const std::string& table) { return TableExists(db, table); }, out);
}

CheckResult RowCount(Connection& db, const json& spec, const json& baseline) {
  const std::string& table = Text(spec.at("table"));
  const json& equals = spec.at("equals");
  const Result<json> expected = equals == "baseline"
                                    ? common::BaselineFigure(baseline, "tables", "table", table,
                                                             "rows")
                                    : Result<json>(json(*AsInteger(equals)));
  Result<std::int64_t> rows = CountRows(db, table);
  const Result<json> observed = rows.ok() ? Result<json>(json(*rows)) : AsAnswer(rows.status());
  return common::CompareFigure("row_count " + table, equals, expected, observed);
}

CheckResult Checksum(Connection& db, const json& spec, const json& baseline) {
  const std::string& table = Text(spec.at("table"));
  const json& equals = spec.at("equals");
  const Result<json> expected =
      equals == "baseline" ? common::BaselineFigure(baseline, "tables", "table", table, "checksum")
                           : Result<json>(equals);
  const Result<common::ColumnOrder> order = common::ColumnOrderFor(equals, baseline);
  if (!order.ok()) return common::CompareFigure("checksum " + table, equals, expected, order.status());
  Result<TableSummary> summary = SummarizeTable(db, table, *order);
  const Result<json> observed =
      summary.ok() ? Result<json>(json(summary->checksum)) : AsAnswer(summary.status());
  return common::CompareFigure("checksum " + table, equals, expected, observed);
}

struct ForeignKeyViolations {
  std::int64_t count = 0;
  std::string first;  // "row 5 of orders refers to a missing row of customers"
};

Result<ForeignKeyViolations> FindForeignKeyViolations(Connection& db) {
  const std::string_view what = "PRAGMA foreign_key_check";
  Result<Statement> statement = db.Prepare("PRAGMA foreign_key_check", what);
  if (!statement.ok()) return statement.status();
  sqlite3_stmt* row = statement->get();
  ForeignKeyViolations violations;
  while (true) {
    Result<bool> more = db.Step(row, what);
    if (!more.ok()) return more.status();
    if (!*more) break;
    // Columns: table, rowid (NULL for WITHOUT ROWID tables), parent table, constraint id.
    if (violations.count++ > 0) continue;
    const auto* table = reinterpret_cast<const char*>(sqlite3_column_text(row, 0));
    const auto* parent = reinterpret_cast<const char*>(sqlite3_column_text(row, 2));
    const std::string which = sqlite3_column_type(row, 1) == SQLITE_NULL
                                  ? "a row"
                                  : fmt::format("row {}", sqlite3_column_int64(row, 1));
    violations.first =
        fmt::format("{} of {} refers to a missing row of {}", which, table != nullptr ? table : "?",
                    parent != nullptr ? parent : "?");
  }
  return violations;
}

CheckResult Integrity(Connection& db) {
  CheckResult result("integrity", {{"integrity_check", "ok"}, {"foreign_key_violations", 0}});
  Result<std::vector<std::string>> corruption = FindCorruption(db, "integrity_check");
  if (!corruption.ok()) {
    result.status = corruption.status();
    return result;
  }
  Result<ForeignKeyViolations> violations = FindForeignKeyViolations(db);
  if (!violations.ok()) {
    result.status = violations.status();
    return result;
  }
  const std::string integrity =
      corruption->empty() ? "ok" : fmt::format("{}", fmt::join(*corruption, "; "));
  result.observed = {{"integrity_check", integrity}, {"foreign_key_violations", violations->count}};
  std::vector<std::string> problems;
  if (!corruption->empty()) problems.push_back("integrity_check: " + integrity);
  if (violations->count > 0) {
    problems.push_back(fmt::format("{} foreign key violation(s), first: {}", violations->count,
                                   violations->first));
  }
  result.status = common::FailedExpectations(problems);
  return result;
}

// Appends the result(s) of one check item: table_present and table_absent give one per table.
void RunCheck(Connection& db, const json& item, const json& baseline, CheckResults* out) {
  const CheckKind kind = *ParseCheckKind(item.begin().key());
  const json& spec = item.begin().value();
  switch (kind) {
    case CheckKind::kTablePresent:
    case CheckKind::kTableAbsent:
      return TablePresence(db, spec, kind, out);
    case CheckKind::kRowCount:
      return out->push_back(RowCount(db, spec, baseline));
    case CheckKind::kChecksum:
      return out->push_back(Checksum(db, spec, baseline));
    case CheckKind::kIntegrity:
      return out->push_back(Integrity(db));
    case CheckKind::kQuery:
      return out->push_back(common::RunQueryCheck(
          spec, [&](const std::string& sql) { return QueryFirstValue(db, sql, "failed"); }));
  }
}

}  // namespace

Outcome RunChecks(Connection& db, const json& checks, const json& baseline) {
  return common::RunEachCheck(checks, db.stop(), [&](const json& item, CheckResults* out) {
    RunCheck(db, item, baseline, out);
  });
}

}  // namespace backout::adapters::sqlite
