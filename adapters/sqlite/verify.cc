#include "adapters/sqlite/verify.h"

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/sqlite/content.h"
#include "adapters/sqlite/params.h"

namespace backout::adapters::sqlite {
namespace {

using nlohmann::json;

// The verdict on one check. `status` is OK when the check passed, kExpectationFailed when
// the database did not meet it, any other code when it could not be evaluated.
struct CheckResult {
  CheckResult(std::string label_in, json expected_in)
      : label(std::move(label_in)), expected(std::move(expected_in)) {}

  std::string label;  // "row_count images"
  json expected;
  json observed;  // null when nothing could be observed
  Status status;
};

using CheckResults = std::vector<CheckResult>;

const std::string& Text(const json& value) { return value.get_ref<const std::string&>(); }

// A missing table is an answer ("no"), not a failure to evaluate the check.
Status AsAnswer(const Status& status) {
  if (status.code() == Code::kNotFound) return Status::ExpectationFailed(status.message());
  return status;
}

// For messages: checksums are long; their first digits are enough to tell them apart.
std::string Brief(const json& value) {
  if (value.is_string() && Text(value).size() > 16) return Text(value).substr(0, 12) + "...";
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void TablePresence(Connection& db, const json& names, CheckKind kind, CheckResults* out) {
  const bool want_present = kind == CheckKind::kTablePresent;
  const json list = names.is_string() ? json::array({names}) : names;
  for (const json& name : list) {
    const std::string& table = Text(name);
    CheckResult result(fmt::format("{} {}", want_present ? "table_present" : "table_absent", table),
                       want_present ? "present" : "absent");
    Result<bool> exists = TableExists(db, table);
    if (!exists.ok()) {
      result.status = exists.status();
    } else {
      result.observed = *exists ? "present" : "absent";
      if (*exists != want_present) {
        result.status =
            Status::ExpectationFailed(*exists ? "table exists" : "table does not exist");
      }
    }
    out->push_back(std::move(result));
  }
}

// The baseline's `field` ("rows" or "checksum") for `table`. A missing baseline makes the
// check fail (it cannot hold), with a message saying what is missing.
Result<json> BaselineFigure(const json& baseline, const std::string& table,
                            std::string_view field) {
  if (baseline.is_null()) {
    return Status::ExpectationFailed(
        "no baseline to compare with (no earlier baseline step on this target)");
  }
  const auto tables = baseline.is_object() ? baseline.find("tables") : baseline.end();
  if (tables == baseline.end() || !tables->is_object() || !tables->contains(table) ||
      !(*tables)[table].contains(field)) {
    return Status::ExpectationFailed(fmt::format("the baseline does not cover table '{}'", table));
  }
  return *(*tables)[table].find(field);
}

// row_count and checksum: a figure of the table now against the expected one, written in
// the plan (`equals`) or taken from the baseline.
CheckResult CompareFigure(std::string label, const json& equals, const Result<json>& expected,
                          const Result<json>& observed) {
  CheckResult result(std::move(label), expected.ok() ? *expected : equals);
  if (!observed.ok()) {
    result.status = AsAnswer(observed.status());
  } else {
    result.observed = *observed;
    if (!expected.ok()) {
      result.status = expected.status();
    } else if (*observed != *expected) {
      result.status = Status::ExpectationFailed(
          fmt::format("expected {}, observed {}", Brief(*expected), Brief(*observed)));
    }
  }
  return result;
}

CheckResult RowCount(Connection& db, const json& spec, const json& baseline) {
  const std::string& table = Text(spec.at("table"));
  const json& equals = spec.at("equals");
  const Result<json> expected = equals == "baseline" ? BaselineFigure(baseline, table, "rows")
                                                     : Result<json>(json(*AsInteger(equals)));
  Result<std::int64_t> rows = CountRows(db, table);
  const Result<json> observed = rows.ok() ? Result<json>(json(*rows)) : rows.status();
  return CompareFigure("row_count " + table, equals, expected, observed);
}

CheckResult Checksum(Connection& db, const json& spec, const json& baseline) {
  const std::string& table = Text(spec.at("table"));
  const json& equals = spec.at("equals");
  const Result<json> expected =
      equals == "baseline" ? BaselineFigure(baseline, table, "checksum") : Result<json>(equals);
  Result<TableSummary> summary = SummarizeTable(db, table);
  const Result<json> observed =
      summary.ok() ? Result<json>(json(summary->checksum)) : summary.status();
  return CompareFigure("checksum " + table, equals, expected, observed);
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
  if (!problems.empty()) {
    result.status = Status::ExpectationFailed(fmt::format("{}", fmt::join(problems, "; ")));
  }
  return result;
}

CheckResult Query(Connection& db, const json& spec) {
  const std::string& sql = Text(spec.at("sql"));
  CheckResult result("query " + Abbreviate(sql, 60), spec.at("expect"));
  Result<json> value = QueryFirstValue(db, sql, "failed");
  if (!value.ok()) {
    result.status = value.status();
    return result;
  }
  result.observed = *value;
  if (!ValuesMatch(*value, result.expected)) {
    result.status = Status::ExpectationFailed(DescribeMismatch(*value, result.expected));
  }
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
      return out->push_back(Query(db, spec));
  }
}

json Report(const CheckResults& results) {
  json checks = json::array();
  std::int64_t passed = 0;
  for (const CheckResult& result : results) {
    json entry = {{"check", result.label},
                  {"expected", result.expected},
                  {"observed", result.observed},
                  {"pass", result.status.ok()}};
    if (result.status.ok()) {
      ++passed;
    } else {
      entry["message"] = result.status.message();
    }
    checks.push_back(std::move(entry));
  }
  const auto total = static_cast<std::int64_t>(results.size());
  return {{"checks", std::move(checks)}, {"passed", passed}, {"failed", total - passed}};
}

Status Verdict(const CheckResults& results) {
  std::vector<std::string> failures;
  std::optional<Code> could_not_run;
  for (const CheckResult& result : results) {
    if (result.status.ok()) continue;
    failures.push_back(fmt::format("{}: {}", result.label, result.status.message()));
    if (result.status.code() != Code::kExpectationFailed && !could_not_run.has_value()) {
      could_not_run = result.status.code();
    }
  }
  if (failures.empty()) return Status::Ok();
  return Status(could_not_run.value_or(Code::kExpectationFailed),
                fmt::format("{} of {} checks failed: {}", failures.size(), results.size(),
                            fmt::join(failures, "; ")));
}

}  // namespace

Outcome RunChecks(Connection& db, const json& checks, const json& baseline) {
  CheckResults results;
  for (const json& item : checks) {
    RunCheck(db, item, baseline, &results);
    if (Status stop = db.stop().Check(); !stop.ok()) {
      return Outcome{stop.WithContext("verify"), Report(results)};
    }
  }
  return Outcome{Verdict(results), Report(results)};
}

}  // namespace backout::adapters::sqlite
