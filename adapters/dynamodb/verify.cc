// The verify action: table_present, table_absent, item_count and describe checks. Outputs
// and status as adapters/common/verify.h describes (a check DynamoDB could not answer, being
// unreachable say, is kUnavailable).
#include <fmt/format.h>

#include <optional>
#include <string>
#include <vector>

#include "adapters/common/verify.h"
#include "adapters/dynamodb/actions.h"
#include "adapters/dynamodb/params.h"
#include "base/utf8.h"

namespace backout::adapters::dynamodb {
namespace {

using nlohmann::json;

using common::CheckResult;
using common::CheckResults;

// A table is present when DescribeTable finds it and it is not on its way out.
std::string Presence(const std::optional<json>& table) {
  if (!table.has_value()) return "absent";
  return table->value("TableStatus", "") == "DELETING" ? "deleting" : "present";
}

void TablePresence(const ActionContext& context, const json& names, CheckKind kind,
                   CheckResults* out) {
  const bool want_present = kind == CheckKind::kTablePresent;
  const std::string wanted = want_present ? "present" : "absent";
  const json list = names.is_string() ? json::array({names}) : names;
  for (const json& name : list) {
    CheckResult result(fmt::format("{} {}", want_present ? "table_present" : "table_absent",
                                   Text(name)),
                       wanted);
    Result<std::optional<json>> seen = DescribeTable(context.client, Text(name));
    if (!seen.ok()) {
      result.status = seen.status();
    } else {
      const std::string observed = Presence(*seen);
      result.observed = observed;
      if (observed != wanted) {
        result.status = Status::ExpectationFailed(fmt::format("the table is {}", observed));
      }
    }
    out->push_back(std::move(result));
  }
}

// The item count the baseline recorded for `table`. A missing baseline makes the check fail
// (it cannot hold), saying what is missing.
Result<std::int64_t> BaselineItems(const json& baseline, const std::string& table) {
  if (baseline.is_null()) {
    return Status::ExpectationFailed(
        "no baseline to compare with (no earlier baseline step on this target)");
  }
  const json* figure = nullptr;
  const auto tables = baseline.find("tables");
  if (tables != baseline.end() && tables->is_object()) {
    if (const auto entry = tables->find(table); entry != tables->end() && entry->is_object()) {
      if (const auto items = entry->find("items"); items != entry->end()) figure = &*items;
    }
  }
  if (figure == nullptr || !figure->is_number_integer()) {
    return Status::ExpectationFailed(fmt::format("the baseline does not cover table '{}'", table));
  }
  return figure->get<std::int64_t>();
}

CheckResult ItemCount(const ActionContext& context, const json& spec, const json& baseline) {
  const std::string& table = Text(spec.at("table"));
  const json& equals = spec.at("equals");
  const Result<std::int64_t> expected = equals == "baseline"
                                            ? BaselineItems(baseline, table)
                                            : Result<std::int64_t>(*AsCount(equals));
  CheckResult result("item_count " + table, expected.ok() ? json(*expected) : equals);
  if (!expected.ok()) {
    result.status = expected.status();
    return result;
  }
  Result<std::int64_t> observed = CountItems(context, table);
  if (!observed.ok()) {
    // A missing table is an answer ("no"), not a failure to evaluate the check.
    result.status = observed.status().code() == Code::kNotFound
                        ? Status::ExpectationFailed("the table does not exist")
                        : observed.status();
    return result;
  }
  result.observed = *observed;
  if (*observed != *expected) {
    result.status =
        Status::ExpectationFailed(fmt::format("expected {}, observed {}", *expected, *observed));
  }
  return result;
}

CheckResult Describe(const ActionContext& context, const json& spec) {
  const std::string& table = Text(spec.at("table"));
  json expected = json::object();
  if (spec.contains("status")) expected["status"] = spec.at("status");
  if (spec.contains("billing_mode")) expected["billing_mode"] = spec.at("billing_mode");
  CheckResult result("describe " + table, expected);
  Result<std::optional<json>> seen = DescribeTable(context.client, table);
  if (!seen.ok()) {
    result.status = seen.status();
    return result;
  }
  if (!seen->has_value()) {
    result.status = Status::ExpectationFailed("the table does not exist");
    return result;
  }
  const json& description = **seen;
  const json summary = description.value("BillingModeSummary", json::object());
  // DynamoDB leaves the summary out for tables that were never on-demand.
  result.observed = {{"status", description.value("TableStatus", "")},
                     {"billing_mode", summary.value("BillingMode", "PROVISIONED")}};
  std::vector<std::string> differences;
  for (const auto& [key, value] : expected.items()) {
    if (result.observed[key] != value) {
      differences.push_back(
          fmt::format("{} is {}, expected {}", key, Text(result.observed[key]), Text(value)));
    }
  }
  result.status = common::FailedExpectations(differences);
  return result;
}

// Appends the result(s) of one check item: table_present and table_absent give one per table.
void RunCheck(const ActionContext& context, const json& item, const json& baseline,
              CheckResults* out) {
  const CheckKind kind = *ParseCheckKind(item.begin().key());
  const json& spec = item.begin().value();
  switch (kind) {
    case CheckKind::kTablePresent:
    case CheckKind::kTableAbsent:
      return TablePresence(context, spec, kind, out);
    case CheckKind::kItemCount:
      return out->push_back(ItemCount(context, spec, baseline));
    case CheckKind::kDescribe:
      return out->push_back(Describe(context, spec));
  }
}

}  // namespace

Outcome RunVerify(const ActionContext& context) {
  const json baseline = context.invocation.baseline.value_or(json());
  return common::RunEachCheck(context.params.at("checks"), context.client.deadline(),
                              [&](const json& item, CheckResults* out) {
                                RunCheck(context, item, baseline, out);
                              });
}

}  // namespace backout::adapters::dynamodb
