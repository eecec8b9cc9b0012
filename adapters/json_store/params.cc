#include "adapters/json_store/params.h"

#include <fmt/format.h>

#include <string>

#include "adapters/common/verify.h"
#include "adapters/file/params.h"
#include "adapters/json_store/json_store_adapter.h"

namespace backout::adapters::json_store {
namespace {

using common::Checker;
using common::Presence;
using common::Sha256Digest;
using nlohmann::json;

// In the order of the Check enumerators.
constexpr std::string_view kCheckNames[] = {"record_count", "checksum", "collection_present",
                                            "collection_absent", "valid_json"};

const std::string& Text(const json& value) { return value.get_ref<const std::string&>(); }

// A folder or backup path: not empty, no NUL.
void Path(Checker& checker, const json& value, const std::string& pointer) {
  file::Word(checker, value, pointer);
}

// A collection is the file NAME.json directly in the store's folder.
void CollectionName(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value) || !file::Word(checker, value, pointer)) return;
  const std::string& name = Text(value);
  if (name.find('/') != std::string::npos || name.front() == '.') {
    return checker.Fail(pointer, "must be a collection name (a file name without '/', not "
                                 "starting with '.')");
  }
  if (name.ends_with(".json")) {
    checker.Fail(pointer, fmt::format("name the collection without '.json' ('{}')",
                                      name.substr(0, name.size() - 5)));
  }
}

void CollectionList(Checker& checker, const json& value, const std::string& pointer) {
  common::NameList(checker, value, pointer, "collection", CollectionName);
}

void CollectionOrList(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_string()) return CollectionName(checker, value, pointer);
  CollectionList(checker, value, pointer);
}

void CountExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::CountOrBaseline(checker, value, pointer, "a record count");
}

void ChecksumExpectation(Checker& checker, const json& value, const std::string& pointer) {
  common::DigestOrBaseline(checker, value, pointer, "checksum", 64);
}

void OneCheck(Checker& checker, Check kind, const json& value, const std::string& pointer) {
  switch (kind) {
    case Check::kRecordCount:
      return common::SubjectEquals(checker, value, pointer, "collection", CollectionName,
                                   CountExpectation);
    case Check::kChecksum:
      return common::SubjectEquals(checker, value, pointer, "collection", CollectionName,
                                   ChecksumExpectation);
    case Check::kCollectionPresent:
    case Check::kCollectionAbsent:
      return CollectionOrList(checker, value, pointer);
    case Check::kValidJson:
      return common::True(checker, value, pointer);
  }
}

void CheckList(Checker& checker, const json& value, const std::string& pointer) {
  common::CheckList(checker, value, pointer, kCheckNames, OneCheck);
}

void TargetConfig(Checker& checker, const json& target) {
  if (!target.is_object()) return checker.Fail("", "a json_store target must be a mapping");
  checker.KnownKeysOnly(target, "", {"type", "path"});
  checker.Field(target, "", "path", Presence::kRequired, Path);
}

void ActionParams(Checker& checker, Action action, const json& params) {
  if (!checker.Mapping(params, "")) return;
  const std::string root;
  switch (action) {
    case Action::kBackup:
      checker.KnownKeysOnly(params, root, {"to"});
      return checker.Field(params, root, "to", Presence::kRequired, Path);
    case Action::kRestore:
      checker.KnownKeysOnly(params, root, {"from", "sha256"});
      checker.Field(params, root, "from", Presence::kRequired, Path);
      return checker.Field(params, root, "sha256", Presence::kOptional, Sha256Digest);
    case Action::kBaseline:
      checker.KnownKeysOnly(params, root, {"collections", common::kBaselineChecksumParam});
      common::BaselineChecksumParam(checker, params);
      return checker.Field(params, root, "collections", Presence::kOptional, CollectionList);
    case Action::kVerify:
      checker.KnownKeysOnly(params, root, {"checks"});
      return checker.Field(params, root, "checks", Presence::kRequired, CheckList);
  }
}

}  // namespace

std::optional<Action> ParseAction(std::string_view name) {
  return JsonStoreVocabulary().ParseAction<Action>(name);
}

std::optional<Check> ParseCheck(std::string_view name) {
  return common::FindName<Check>(kCheckNames, name);
}

std::vector<ParamError> ValidateInvocation(std::string_view action, const json& target,
                                           const json& params, References references) {
  return common::CheckNamedAction<Action>(
      JsonStoreVocabulary(), action, references,
      [&](Checker& checker) { TargetConfig(checker, target); },
      [&](Checker& checker, Action parsed) { ActionParams(checker, parsed, params); });
}

}  // namespace backout::adapters::json_store
