#include "adapters/dynamodb/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include "adapters/dynamodb/dynamodb_adapter.h"

namespace backout::adapters::dynamodb {
namespace {

using common::Checker;
using common::Child;
using common::Contains;
using common::ListNames;
using common::NonEmptyString;
using common::Sha256Digest;
using nlohmann::json;

constexpr common::Presence kRequired = common::Presence::kRequired;
constexpr common::Presence kOptional = common::Presence::kOptional;

// In the order of the CheckKind enumerators.
constexpr std::string_view kCheckNames[] = {"table_present", "table_absent", "item_count",
                                            "describe"};
constexpr std::string_view kBillingModes[] = {"PAY_PER_REQUEST", "PROVISIONED"};
constexpr std::string_view kTableStatuses[] = {
    "CREATING", "UPDATING", "DELETING", "ACTIVE", "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
    "ARCHIVING", "ARCHIVED"};
// DynamoDB's limits: a Scan's Limit, and how often a plan may have a call retried.
constexpr std::int64_t kMaxPageSize = 1'000'000;
constexpr std::int64_t kMaxTries = 100;

// DynamoDB's rule for table names: 3 to 255 of [A-Za-z0-9_.-].
bool IsTableName(std::string_view name) {
  return name.size() >= 3 && name.size() <= 255 &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.';
         });
}

void TableName(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  if (!value.is_string()) return checker.Fail(pointer, "must be a table name");
  const auto& name = value.get_ref<const std::string&>();
  if (!IsTableName(name)) {
    checker.Fail(pointer, fmt::format("'{}' is not a DynamoDB table name (3 to 255 of "
                                      "A-Z a-z 0-9 _ - .)", name));
  }
}

void TableList(Checker& checker, const json& value, const std::string& pointer) {
  common::NameList(checker, value, pointer, "table", TableName);
}

// One table name, or a list of them (the table_present / table_absent checks).
void TableOrTableList(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_string()) return TableName(checker, value, pointer);
  TableList(checker, value, pointer);
}

void CountInRange(Checker& checker, const json& value, const std::string& pointer,
                  std::int64_t min, std::int64_t max) {
  if (checker.Deferred(value)) return;
  const std::optional<std::int64_t> number = AsCount(value);
  if (!number.has_value() || *number < min || *number > max) {
    checker.Fail(pointer, fmt::format("must be a whole number from {} to {}", min, max));
  }
}

void PageSize(Checker& checker, const json& value, const std::string& pointer) {
  CountInRange(checker, value, pointer, 1, kMaxPageSize);
}

void Tries(Checker& checker, const json& value, const std::string& pointer) {
  CountInRange(checker, value, pointer, 1, kMaxTries);
}

void Capacity(Checker& checker, const json& value, const std::string& pointer) {
  CountInRange(checker, value, pointer, 1, std::numeric_limits<std::int64_t>::max());
}

void Endpoint(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    return NonEmptyString(checker, value, pointer);
  }
  const auto& url = value.get_ref<const std::string&>();
  if (!url.starts_with("http://") && !url.starts_with("https://")) {
    checker.Fail(pointer, "must be an http:// or https:// URL");
  }
}

// A string among `names`.
template <std::size_t N>
void OneOfNames(Checker& checker, const json& value, const std::string& pointer,
                const std::string_view (&names)[N]) {
  if (checker.Deferred(value)) return;
  if (!value.is_string() || !Contains(names, value.get_ref<const std::string&>())) {
    checker.Fail(pointer, fmt::format("must be one of {}", ListNames(names)));
  }
}

void BillingMode(Checker& checker, const json& value, const std::string& pointer) {
  OneOfNames(checker, value, pointer, kBillingModes);
}

void TableStatus(Checker& checker, const json& value, const std::string& pointer) {
  OneOfNames(checker, value, pointer, kTableStatuses);
}

void ItemCountExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::CountOrBaseline(checker, value, pointer, "an item count");
}

void DescribeCheck(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"table", "status", "billing_mode"});
  checker.Field(value, pointer, "table", kRequired, TableName);
  checker.Field(value, pointer, "status", kOptional, TableStatus);
  checker.Field(value, pointer, "billing_mode", kOptional, BillingMode);
  if (!value.contains("status") && !value.contains("billing_mode")) {
    checker.Fail(pointer, "needs status or billing_mode (or both): what the table must show");
  }
}

