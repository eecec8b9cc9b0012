#include "adapters/common/params.h"

#include <strings.h>

#include <charconv>
#include <limits>
#include <utility>

#include "base/suggest.h"
#include "base/time.h"
#include "base/utf8.h"

namespace backout::adapters::common {
namespace {

using nlohmann::json;

// Keys the engine puts into every action's params for its own use.
constexpr std::string_view kEngineOwnedKeys[] = {"target", "timeout"};

const std::string& StringOf(const json& value) { return value.get_ref<const std::string&>(); }

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
  const std::string& text = StringOf(value);
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
  const std::string& text = StringOf(value);
  return text.size() == digits && std::all_of(text.begin(), text.end(), [](char ch) {
           return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
         });
}

void Checker::Fail(const std::string& pointer, std::string message) {
  errors_.push_back(ParamError{pointer, std::move(message), in_target_});
}

void Checker::FailUnknownName(const std::string& pointer, std::string message,
                              std::string_view name, std::span<const std::string_view> known) {
  errors_.push_back(ParamError{pointer, std::move(message), in_target_,
                               DidYouMean(name, std::vector<std::string>(known.begin(),
                                                                         known.end()))});
}

bool Checker::Deferred(const json& value) const {
  return references_ == References::kUnresolved && value.is_string() &&
         StringOf(value).find("${") != std::string::npos;
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
    FailUnknownName(Child(pointer, key),
                    fmt::format("unknown key '{}' (expected {})", key, OneOf(allowed)), key,
                    std::span(allowed.begin(), allowed.size()));
  }
}

bool Checker::Mapping(const json& value, const std::string& pointer,
                      std::initializer_list<std::string_view> allowed) {
  if (!Mapping(value, pointer)) return false;
  KnownKeysOnly(value, pointer, allowed);
  return true;
}

std::optional<std::string> Checker::Text(const json& value, const std::string& pointer) {
  if (!value.is_string()) {
    Fail(pointer, value.is_number() ? "expected a string (quote the number)" : "expected a string");
    return std::nullopt;
  }
  if (StringOf(value).find('\0') != std::string::npos) {
    Fail(pointer, "must not contain a NUL character");
    return std::nullopt;
  }
  return StringOf(value);
}

std::optional<std::string> Checker::NonEmptyText(const json& value, const std::string& pointer) {
  std::optional<std::string> text = Text(value, pointer);
  if (text && text->empty()) {
    Fail(pointer, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> Checker::Flag(const json& value, const std::string& pointer) {
  if (value.is_boolean()) return value.get<bool>();
  if (Deferred(value)) return std::nullopt;
  if (value == "true" || value == "false") return value == "true";
  Fail(pointer, "expected true or false");
  return std::nullopt;
}

std::optional<std::int64_t> Checker::Integer(const json& value, const std::string& pointer) {
  if (Deferred(value)) return std::nullopt;
  std::optional<std::int64_t> number = AsInteger(value);
  if (!number) Fail(pointer, "expected an integer");
  return number;
}

std::optional<std::chrono::milliseconds> Checker::Duration(const json& value,
                                                           const std::string& pointer) {
  if (Deferred(value)) return std::nullopt;
  if (value.is_string()) {
    Result<std::chrono::milliseconds> parsed = ParseDuration(StringOf(value));
    if (parsed.ok() && parsed->count() > 0) return *parsed;
  }
  Fail(pointer, "expected a duration greater than zero, such as 2s, 500ms or 1m30s");
  return std::nullopt;
}

std::optional<std::string> Checker::Url(const json& value, const std::string& pointer) {
  if (Deferred(value)) return std::nullopt;
  std::optional<std::string> text = Text(value, pointer);
  if (!text) return std::nullopt;
  if (strncasecmp(text->c_str(), "http://", 7) != 0 &&
      strncasecmp(text->c_str(), "https://", 8) != 0) {
    Fail(pointer, "expected an http:// or https:// URL");
    return std::nullopt;
  }
  return text;
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
  checker.NonEmptyText(value, pointer);
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

std::vector<ParamError> InvocationChecker::TakeErrors() {
  std::vector<ParamError> errors = target_.TakeErrors();
  std::vector<ParamError> param_errors = params_.TakeErrors();
  errors.insert(errors.end(), param_errors.begin(), param_errors.end());
  return errors;
}

std::vector<ParamError> CheckInvocation(References references,
                                        const std::function<void(Checker&)>& check_target,
                                        const std::function<void(Checker&)>& check_params) {
  InvocationChecker checker(references);
  check_target(checker.target());
  check_params(checker.params());
  return checker.TakeErrors();
}

std::vector<ParamError> NoSuchAction(const AdapterVocabulary& vocabulary,
                                     std::string_view action) {
  const std::string_view type = vocabulary.type;
  const std::vector<std::string_view> actions = vocabulary.ActionNames();
  if (actions.size() == 1) {
    return {ParamError{"", fmt::format("{} targets support only the '{}' action, not '{}'", type,
                                       actions.front(), action)}};
  }
  return {ParamError{"", fmt::format("{} targets offer no action '{}' (expected {})", type, action,
                                     OneOf(actions))}};
}

std::string Where(const ParamError& error) {
  return (error.in_target ? "target" : "params") + error.pointer;
}

std::string NamedMessage(const ParamError& error) {
  return fmt::format("{} ({}){}", error.message, Where(error), error.hint);
}

std::string DescribeErrors(const std::vector<ParamError>& errors, ParamsNoun noun,
                           std::string_view action) {
  std::vector<std::string> parts;
  for (const ParamError& error : errors) {
    const std::string where = error.in_target || noun == ParamsNoun::kParams
                                  ? Where(error)
                                  : error.pointer;
    parts.push_back(where.empty() ? error.message + error.hint
                                  : fmt::format("{}: {}{}", where, error.message, error.hint));
  }
  const std::string subject =
      noun == ParamsNoun::kAction ? fmt::format("{} action: ", action) : std::string();
  return fmt::format("invalid {}{}", subject, fmt::join(parts, "; "));
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
      checker.FailUnknownName(
          child, fmt::format("unknown check '{}' (expected {})", name, OneOf(kinds)), name, kinds);
      continue;
    }
    check(static_cast<std::size_t>(kind - kinds.begin()), item.begin().value(), child);
  }
}

}  // namespace detail

}  // namespace backout::adapters::common
