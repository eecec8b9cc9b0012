#include "adapters/sqlite/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

namespace backout::adapters::sqlite {
namespace {

using nlohmann::json;

// In the order of the Action and CheckKind enumerators.
constexpr std::string_view kActionNames[] = {"sql",      "backup", "restore",
                                             "baseline", "verify", "query"};
constexpr std::string_view kCheckNames[] = {"table_present", "table_absent", "row_count",
                                            "checksum",      "integrity",    "query"};

// Keys the engine puts into every action's params for its own use.
constexpr std::string_view kEngineOwnedKeys[] = {"target", "timeout", "$baseline"};

template <typename Enum, std::size_t N>
std::optional<Enum> FindName(const std::string_view (&names)[N], std::string_view name) {
  const auto* it = std::find(std::begin(names), std::end(names), name);
  if (it == std::end(names)) return std::nullopt;
  return static_cast<Enum>(it - std::begin(names));
}

template <typename Names>
bool Contains(const Names& names, std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

template <typename Names>
std::string ListNames(const Names& names) {
  return fmt::format("{}", fmt::join(std::begin(names), std::end(names), ", "));
}

// A JSON pointer one level below `parent` (RFC 6901 escaping).
std::string Child(const std::string& parent, std::string_view key) {
  std::string out = parent + "/";
  for (char ch : key) {
    if (ch == '~') {
      out += "~0";
    } else if (ch == '/') {
      out += "~1";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string Child(const std::string& parent, std::size_t index) {
  return parent + "/" + std::to_string(index);
}

// Lowercase only, as backup and baseline write them, so that digests compare as strings.
bool IsSha256Hex(const json& value) {
  if (!value.is_string()) return false;
  const auto& text = value.get_ref<const std::string&>();
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

enum class Presence { kRequired, kOptional };

// Collects the problems found in one target config or one action's params.
class Checker {
 public:
  // A rule checks one value, found at `pointer`, and reports what is wrong with it.
  using Rule = void (*)(Checker& checker, const json& value, const std::string& pointer);

  Checker(References references, bool in_target) : references_(references), in_target_(in_target) {}

  std::vector<ParamError> TakeErrors() { return std::move(errors_); }

  void Fail(const std::string& pointer, std::string message) {
    errors_.push_back(ParamError{pointer, std::move(message), in_target_});
  }

  // True when `value` is a reference whose type can only be checked once it is expanded.
  bool Deferred(const json& value) const {
    return references_ == References::kUnresolved && value.is_string() &&
           value.get_ref<const std::string&>().find("${") != std::string::npos;
  }

  // Reports each key of the mapping `object` that is not in `allowed`. Typos must not pass
  // silently. At the top of an action's params, the keys the engine owns are allowed too.
  void KnownKeysOnly(const json& object, const std::string& pointer,
                     std::initializer_list<std::string_view> allowed) {
    const bool engine_keys_allowed = pointer.empty() && !in_target_;
    for (const auto& [key, value] : object.items()) {
      if (Contains(allowed, key) || (engine_keys_allowed && Contains(kEngineOwnedKeys, key))) {
        continue;
      }
      Fail(Child(pointer, key),
           fmt::format("unknown key '{}' (expected {})", key, ListNames(allowed)));
    }
  }

  // Applies `rule` to the member `key` of the mapping `object`; reports it missing when it
  // is required.
  void Field(const json& object, const std::string& pointer, std::string_view key,
             Presence presence, Rule rule) {
    const auto it = object.find(key);
    if (it == object.end()) {
      if (presence == Presence::kRequired) Fail(Child(pointer, key), "is required");
      return;
    }
    rule(*this, *it, Child(pointer, key));
  }

 private:
  References references_;
  bool in_target_;
  std::vector<ParamError> errors_;
};

bool IsMapping(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_object()) return true;
  checker.Fail(pointer, "must be a mapping");
  return false;
}

void NonEmptyString(Checker& checker, const json& value, const std::string& pointer) {
  if (!value.is_string()) return checker.Fail(pointer, "must be a string");
  if (value.get_ref<const std::string&>().empty()) checker.Fail(pointer, "must not be empty");
}

void NonNegativeInteger(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  const std::optional<std::int64_t> number = AsInteger(value);
  if (!number.has_value() || *number < 0) {
    checker.Fail(pointer, "must be a non-negative integer");
  }
}

void Scalar(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_object() || value.is_array()) {
    checker.Fail(pointer, "must be a single value: a number, a string, true, false or null");
  }
}

void Sha256Digest(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value) || IsSha256Hex(value)) return;
  checker.Fail(pointer, "must be a SHA-256 digest (64 lowercase hex digits)");
}

void TableList(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value)) return;
  if (!value.is_array()) return checker.Fail(pointer, "must be a list of table names");
  if (value.empty()) return checker.Fail(pointer, "must name at least one table");
  for (std::size_t i = 0; i < value.size(); ++i) {
    NonEmptyString(checker, value[i], Child(pointer, i));
  }
}

// One table name, or a list of them.
void TableOrTableList(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_string()) return NonEmptyString(checker, value, pointer);
  TableList(checker, value, pointer);
}