void OneCheck(Checker& checker, CheckKind kind, const json& value, const std::string& pointer) {
  switch (kind) {
    case CheckKind::kTablePresent:
    case CheckKind::kTableAbsent:
      return TableOrTableList(checker, value, pointer);
    case CheckKind::kItemCount:
      return common::SubjectEquals(checker, value, pointer, "table", TableName,
                                   ItemCountExpectation);
    case CheckKind::kDescribe:
      return DescribeCheck(checker, value, pointer);
  }
}

void CheckList(Checker& checker, const json& value, const std::string& pointer) {
  common::CheckList(checker, value, pointer, kCheckNames, OneCheck);
}

void UpdateBillingParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"table", "mode", "read_capacity", "write_capacity"});
  checker.Field(params, "", "table", kRequired, TableName);
  checker.Field(params, "", "mode", kRequired, BillingMode);
  checker.Field(params, "", "read_capacity", kOptional, Capacity);
  checker.Field(params, "", "write_capacity", kOptional, Capacity);
  const bool provisioned = params.value("mode", json()) == "PROVISIONED";
  const bool on_demand = params.value("mode", json()) == "PAY_PER_REQUEST";
  for (const char* key : {"read_capacity", "write_capacity"}) {
    if (provisioned && !params.contains(key)) {
      checker.Fail(Child("", key), "is required when mode is PROVISIONED");
    } else if (on_demand && params.contains(key)) {
      checker.Fail(Child("", key), "is for mode PROVISIONED only (on-demand has no capacity)");
    }
  }
}

void ActionParams(Checker& checker, Action action, const json& params) {
  if (!params.is_object()) return checker.Fail("", "parameters must be a mapping");
  switch (action) {
    case Action::kBaseline:
      checker.KnownKeysOnly(params, "", {"tables", "page_size"});
      checker.Field(params, "", "tables", kRequired, TableList);
      checker.Field(params, "", "page_size", kOptional, PageSize);
      return;
    case Action::kVerify:
      checker.KnownKeysOnly(params, "", {"checks", "page_size"});
      checker.Field(params, "", "checks", kRequired, CheckList);
      checker.Field(params, "", "page_size", kOptional, PageSize);
      return;
    case Action::kExport:
      checker.KnownKeysOnly(params, "", {"tables", "to", "page_size"});
      checker.Field(params, "", "tables", kRequired, TableList);
      checker.Field(params, "", "to", kRequired, NonEmptyString);
      checker.Field(params, "", "page_size", kOptional, PageSize);
      return;
    case Action::kImport:
      checker.KnownKeysOnly(params, "", {"table", "from", "sha256"});
      checker.Field(params, "", "table", kRequired, TableName);
      checker.Field(params, "", "from", kRequired, NonEmptyString);
      checker.Field(params, "", "sha256", kOptional, Sha256Digest);
      return;
    case Action::kDeleteTable:
      checker.KnownKeysOnly(params, "", {"tables"});
      checker.Field(params, "", "tables", kRequired, TableList);
      return;
    case Action::kUpdateBilling:
      return UpdateBillingParams(checker, params);
  }
}

void TargetConfig(Checker& checker, const json& target) {
  if (!target.is_object()) return checker.Fail("", "a dynamodb target must be a mapping");
  checker.KnownKeysOnly(target, "", {"type", "endpoint", "region", "profile", "max_tries"});
  checker.Field(target, "", "endpoint", kOptional, Endpoint);
  checker.Field(target, "", "region", kOptional, NonEmptyString);
  checker.Field(target, "", "profile", kOptional, NonEmptyString);
  checker.Field(target, "", "max_tries", kOptional, Tries);
}

}  // namespace

std::optional<Action> ParseAction(std::string_view name) {
  return DynamoDbVocabulary().ParseAction<Action>(name);
}

std::optional<CheckKind> ParseCheckKind(std::string_view name) {
  return common::FindName<CheckKind>(kCheckNames, name);
}

std::vector<ParamError> ValidateInvocation(std::string_view action, const json& target,
                                           const json& params, References references) {
  return common::CheckNamedAction<Action>(
      DynamoDbVocabulary(), action, references,
      [&](Checker& checker) { TargetConfig(checker, target); },
      [&](Checker& checker, Action parsed) { ActionParams(checker, parsed, params); });
}

}  // namespace backout::adapters::dynamodb
