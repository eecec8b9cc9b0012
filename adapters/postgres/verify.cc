// The verify action: every check judged in one snapshot of the database.
#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "adapters/common/query_check.h"
#include "adapters/common/verify.h"
#include "adapters/postgres/actions.h"
#include "adapters/postgres/content.h"
#include "adapters/postgres/params.h"
#include "base/utf8.h"

namespace backout::adapters::postgres {
namespace {

using nlohmann::json;

using common::AsAnswer;
using common::Brief;
using common::CheckResult;
using common::CheckResults;

std::vector<std::string> Names(const json& one_or_many) {
  std::vector<std::string> names;
  if (one_or_many.is_string()) {
    names.push_back(Text(one_or_many));
  } else {
    for (const json& name : one_or_many) names.push_back(Text(name));
  }
  return names;
}

void TablePresence(const ActionContext& context, const json& spec, CheckKind kind,
                   CheckResults* out) {
  common::PresenceChecks(spec, kind == CheckKind::kTablePresent, "table",
                         [&](const std::string& name) -> Result<bool> {
                           Result<std::optional<Table>> found = FindTable(context, name);
                           if (!found.ok()) return found.status();
                           return found->has_value();
                         },
                         out);
}

// row_count (field "rows") and checksum (field "checksum").
CheckResult TableFigure(const ActionContext& context, const json& spec, const json& baseline,
                        std::string_view field) {
  const std::string& name = Text(spec.at("table"));
  const json& equals = spec.at("equals");
  const bool rows = field == "rows";
  Result<json> expected = equals == "baseline"
                              ? common::BaselineFigure(baseline, "tables", "table", name, field)
                          : rows               ? Result<json>(json(*AsInteger(equals)))
                                               : Result<json>(equals);
  Result<json> observed = Status::NotFound("");
  Result<Table> table = RequireTable(context, name, "table");
  const Result<common::ColumnOrder> order = common::ColumnOrderFor(equals, baseline);
  if (!table.ok()) {
    observed = AsAnswer(table.status());
  } else if (rows) {
    Result<std::int64_t> count = CountRows(context, *table);
    observed = count.ok() ? Result<json>(json(*count)) : Result<json>(AsAnswer(count.status()));
  } else if (!order.ok()) {
    observed = order.status();
  } else {
    Result<TableSummary> summary = SummarizeTable(context, *table, *order);
    observed = summary.ok() ? Result<json>(json(summary->checksum))
                            : Result<json>(AsAnswer(summary.status()));
  }
  return common::CompareFigure(fmt::format("{} {}", rows ? "row_count" : "checksum", name),
                               equals, expected, observed);
}

// The tables the check names (`tables` or `schema`, as a baseline's params do), or else those
// the baseline described: its `scope`.
json SchemaScope(const json& spec, const json& baseline) {
  for (const char* key : {"tables", "schema"}) {
    if (spec.contains(key)) return json{{key, spec.at(key)}};
  }
  return baseline.is_object() ? baseline.value("scope", json()) : json();
}

CheckResult Schema(const ActionContext& context, const json& spec, const json& baseline) {
  const json& equals = spec.at("equals");
  CheckResult result("schema", equals);
  const json scope = SchemaScope(spec, baseline);
  if (equals == "baseline" && (!baseline.is_object() || !baseline.contains("schema_fingerprint"))) {
    result.status = Status::ExpectationFailed(
        "no baseline to compare with (no earlier baseline step on this target)");
    return result;
  }
  if (!scope.is_object()) {
    result.status = Status::ExpectationFailed(
        "the schema check needs 'tables' or 'schema', or a baseline step on this target, to "
        "know which tables to fingerprint");
    return result;
  }
  if (equals == "baseline") result.expected = baseline.at("schema_fingerprint");
  const Result<common::ColumnOrder> order = common::ColumnOrderFor(equals, baseline);
  if (!order.ok()) {
    result.status = order.status();
    return result;
  }
  std::vector<Table> tables;
  std::vector<std::string> missing;
  if (scope.contains("schema")) {
    Result<std::vector<Table>> found = TablesOfSchema(context, Text(scope.at("schema")));
    if (!found.ok() && found.status().code() != Code::kNotFound) {
      result.status = found.status();
      return result;
    }
    if (found.ok()) tables = std::move(found).value();
  } else {
    for (const json& name : scope.value("tables", json::array())) {
      Result<std::optional<Table>> found = FindTable(context, Text(name));
      if (!found.ok()) {
        result.status = found.status();
        return result;
      }
      if (found->has_value()) {
        tables.push_back(**found);
      } else {
        missing.push_back(Text(name));
      }
    }
  }
  Result<std::string> fingerprint = SchemaFingerprint(context, tables, missing, *order);
  if (!fingerprint.ok()) {
    result.status = fingerprint.status();
    return result;
  }
  result.observed = *fingerprint;
  if (result.observed != result.expected) {
    result.status = Status::ExpectationFailed(fmt::format(
        "schema fingerprint {} differs from {}{}", Brief(result.observed), Brief(result.expected),
        missing.empty() ? "" : fmt::format(" (missing: {})", fmt::join(missing, ", "))));
  }
  return result;
}

CheckResult FkValid(const ActionContext& context, const json& spec) {
  const std::vector<std::string> names = Names(spec.at("tables"));
  CheckResult result(fmt::format("fk_valid {}", fmt::join(names, ", ")),
                     {{"not_validated", json::array()}, {"orphan_rows", 0}});
  std::vector<Table> tables;
  for (const std::string& name : names) {
    Result<Table> table = RequireTable(context, name, "fk_valid");
    if (!table.ok()) {
      result.status = AsAnswer(table.status());
      return result;
    }
    tables.push_back(std::move(table).value());
  }
  Result<std::vector<ForeignKey>> keys = ForeignKeysTouching(context, tables);
  if (!keys.ok()) {
    result.status = keys.status();
    return result;
  }
  json not_validated = json::array();
  json orphans = json::object();
  std::int64_t orphan_total = 0;
  std::vector<std::string> problems;
  for (const ForeignKey& key : *keys) {
    if (!key.validated) {
      not_validated.push_back(key.name);
      problems.push_back(fmt::format("{} on {} is NOT VALID", key.name, key.child));
    }
    Result<std::int64_t> count = CountOrphans(context, key);
    if (!count.ok()) {
      result.status = count.status();
      return result;
    }
    if (*count > 0) {
      orphans[key.name] = *count;
      orphan_total += *count;
      problems.push_back(fmt::format("{} row(s) of {} refer to no row of {} ({})", *count,
                                     key.child, key.parent, key.name));
    }
    if (Status stop = context.stop.Check(); !stop.ok()) {
      result.status = stop;
      return result;
    }
  }
  result.observed = {{"foreign_keys", keys->size()},
                     {"not_validated", std::move(not_validated)},
                     {"orphan_rows", orphan_total}};
  if (!orphans.empty()) result.observed["orphans"] = std::move(orphans);
  result.status = common::FailedExpectations(problems);
  return result;
}

CheckResult RlsEnabled(const ActionContext& context, const json& spec) {
  const std::string& name = Text(spec.at("table"));
  const std::vector<std::string> policies =
      spec.contains("policy") ? Names(spec.at("policy")) : std::vector<std::string>();
  const bool want_forced = spec.value("forced", false);
  json expected = {{"enabled", true}};
  if (!policies.empty()) expected["policies"] = policies;
  if (want_forced) expected["forced"] = true;
  CheckResult result("rls_enabled " + name, expected);
  Result<Table> table = RequireTable(context, name, "rls_enabled");
  if (!table.ok()) {
    result.status = AsAnswer(table.status());
    return result;
  }
  Result<PgResult> row = context.Query(
      "SELECT c.relrowsecurity, c.relforcerowsecurity FROM pg_class c WHERE c.oid = $1::oid",
      {table->oid}, "rls_enabled");
  if (!row.ok()) {
    result.status = row.status();
    return result;
  }
  const bool enabled = *Value(row->get(), 0, 0) == "t";
  const bool forced = *Value(row->get(), 0, 1) == "t";
  Result<PgResult> present = context.Query(
      "SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = $1::oid", {table->oid},
      "rls_enabled");
  if (!present.ok()) {
    result.status = present.status();
    return result;
  }
  std::set<std::string> have;
  for (int i = 0; i < PQntuples(present->get()); ++i) have.insert(*Value(present->get(), i, 0));
  result.observed = {{"enabled", enabled}, {"forced", forced},
                     {"policies", std::vector<std::string>(have.begin(), have.end())}};
  std::vector<std::string> problems;
  if (!enabled) problems.push_back("row level security is disabled");
  if (want_forced && !forced) problems.push_back("row level security is not forced");
  for (const std::string& policy : policies) {
    if (have.count(policy) == 0) problems.push_back(fmt::format("policy {} is missing", policy));
  }
  result.status = common::FailedExpectations(problems);
  return result;
}

void RunCheck(const ActionContext& context, const json& item, const json& baseline,
              CheckResults* out) {
  const CheckKind kind = *ParseCheckKind(item.begin().key());
  const json& spec = item.begin().value();
  switch (kind) {
    case CheckKind::kTablePresent:
    case CheckKind::kTableAbsent:
      return TablePresence(context, spec, kind, out);
    case CheckKind::kRowCount:
      return out->push_back(TableFigure(context, spec, baseline, "rows"));
    case CheckKind::kChecksum:
      return out->push_back(TableFigure(context, spec, baseline, "checksum"));
    case CheckKind::kSchema:
      return out->push_back(Schema(context, spec, baseline));
    case CheckKind::kFkValid:
      return out->push_back(FkValid(context, spec));
    case CheckKind::kRlsEnabled:
      return out->push_back(RlsEnabled(context, spec));
    case CheckKind::kQuery:
      return out->push_back(common::RunQueryCheck(spec, [&](const std::string& sql) {
        return QueryFirstValue(context, sql, "query");
      }));
  }
}

}  // namespace

Outcome RunVerify(const ActionContext& context) {
  // One snapshot, so that all checks judge the same state.
  if (Status begin = BeginSnapshot(context, "verify"); !begin.ok()) return Outcome{begin};
  const json baseline = context.invocation.baseline.value_or(json());
  CheckResults results;
  for (const json& item : context.params.at("checks")) {
    // A failed statement aborts the snapshot transaction; each check runs in a savepoint so
    // that one check's error leaves the others able to run.
    if (Status s = context.Exec("SAVEPOINT backout_check", "verify").status(); !s.ok()) {
      return Outcome{s, common::Report(results)};
    }
    const std::size_t before = results.size();
    RunCheck(context, item, baseline, &results);
    if (Status stop = context.stop.Check(); !stop.ok()) {
      return Outcome{stop.WithContext("verify"), common::Report(results)};
    }
    bool failed_statement = false;
    for (std::size_t i = before; i < results.size(); ++i) {
      const Code code = results[i].status.code();
      failed_statement = failed_statement || (code != Code::kOk && code != Code::kExpectationFailed);
    }
    const char* end = failed_statement ? "ROLLBACK TO SAVEPOINT backout_check"
                                       : "RELEASE SAVEPOINT backout_check";
    if (Status s = context.Exec(end, "verify").status(); !s.ok()) {
      return Outcome{s, common::Report(results)};
    }
  }
  // Read only: nothing to commit, and a rollback ends the snapshot as well.
  context.conn.RollbackQuietly();
  return Outcome{common::Verdict(results), common::Report(results)};
}

}  // namespace backout::adapters::postgres
