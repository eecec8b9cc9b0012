#include "adapters/file/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "adapters/file/env_file.h"
#include "adapters/file/file_adapter.h"
#include "base/utf8.h"

namespace backout::adapters::file {
namespace {

namespace fs = std::filesystem;
using common::Checker;
using common::Child;
using common::ListNames;
using common::Presence;
using common::Sha256Digest;
using nlohmann::json;

// In the order of the enumerators.
constexpr std::string_view kOperationNames[] = {"copy", "restore", "set_env", "unset_env"};

}  // namespace

// A string that is not empty and holds no NUL (which no path or env file can hold).
bool Word(Checker& checker, const json& value, const std::string& pointer) {
  if (!value.is_string()) {
    checker.Fail(pointer, value.is_number() || value.is_boolean()
                              ? "must be a string (quote it: YAML would change its spelling)"
                              : "must be a string");
    return false;
  }
  if (Text(value).empty()) {
    checker.Fail(pointer, "must not be empty");
    return false;
  }
  if (Text(value).find('\0') != std::string::npos) {
    checker.Fail(pointer, "must not contain a NUL character");
    return false;
  }
  return true;
}

namespace {

void NonEmptyString(Checker& checker, const json& value, const std::string& pointer) {
  Word(checker, value, pointer);
}

// A path inside a `file` target's root. Symbolic links are checked when the step runs.
void RootRelativePath(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value) || !Word(checker, value, pointer)) return;
  const fs::path path(Text(value));
  if (path.is_absolute()) {
    return checker.Fail(pointer, "must be relative to the target's root (absolute paths are "
                                 "refused: a plan must not reach outside its root)");
  }
  const fs::path normal = path.lexically_normal();
  if (!normal.empty() && *normal.begin() == "..") {
    return checker.Fail(pointer, "leads outside the target's root ('..')");
  }
  if (normal == "." || !normal.has_filename()) {
    checker.Fail(pointer, "must name a file, not a directory");
  }
}

void Boolean(Checker& checker, const json& value, const std::string& pointer) {
  if (!value.is_boolean()) checker.Fail(pointer, "must be true or false");
}

void EnvValue(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  if (!value.is_string()) {
    return checker.Fail(pointer, value.is_number() || value.is_boolean()
                                     ? "must be a string (quote it: YAML would change its "
                                       "spelling)"
                                     : "must be a string");
  }
  if (Text(value).find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) {
    checker.Fail(pointer, "must be one line (no newline, carriage return or NUL)");
  }
}

void EnvKeyName(Checker& checker, const std::string& key, const std::string& pointer) {
  if (!IsEnvKey(key)) {
    checker.Fail(pointer, "not a valid variable name (letters, digits, '_' and '.', not starting "
                          "with a digit)");
  }
}

void EnvValues(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  if (value.empty()) return checker.Fail(pointer, "must set at least one variable");
  for (const auto& [key, item] : value.items()) {
    EnvKeyName(checker, key, Child(pointer, key));
    EnvValue(checker, item, Child(pointer, key));
  }
}

void EnvKey(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value) || !Word(checker, value, pointer)) return;
  EnvKeyName(checker, Text(value), pointer);
}

void EnvKeys(Checker& checker, const json& value, const std::string& pointer) {
  common::NameList(checker, value, pointer, "variable", EnvKey);
}

// copy and restore: {from, to, ...}; the two must name different files.
void CopySpec(Checker& checker, const json& value, const std::string& pointer, bool restore) {
  if (!checker.Mapping(value, pointer)) return;
  if (restore) {
    checker.KnownKeysOnly(value, pointer, {"from", "to", "sha256"});
    checker.Field(value, pointer, "sha256", Presence::kOptional, Sha256Digest);
  } else {
    checker.KnownKeysOnly(value, pointer, {"from", "to", "overwrite"});
    checker.Field(value, pointer, "overwrite", Presence::kOptional, Boolean);
  }
  checker.Field(value, pointer, "from", Presence::kRequired, RootRelativePath);
  checker.Field(value, pointer, "to", Presence::kRequired, RootRelativePath);
  const auto from = value.find("from");
  const auto to = value.find("to");
  if (from != value.end() && to != value.end() && from->is_string() && to->is_string() &&
      fs::path(Text(*from)).lexically_normal() == fs::path(Text(*to)).lexically_normal()) {
    checker.Fail(Child(pointer, "to"), "names the same file as 'from'");
  }
}

void CopyOperation(Checker& checker, const json& value, const std::string& pointer) {
  CopySpec(checker, value, pointer, /*restore=*/false);
}

void RestoreOperation(Checker& checker, const json& value, const std::string& pointer) {
  CopySpec(checker, value, pointer, /*restore=*/true);
}

void SetEnvOperation(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"path", "values"});
  checker.Field(value, pointer, "path", Presence::kRequired, RootRelativePath);
  checker.Field(value, pointer, "values", Presence::kRequired, EnvValues);
}

void UnsetEnvOperation(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"path", "keys"});
  checker.Field(value, pointer, "path", Presence::kRequired, RootRelativePath);
  checker.Field(value, pointer, "keys", Presence::kRequired, EnvKeys);
}

void FileTarget(Checker& checker, const json& target) {
  if (!target.is_object()) return checker.Fail("", "a file target must be a mapping");
  checker.KnownKeysOnly(target, "", {"type", "root"});
  checker.Field(target, "", "root", Presence::kOptional, NonEmptyString);
}

void FileParams(Checker& checker, const json& params) {
  if (!checker.Mapping(params, "")) return;
  checker.KnownKeysOnly(params, "", {"copy", "restore", "set_env", "unset_env"});
  int operations = 0;
  for (std::string_view name : kOperationNames) operations += params.contains(name) ? 1 : 0;
  if (operations != 1) {
    checker.Fail("", fmt::format("needs exactly one operation, one of: {}",
                                        ListNames(kOperationNames)));
  }
  checker.Field(params, "", "copy", Presence::kOptional, CopyOperation);
  checker.Field(params, "", "restore", Presence::kOptional, RestoreOperation);
  checker.Field(params, "", "set_env", Presence::kOptional, SetEnvOperation);
  checker.Field(params, "", "unset_env", Presence::kOptional, UnsetEnvOperation);
}

}  // namespace

std::string_view OperationName(Operation operation) {
  return kOperationNames[static_cast<std::size_t>(operation)];
}

Operation OperationOf(const json& params) {
  for (std::size_t i = 0; i < std::size(kOperationNames); ++i) {
    if (params.contains(kOperationNames[i])) return static_cast<Operation>(i);
  }
  return Operation::kCopy;  // unreachable for validated params
}

std::vector<ParamError> ValidateFileInvocation(std::string_view action, const json& target,
                                               const json& params, References references) {
  const AdapterVocabulary& vocabulary = FileVocabulary();
  if (vocabulary.Find(action) == nullptr) {
    return common::NoSuchAction(vocabulary, action);
  }
  return common::CheckInvocation(
      references, [&](Checker& checker) { FileTarget(checker, target); },
      [&](Checker& checker) { FileParams(checker, params); });
}

}  // namespace backout::adapters::file
