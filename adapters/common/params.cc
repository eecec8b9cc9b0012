#include "adapters/common/params.h"

#include <charconv>
#include <limits>
#include <utility>

namespace backout::adapters::common {
namespace {

using nlohmann::json;

// Keys the engine puts into every action's params for its own use.
constexpr std::string_view kEngineOwnedKeys[] = {"target", "timeout"};

const std::string& Text(const json& value) { return value.get_ref<const std::string&>(); }

}  // namespace

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
  const std::string& text = Text(value);
  std::int64_t number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return number;
}

std::optional<std::int64_t> AsCount(const json& value) {
  const std::optional<std::int64_t> number = AsInteger(value);
  if (!number.has_value() || *number < 0) return std::nullopt;
  return number;
}

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

bool IsLowerHex(const json& value, std::size_t digits) {
  if (!value.is_string()) return false;
  const std::string& text = Text(value);
  return text.size() == digits && std::all_of(text.begin(), text.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

void Checker::Fail(const std::string& pointer, std::string message) {
  errors_.push_back(ParamError{pointer, std::move(message), in_target_});
}

bool Checker::Deferred(const json& value) const {
  return references_ == References::kUnresolved && value.is_string() &&
         Text(value).find("${") != std::string::npos;
}

bool Checker::Mapping(const json& value, const std::string& pointer) {
  if (value.is_object()) return true;
  Fail(pointer, "must be a mapping");
  return false;
}

void Checker::KnownKeysOnly(const json& object, const std::string& pointer,
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

void Checker::Field(const json& object, const std::string& pointer, std::string_view key,
                    Presence presence, Rule rule) {
  const auto it = object.find(key);
  if (it == object.end()) {
    if (presence == Presence::kRequired) Fail(Child(pointer, key), "is required");
    return;
  }
  rule(*this, *it, Child(pointer, key));
}

void NonEmptyString(Checker& checker, const json& value, const std::string& pointer) {
  if (!value.is_string()) return checker.Fail(pointer, "must be a string");
  if (Text(value).empty()) checker.Fail(pointer, "must not be empty");
}

void Scalar(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_object() || value.is_array()) {
    checker.Fail(pointer, "must be a single value: a number, a string, true, false or null");
  }
}

void Sha256Digest(Checker& checker, const json& value, const std::string& pointer) {
  if (checker.Deferred(value) || IsLowerHex(value, 64)) return;
  checker.Fail(pointer, "must be a SHA-256 digest (64 lowercase hex digits)");
}

void True(Checker& checker, const json& value, const std::string& pointer) {
  if (value.is_boolean() && value.get<bool>()) return;
  checker.Fail(pointer, "must be true (leave the check out to skip it)");
}

void NameList(Checker& checker, const json& value, const std::string& pointer,
              std::string_view noun, Checker::Rule item) {
  if (checker.Deferred(value)) return;
  if (!value.is_array())
    return checker.Fail(pointer, fmt::format("must be a list of {} names", noun));
  if (value.empty()) return checker.Fail(pointer, fmt::format("must name at least one {}", noun));
  for (std::size_t i = 0; i < value.size(); ++i) item(checker, value[i], Child(pointer, i));
}

void CountOrBaseline(Checker& checker, const json& value, const std::string& pointer,
                     std::string_view what) {
  if (value == "baseline" || checker.Deferred(value) || AsCount(value).has_value()) return;
  checker.Fail(pointer, fmt::format("must be {} or \"baseline\"", what));
}

void DigestOrBaseline(Checker& checker, const json& value, const std::string& pointer,
                      std::string_view what, std::size_t digits) {
  if (value == "baseline" || checker.Deferred(value) || IsLowerHex(value, digits)) return;
  checker.Fail(pointer,
               fmt::format("must be \"baseline\" or a {} ({} lowercase hex digits)", what, digits));
}

void SubjectEquals(Checker& checker, const json& value, const std::string& pointer,
                   std::string_view subject_key, Checker::Rule subject, Checker::Rule equals) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {subject_key, "equals"});
  checker.Field(value, pointer, subject_key, Presence::kRequired, subject);
  checker.Field(value, pointer, "equals", Presence::kRequired, equals);
}

void QueryCheck(Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer)) return;
  checker.KnownKeysOnly(value, pointer, {"sql", "expect"});
  checker.Field(value, pointer, "sql", Presence::kRequired, NonEmptyString);
  checker.Field(value, pointer, "expect", Presence::kRequired, Scalar);
}

void QueryParams(Checker& checker, const json& params) {
  checker.KnownKeysOnly(params, "", {"sql", "expect"});
  checker.Field(params, "", "sql", Presence::kRequired, NonEmptyString);
  checker.Field(params, "", "expect", Presence::kOptional, Scalar);
}

std::vector<ParamError> CheckInvocation(References references,
                                        const std::function<void(Checker&)>& check_target,
                                        const std::function<void(Checker&)>& check_params) {
  Checker target_checker(references, /*in_target=*/true);
  check_target(target_checker);
  Checker params_checker(references, /*in_target=*/false);
  check_params(params_checker);
  std::vector<ParamError> errors = target_checker.TakeErrors();
  std::vector<ParamError> param_errors = params_checker.TakeErrors();
  errors.insert(errors.end(), param_errors.begin(), param_errors.end());
  return errors;
}

std::vector<ParamError> NoSuchAction(std::string_view type, std::string_view action,
                                     std::span<const std::string_view> actions) {
  const std::string expected = actions.size() == 1 ? std::string(actions.front())
                                                   : fmt::format("one of {}", ListNames(actions));
  return {ParamError{
      "", fmt::format("{} targets offer no action '{}' (expected {})", type, action, expected)}};
}

std::string DescribeErrors(const std::vector<ParamError>& errors) {
  std::vector<std::string> parts;
  for (const ParamError& error : errors) {
    parts.push_back(fmt::format("{}{}: {}", error.in_target ? "target" : "params", error.pointer,
                                error.message));
  }
  return fmt::format("invalid {}", fmt::join(parts, "; "));
}

namespace detail {

void CheckList(Checker& checker, const json& value, const std::string& pointer,
               std::span<const std::string_view> kinds,
               const std::function<void(std::size_t kind, const json& value,
                                        const std::string& pointer)>& check) {
  if (!value.is_array()) return checker.Fail(pointer, "must be a list of checks");
  if (value.empty()) return checker.Fail(pointer, "must hold at least one check");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json& item = value[i];
    const std::string at = Child(pointer, i);
    if (!item.is_object() || item.size() != 1) {
      checker.Fail(at, fmt::format("each check must be a mapping with exactly one key, the kind "
                                   "of check ({})",
                                   ListNames(kinds)));
      continue;
    }
    const std::string& name = item.begin().key();
    const std::string child = Child(at, name);
    const auto kind = std::find(kinds.begin(), kinds.end(), name);
    if (kind == kinds.end()) {
      checker.Fail(child,
                   fmt::format("unknown check '{}' (expected one of {})", name, ListNames(kinds)));
      continue;
    }
    check(static_cast<std::size_t>(kind - kinds.begin()), item.begin().value(), child);
  }
}

}  // namespace detail

}  // namespace backout::adapters::common
