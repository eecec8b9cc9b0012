#include "adapters/postgres/params.h"

#include <fmt/format.h>

#include <string>

#include "adapters/common/verify.h"
#include "adapters/postgres/connection.h"
#include "base/time.h"
#include "adapters/postgres/postgres_adapter.h"

namespace backout::adapters::postgres {
namespace {

using common::Checker;
using common::Child;
using common::NonEmptyString;
using common::Presence;
using common::Sha256Digest;
using nlohmann::json;

// In the order of the CheckKind enumerators.
constexpr std::string_view kCheckNames[] = {"table_present", "table_absent", "row_count",
                                            "checksum",      "schema",       "fk_valid",
                                            "rls_enabled",   "query"};

// Exactly one of `keys` must be present in `object`.
void ExactlyOne(Checker& checker, const json& object, const std::string& pointer,
                std::initializer_list<std::string_view> keys, std::string_view what) {
  std::size_t present = 0;
  for (std::string_view key : keys) present += object.contains(key) ? 1 : 0;
  if (present == 1) return;
  checker.Fail(pointer, fmt::format("{} one of {}{}", present == 0 ? "needs" : "takes only",
                                    common::ListNames(keys),
                                    what.empty() ? "" : fmt::format(" ({})", what)));
}

void Boolean(Checker& checker, const json& value, const std::string& pointer) {
  if (!value.is_boolean() && !checker.Deferred(value)) {
    checker.Fail(pointer, "must be true or false");
  }
}

void True(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_boolean() && value.get<bool>()) return;
  checker.Fail(pointer, "must be true (leave the key out otherwise)");
}

void Duration(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  if (!value.is_string() || !ParseDuration(value.get_ref<const std::string&>()).ok()) {
    checker.Fail(pointer, "must be a duration such as 500ms, 5s, 2m");
  }
}

void Dsn(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  NonEmptyString(checker, value, pointer);
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) return;
  Result<ConnInfo> parsed = ConnInfo::Parse(value.get_ref<const std::string&>());
  if (!parsed.ok()) checker.Fail(pointer, parsed.status().message());
}

void TableList(Checker& checker, const json& value, const std::string& pointer) {
  common::NameList(checker, value, pointer, "table", NonEmptyString);
}

void TableOrTableList(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_string()) return NonEmptyString(checker, value, pointer);
  TableList(checker, value, pointer);
}

void RowCountExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::CountOrBaseline(checker, value, pointer, "a row count");
}

void ChecksumExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::DigestOrBaseline(checker, value, pointer, "checksum", kChecksumHexDigits);
}

void FingerprintExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::DigestOrBaseline(checker, value, pointer, "schema fingerprint", kFingerprintHexDigits);
}

// `tables` or `schema` name the tables a fingerprint written out covers, as the baseline that
// gave it did; without them the tables are the earlier baseline's (`scope`).
void SchemaCheck(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"equals", "tables", "schema"});
  checker.Field(value, pointer, "equals", Presence::kRequired, FingerprintExpectation);
  checker.Field(value, pointer, "tables", Presence::kOptional, TableList);
  checker.Field(value, pointer, "schema", Presence::kOptional, NonEmptyString);
  if (value.contains("tables") && value.contains("schema")) {
    checker.Fail(pointer, "takes 'tables' or 'schema', not both");
  } else if (value.value("equals", json()) == "baseline" &&
             (value.contains("tables") || value.contains("schema"))) {
    checker.Fail(pointer, "compares the baseline's own tables; 'tables' and 'schema' go with a "
                          "fingerprint written out");
  }
}

void FkValidCheck(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"tables"});
  checker.Field(value, pointer, "tables", Presence::kRequired, TableList);
}

void PolicyNames(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_string()) return NonEmptyString(checker, value, pointer);
  if (!value.is_array() || value.empty()) {
    return checker.Fail(pointer, "must be a policy name or a list of them");
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    NonEmptyString(checker, value[i], Child(pointer, i));
  }
}

void RlsCheck(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"table", "policy", "forced"});
  checker.Field(value, pointer, "table", Presence::kRequired, NonEmptyString);
  checker.Field(value, pointer, "policy", Presence::kOptional, PolicyNames);
  checker.Field(value, pointer, "forced", Presence::kOptional, Boolean);
}

