#include "adapters/sqlite/params.h"

#include <string>
#include "adapters/common/verify.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace backout::adapters::sqlite {
namespace {

using common::Checker;
using common::NonEmptyString;
using common::Presence;
using common::Sha256Digest;
using nlohmann::json;

// In the order of the CheckKind enumerators.
constexpr std::string_view kCheckNames[] = {"table_present", "table_absent", "row_count",
                                            "checksum",      "integrity",    "query"};

void NonNegativeInteger(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  if (!common::AsCount(value).has_value()) {
    checker.Fail(pointer, "must be a non-negative integer");
  }
}

void TableList(Checker& checker, const json& value, const std::string& pointer) {
  common::NameList(checker, value, pointer, "table", NonEmptyString);
}

// One table name, or a list of them.
void TableOrTableList(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_string()) return NonEmptyString(checker, value, pointer);
  TableList(checker, value, pointer);
}

void RowCountExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::CountOrBaseline(checker, value, pointer, "a row count");
}

void ChecksumExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::DigestOrBaseline(checker, value, pointer, "checksum", 64);
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
    case CheckKind::kIntegrity:
      return common::True(checker, value, pointer);
    case CheckKind::kQuery:
      return common::QueryCheck(checker, value, pointer);
  }
}

void CheckList(Checker& checker, const json& value, const std::string& pointer) {
  common::CheckList(checker, value, pointer, kCheckNames, OneCheck);
}

void SqlParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"script", "file"});
  const bool has_script = params.contains("script");
  if (has_script == params.contains("file")) {
    checker.Fail("", has_script ? "give either script or file, not both"
                                : "needs script (SQL text) or file (a file of SQL text)");
  }
  checker.Field(params, "", "script", Presence::kOptional, NonEmptyString);
  checker.Field(params, "", "file", Presence::kOptional, NonEmptyString);
}

void BackupParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"to"});
  checker.Field(params, "", "to", Presence::kRequired, NonEmptyString);
}

void RestoreParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"from", "sha256"});
  checker.Field(params, "", "from", Presence::kRequired, NonEmptyString);
  checker.Field(params, "", "sha256", Presence::kOptional, Sha256Digest);
}

void BaselineParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"tables", common::kBaselineChecksumParam});
  checker.Field(params, "", "tables", Presence::kRequired, TableList);
  common::BaselineChecksumParam(checker, params);
}

void VerifyParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"checks"});
  checker.Field(params, "", "checks", Presence::kRequired, CheckList);
}

void TargetConfig(Checker& checker, const json& target) {
  if (!target.is_object()) return checker.Fail("", "a sqlite target must be a mapping");
  checker.KnownKeysOnly(target, "", {"type", "path", "busy_timeout"});
  checker.Field(target, "", "path", Presence::kRequired, NonEmptyString);
  checker.Field(target, "", "busy_timeout", Presence::kOptional, NonNegativeInteger);
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
  return SqliteVocabulary().ParseAction<Action>(name);
}

std::optional<CheckKind> ParseCheckKind(std::string_view name) {
  return common::FindName<CheckKind>(kCheckNames, name);
}

std::vector<ParamError> ValidateInvocation(std::string_view action, const json& target,
                                           const json& params, References references) {
  return common::CheckNamedAction<Action>(
      SqliteVocabulary(), action, references,
      [&](Checker& checker) { TargetConfig(checker, target); },
      [&](Checker& checker, Action parsed) { ActionParams(checker, parsed, params); });
}

}  // namespace backout::adapters::sqlite
