// The one way every adapter reads its target's config and its action's params:
// a Checker that collects ParamErrors at JSON pointers, the rules and typed
// readers shared by the adapters, the integer spellings they accept, and how a
// ParamError is told to a person (Where, NamedMessage, DescribeErrors). What an
// adapter's params mean, its own rules and its vocabulary stay in the adapter.
//
// Wording: a value of the wrong type is "expected a string", "expected an
// integer", "expected true or false"; a value that is not a mapping "must be a
// mapping"; a missing one "is required"; a choice lists its names as
// OneOf() does ("one of: a, b").
//
// A Rule checks one value found at a JSON pointer ("" is the top of the params
// or target,
// "/checks/1/row_count" below it; RFC 6901 escaping) and reports what is wrong
// with it through the Checker. Rules never throw and never stop at the first
// problem: every problem of an invocation is reported at once.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"

namespace backout::adapters::common {

enum class References {
  // Plan time: a string holding "${" stands for a value known only at run time
  // (an
  // environment variable, an earlier step's output) and is accepted wherever a
  // value goes.
  kUnresolved,
  // Run time: every reference has been expanded; each value must have its final
  // type.
  kResolved,
};

// An integer written as a JSON number or as a string of decimal digits, which
// is what expanding `${VAR}` produces. nullopt for anything else, and for
// numbers beyond int64.
std::optional<std::int64_t> AsInteger(const nlohmann::json& value);

// AsInteger(), and nullopt for a negative number too.
std::optional<std::int64_t> AsCount(const nlohmann::json& value);

// Whether `names` (an array or initializer list of string_view) holds `name`.
template <typename Names>
bool Contains(const Names& names, std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

// "a, b, c": how messages list the names a value may take.
template <typename Names>
std::string ListNames(const Names& names) {
  return fmt::format("{}", fmt::join(std::begin(names), std::end(names), ", "));
}

// "one of: a, b, c", or "a" when there is only one: what a message says a
// value may be ("expected one of: GET, HEAD"). `names` must not be empty.
template <typename Names>
std::string OneOf(const Names& names) {
  if (std::next(std::begin(names)) == std::end(names)) return std::string(*std::begin(names));
  return "one of: " + ListNames(names);
}

// The enumerator whose name is `name`, for a vocabulary whose names are listed
// in the order of the enumerators of `Enum` (which count from 0).
template <typename Enum, std::size_t N>
std::optional<Enum> FindName(const std::string_view (&names)[N], std::string_view name) {
  const auto* it = std::find(std::begin(names), std::end(names), name);
  if (it == std::end(names)) return std::nullopt;
  return static_cast<Enum>(it - std::begin(names));
}

// A JSON pointer one level below `parent`.
std::string Child(const std::string& parent, std::string_view key);
std::string Child(const std::string& parent, std::size_t index);

// A string of exactly `digits` lowercase hex digits (how the adapters write
// digests, so that they compare as strings).
bool IsLowerHex(const nlohmann::json& value, std::size_t digits);

enum class Presence { kRequired, kOptional };

// Collects the problems found in one target config or one action's params.
class Checker {
 public:
  using Rule = void (*)(Checker& checker, const nlohmann::json& value, const std::string& pointer);

  // `in_target`: the errors are about the target's config
  // (ParamError::in_target).
  Checker(References references, bool in_target) : references_(references), in_target_(in_target) {}

  std::vector<ParamError> TakeErrors() { return std::move(errors_); }
  bool HasErrors() const { return !errors_.empty(); }

  void Fail(const std::string& pointer, std::string message);
  // Fail() for a name that is not one of `known`, with "did you mean" when one is close.
  void FailUnknownName(const std::string& pointer, std::string message, std::string_view name,
                       std::span<const std::string_view> known);

  // Plan time: `${...}` references are not expanded yet.
  bool Unresolved() const { return references_ == References::kUnresolved; }

  // True when `value` is a reference whose type can only be checked once it is
  // expanded.
  bool Deferred(const nlohmann::json& value) const;

  // True when `value` is a mapping; else reports "must be a mapping".
  bool Mapping(const nlohmann::json& value, const std::string& pointer);

  // Mapping() and KnownKeysOnly() in one.
  bool Mapping(const nlohmann::json& value, const std::string& pointer,
               std::initializer_list<std::string_view> allowed);

  // Typed readers: the value when it is right; nullopt when it is wrong (a
  // problem is reported) or, at plan time, a reference (Deferred) standing for
  // a value of that type.
  //
  // A string without NUL characters. Numbers are refused rather than turned
  // into text: YAML has already changed their spelling (`010` is 10).
  std::optional<std::string> Text(const nlohmann::json& value, const std::string& pointer);
  // Text(), not empty.
  std::optional<std::string> NonEmptyText(const nlohmann::json& value, const std::string& pointer);
  // true/false, or "true"/"false" (what expanding a `${VAR}` gives).
  std::optional<bool> Flag(const nlohmann::json& value, const std::string& pointer);
  // AsInteger().
  std::optional<std::int64_t> Integer(const nlohmann::json& value, const std::string& pointer);
  // A plan duration ("2s", "500ms", "1m30s") greater than zero.
  std::optional<std::chrono::milliseconds> Duration(const nlohmann::json& value,
                                                    const std::string& pointer);
  // An http:// or https:// URL.
  std::optional<std::string> Url(const nlohmann::json& value, const std::string& pointer);

  // Reports each key of the mapping `object` that is not in `allowed`: typos
  // must not pass silently. At the top of an action's params the keys the
  // engine owns ("target", "timeout") are allowed too.
  void KnownKeysOnly(const nlohmann::json& object, const std::string& pointer,
                     std::initializer_list<std::string_view> allowed);

  // Applies `rule` to the member `key` of the mapping `object`; reports it
  // missing ("is required") when it is required.
  void Field(const nlohmann::json& object, const std::string& pointer, std::string_view key,
             Presence presence, Rule rule);

 private:
  References references_;
  bool in_target_;
  std::vector<ParamError> errors_;
};

// Rules that read the same in every adapter.

// A non-empty string.
void NonEmptyString(Checker& checker, const nlohmann::json& value, const std::string& pointer);
// A number, string, boolean or null (what a query's `expect` compares with).
void Scalar(Checker& checker, const nlohmann::json& value, const std::string& pointer);
// 64 lowercase hex digits, or a reference.
void Sha256Digest(Checker& checker, const nlohmann::json& value, const std::string& pointer);
// true (a check that takes no parameters: `integrity: true`).
void True(Checker& checker, const nlohmann::json& value, const std::string& pointer);

// A non-empty list of `noun` names ("table": "must be a list of table names",
// "must name at least one table"), each checked by `item`; or a reference.
void NameList(Checker& checker, const nlohmann::json& value, const std::string& pointer,
              std::string_view noun, Checker::Rule item);

// `equals` of a count check: "baseline", a reference or a non-negative integer;
// else "must be `what` or \"baseline\"" (`what`: "a row count").
void CountOrBaseline(Checker& checker, const nlohmann::json& value, const std::string& pointer,
                     std::string_view what);

// `equals` of a digest check: "baseline", a reference or `digits` lowercase hex
// digits; else "must be \"baseline\" or a `what` (`digits` lowercase hex
// digits)".
void DigestOrBaseline(Checker& checker, const nlohmann::json& value, const std::string& pointer,
                      std::string_view what, std::size_t digits);

// A figure check {SUBJECT_KEY: ..., equals: ...} ({table: T, equals: 100}): a
// mapping with exactly those two keys, both required.
void SubjectEquals(Checker& checker, const nlohmann::json& value, const std::string& pointer,
                   std::string_view subject_key, Checker::Rule subject, Checker::Rule equals);

// The SQL adapters' `query` check {sql: TEXT, expect: SCALAR} (a rule) and
// `query` action's params {sql: TEXT, expect: SCALAR (optional)}.
void QueryCheck(Checker& checker, const nlohmann::json& value, const std::string& pointer);
void QueryParams(Checker& checker, const nlohmann::json& params);

// A verify action's `checks`: a non-empty list of mappings with exactly one
// key, the kind of check, one of `kinds`. Calls `check` with each known kind's
// value and its pointer
// ("/checks/0/row_count"); `Kind`'s enumerators are in the order of `kinds`.
template <typename Kind, std::size_t N>
void CheckList(Checker& checker, const nlohmann::json& value, const std::string& pointer,
               const std::string_view (&kinds)[N],
               void (*check)(Checker& checker, Kind kind, const nlohmann::json& value,
                             const std::string& pointer));

// The two Checkers of one invocation, for an adapter that reads its target's
// config and its action's params together (a URL made of the target's base and
// the action's path).
class InvocationChecker {
 public:
  explicit InvocationChecker(References references)
      : target_(references, /*in_target=*/true), params_(references, /*in_target=*/false) {}

  Checker& target() { return target_; }
  Checker& params() { return params_; }

  // Every error found; the target's come first.
  std::vector<ParamError> TakeErrors();

 private:
  Checker target_;
  Checker params_;
};

// The errors of one invocation: `check_target` runs on a Checker for the
// target's config, `check_params` on one for the action's params; the target's
// errors come first.
std::vector<ParamError> CheckInvocation(References references,
                                        const std::function<void(Checker&)>& check_target,
                                        const std::function<void(Checker&)>& check_params);

// How an adapter whose actions are the enumerators of `Action` (in its
// vocabulary's order) checks an invocation: NoSuchAction for an action its
// vocabulary does not offer; else the target with `check_target` and the params
// with `check_params(checker, action)`, every problem collected.
template <typename Action>
std::vector<ParamError> CheckNamedAction(const AdapterVocabulary& vocabulary,
                                         std::string_view action, References references,
                                         const std::function<void(Checker&)>& check_target,
                                         const std::function<void(Checker&, Action)>& check_params);

// The one error of an action that `vocabulary` does not offer: "sqlite targets
// offer no action 'x' (expected one of: sql, backup, ...)"; when it offers one
// action: "command targets support only the 'command' action, not 'x'".
std::vector<ParamError> NoSuchAction(const AdapterVocabulary& vocabulary, std::string_view action);

template <typename Action>
std::vector<ParamError> CheckNamedAction(
    const AdapterVocabulary& vocabulary, std::string_view action, References references,
    const std::function<void(Checker&)>& check_target,
    const std::function<void(Checker&, Action)>& check_params) {
  const std::optional<Action> parsed = vocabulary.ParseAction<Action>(action);
  if (!parsed.has_value()) return NoSuchAction(vocabulary, action);
  return CheckInvocation(references, check_target,
                         [&](Checker& checker) { check_params(checker, *parsed); });
}

// Where a value came from, the same way in every message: "target/base_url"
// (the target's config), "params/checks/1/row_count" (the action's params);
// "target" or "params" alone for the whole of either.
std::string Where(const ParamError& error);

// What a plan diagnostic says about `error`: its message, then the parameter it
// is about ("is required (params/to)"). The name comes last so that a message
// still starts with what is wrong.
std::string NamedMessage(const ParamError& error);

// How a Run() names the action's params in its kInvalidArgument message: as
// "params" (sqlite, postgres, dynamodb, file, json_store: "invalid
// params/tables: ...") or as the action itself (command, http, notify, which
// serve one action: "invalid http action: /expect_status: ..."). Both are kept
// as their users already see them.
enum class ParamsNoun { kParams, kAction };

// "invalid params/copy/from: message; target/root: message": the message of the
// kInvalidArgument a Run() returns when its params fail the run-time check.
// With ParamsNoun::kAction and `action` "http": "invalid http action:
// /expect_status: message; target/base_url: message".
std::string DescribeErrors(const std::vector<ParamError>& errors,
                           ParamsNoun noun = ParamsNoun::kParams, std::string_view action = {});

namespace detail {
void CheckList(Checker& checker, const nlohmann::json& value, const std::string& pointer,
               std::span<const std::string_view> kinds,
               const std::function<void(std::size_t kind, const nlohmann::json& value,
                                        const std::string& pointer)>& check);
}  // namespace detail

template <typename Kind, std::size_t N>
void CheckList(Checker& checker, const nlohmann::json& value, const std::string& pointer,
               const std::string_view (&kinds)[N],
               void (*check)(Checker& checker, Kind kind, const nlohmann::json& value,
                             const std::string& pointer)) {
  detail::CheckList(checker, value, pointer, kinds,
                    [&](std::size_t kind, const nlohmann::json& item, const std::string& at) {
                      check(checker, static_cast<Kind>(kind), item, at);
                    });
}

}  // namespace backout::adapters::common