void OneCheck(Checker& checker, CheckKind kind, const json& value, const std::string& pointer) {
  switch (kind) {
    case CheckKind::kTablePresent:
    case CheckKind::kTableAbsent:
      return TableOrTableList(checker, value, pointer);
    case CheckKind::kRowCount:
      return common::SubjectEquals(checker, value, pointer, "table", NonEmptyString,
                                   RowCountExpectation);
    case CheckKind::kChecksum:
      return common::SubjectEquals(checker, value, pointer, "table", NonEmptyString,
                                   ChecksumExpectation);
    case CheckKind::kSchema:
      return SchemaCheck(checker, value, pointer);
    case CheckKind::kFkValid:
      return FkValidCheck(checker, value, pointer);
    case CheckKind::kRlsEnabled:
      return RlsCheck(checker, value, pointer);
    case CheckKind::kQuery:
      return common::QueryCheck(checker, value, pointer);
  }
}

void CheckList(Checker& checker, const json& value, const std::string& pointer) {
  common::CheckList(checker, value, pointer, kCheckNames, OneCheck);
}

void SqlParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"script", "file", "transaction", "lock_timeout"});
  ExactlyOne(checker, params, "", {"script", "file"}, "SQL text, or a file of it");
  checker.Field(params, "", "script", Presence::kOptional, NonEmptyString);
  checker.Field(params, "", "file", Presence::kOptional, NonEmptyString);
  checker.Field(params, "", "transaction", Presence::kOptional, Boolean);
  checker.Field(params, "", "lock_timeout", Presence::kOptional, Duration);
}

void BackupParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"to", "full", "schema_only", "tables"});
  checker.Field(params, "", "to", Presence::kRequired, NonEmptyString);
  ExactlyOne(checker, params, "", {"full", "schema_only", "tables"}, "what to back up");
  checker.Field(params, "", "full", Presence::kOptional, True);
  checker.Field(params, "", "schema_only", Presence::kOptional, True);
  checker.Field(params, "", "tables", Presence::kOptional, TableList);
}

void RestoreParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"from", "full", "tables", "sha256", "cascade"});
  checker.Field(params, "", "from", Presence::kRequired, NonEmptyString);
  ExactlyOne(checker, params, "", {"full", "tables"}, "what to restore");
  checker.Field(params, "", "full", Presence::kOptional, True);
  checker.Field(params, "", "tables", Presence::kOptional, TableList);
  checker.Field(params, "", "sha256", Presence::kOptional, Sha256Digest);
  checker.Field(params, "", "cascade", Presence::kOptional, Boolean);
  if (params.contains("cascade") && !params.contains("tables")) {
    checker.Fail("/cascade", "applies only to a restore of tables");
  }
}

void BaselineParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"tables", "schema", common::kBaselineChecksumParam});
  ExactlyOne(checker, params, "", {"tables", "schema"}, "the tables to describe");
  common::BaselineChecksumParam(checker, params);
  checker.Field(params, "", "tables", Presence::kOptional, TableList);
  checker.Field(params, "", "schema", Presence::kOptional, NonEmptyString);
}

void VerifyParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"checks"});
  checker.Field(params, "", "checks", Presence::kRequired, CheckList);
}

void TargetConfig(Checker& checker, const json& target) {
  if (!target.is_object()) return checker.Fail("", "a postgres target must be a mapping");
  checker.KnownKeysOnly(target, "", {"type", "dsn", "lock_timeout", "schema"});
  checker.Field(target, "", "dsn", Presence::kRequired, Dsn);
  checker.Field(target, "", "lock_timeout", Presence::kOptional, Duration);
  checker.Field(target, "", "schema", Presence::kOptional, NonEmptyString);
}

void ActionParams(Checker& checker, Action action, const json& params) {
  if (!params.is_object()) return checker.Fail("", "parameters must be a mapping");
  switch (action) {
    case Action::kSql:
      return SqlParams(checker, params);
    case Action::kBackup:
      return BackupParams(checker, params);
    case Action::kRestore:
      return RestoreParams(checker, params);
    case Action::kBaseline:
      return BaselineParams(checker, params);
    case Action::kVerify:
      return VerifyParams(checker, params);
    case Action::kQuery:
      return common::QueryParams(checker, params);
  }
}

}  // namespace

std::optional<Action> ParseAction(std::string_view name) {
  return PostgresVocabulary().ParseAction<Action>(name);
}

std::optional<CheckKind> ParseCheckKind(std::string_view name) {
  return common::FindName<CheckKind>(kCheckNames, name);
}

std::vector<ParamError> ValidateInvocation(std::string_view action, const json& target,
                                           const json& params, References references) {
  return common::CheckNamedAction<Action>(
      PostgresVocabulary(), action, references,
      [&](Checker& checker) { TargetConfig(checker, target); },
      [&](Checker& checker, Action parsed) { ActionParams(checker, parsed, params); });
}

std::optional<std::chrono::milliseconds> DurationParam(const json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  Result<std::chrono::milliseconds> parsed = ParseDuration(it->get_ref<const std::string&>());
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

}  // namespace backout::adapters::postgres