void RowCountExpectation(Checker& checker, const json& value, const std::string& pointer) {
  if (value == "baseline" || checker.Deferred(value)) return;
  const std::optional<std::int64_t> rows = AsInteger(value);
  if (!rows.has_value() || *rows < 0) {
    checker.Fail(pointer, "must be a row count or \"baseline\"");
  }
}

void ChecksumExpectation(Checker& checker, const json& value, const std::string& pointer) {
  if (value == "baseline" || checker.Deferred(value) || IsSha256Hex(value)) return;
  checker.Fail(pointer, "must be \"baseline\" or a checksum (64 lowercase hex digits)");
}

void True(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_boolean() && value.get<bool>()) return;
  checker.Fail(pointer, "must be true (leave the check out to skip it)");
}

// row_count and checksum: {table: T, equals: ...}.
void TableExpectation(Checker& checker, const json& value, const std::string& pointer,
                      Checker::Rule equals_rule) {
  if (!IsMapping(checker, value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"table", "equals"});
  checker.Field(value, pointer, "table", Presence::kRequired, NonEmptyString);
  checker.Field(value, pointer, "equals", Presence::kRequired, equals_rule);
}

void QueryCheck(Checker& checker, const json& value, const std::string& pointer) {
  if (!IsMapping(checker, value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"sql", "expect"});
  checker.Field(value, pointer, "sql", Presence::kRequired, NonEmptyString);
  checker.Field(value, pointer, "expect", Presence::kRequired, Scalar);
}

void OneCheck(Checker& checker, const json& item, const std::string& pointer) {
  if (!item.is_object() || item.size() != 1) {
    return checker.Fail(pointer, fmt::format("each check must be a mapping with exactly one key, "
                                             "the kind of check ({})",
                                             ListNames(kCheckNames)));
  }
  const std::string& name = item.begin().key();
  const json& value = item.begin().value();
  const std::string child = Child(pointer, name);
  const std::optional<CheckKind> kind = ParseCheckKind(name);
  if (!kind.has_value()) {
    return checker.Fail(child, fmt::format("unknown check '{}' (expected one of {})", name,
                                           ListNames(kCheckNames)));
  }
  switch (*kind) {
    case CheckKind::kTablePresent:
    case CheckKind::kTableAbsent:
      return TableOrTableList(checker, value, child);
    case CheckKind::kRowCount:
      return TableExpectation(checker, value, child, RowCountExpectation);
    case CheckKind::kChecksum:
      return TableExpectation(checker, value, child, ChecksumExpectation);
    case CheckKind::kIntegrity:
      return True(checker, value, child);
    case CheckKind::kQuery:
      return QueryCheck(checker, value, child);
  }
}

void CheckList(Checker& checker, const json& value, const std::string& pointer) {
  if (!value.is_array()) return checker.Fail(pointer, "must be a list of checks");
  if (value.empty()) return checker.Fail(pointer, "must hold at least one check");
  for (std::size_t i = 0; i < value.size(); ++i) OneCheck(checker, value[i], Child(pointer, i));
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
  checker.KnownKeysOnly(params, "", {"tables"});
  checker.Field(params, "", "tables", Presence::kRequired, TableList);
}

void VerifyParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"checks"});
  checker.Field(params, "", "checks", Presence::kRequired, CheckList);
}

void QueryParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"sql", "expect"});
  checker.Field(params, "", "sql", Presence::kRequired, NonEmptyString);
  checker.Field(params, "", "expect", Presence::kOptional, Scalar);
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
      return QueryParams(checker, params);
  }
}

}  // namespace

std::optional<Action> ParseAction(std::string_view name) {
  return FindName<Action>(kActionNames, name);
}

std::optional<CheckKind> ParseCheckKind(std::string_view name) {
  return FindName<CheckKind>(kCheckNames, name);
}

std::vector<ParamError> ValidateInvocation(std::string_view action, const json& target,
                                           const json& params, References references) {
  const std::optional<Action> parsed = ParseAction(action);
  if (!parsed.has_value()) {
    return {ParamError{"", fmt::format("sqlite targets offer no action '{}' (expected one of {})",
                                       action, ListNames(kActionNames))}};
  }
  Checker target_checker(references, /*in_target=*/true);
  TargetConfig(target_checker, target);
  Checker params_checker(references, /*in_target=*/false);
  ActionParams(params_checker, *parsed, params);
  std::vector<ParamError> errors = target_checker.TakeErrors();
  std::vector<ParamError> param_errors = params_checker.TakeErrors();
  errors.insert(errors.end(), param_errors.begin(), param_errors.end());
  return errors;
}

std::optional<std::int64_t> AsInteger(const json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

}  // namespace backout::adapters::sqlite
