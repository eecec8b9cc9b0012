// Internal to the http and notify adapters: reads a target's config and an action's params
// into typed values, collecting every problem as a ParamError with its JSON pointer, so that
// Validate (plan time) and Run (after `${...}` expansion) check with the same code.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"

namespace backout::adapters::http {

enum class References {
  // Plan time: a string holding "${" stands for a value known only at run time and is
  // accepted wherever a value goes (its typed reader returns nullopt, with no problem).
  kUnresolved,
  // Run time: every reference has been expanded; each value must have its final type.
  kResolved,
};

// Where a value sits: a pointer into the target's config or into the action's params.
struct Place {
  nlohmann::json::json_pointer pointer;
  bool in_target = false;

  Place operator/(std::string_view key) const {
    return {pointer / std::string(key), in_target};
  }
  Place operator/(std::size_t index) const { return {pointer / index, in_target}; }
};

// The typed readers return nullopt when the value is wrong (a problem is recorded) or, with
// kUnresolved, when it is a `${...}` string standing for a value of another type.
class ParamReader {
 public:
  explicit ParamReader(References references) : references_(references) {}

  // Plan time: the `${...}` references are not expanded yet.
  bool unresolved() const { return references_ == References::kUnresolved; }

  void Problem(const Place& place, std::string message);
  const std::vector<ParamError>& errors() const { return errors_; }
  std::vector<ParamError> TakeErrors() { return std::move(errors_); }

  // A string that still holds `${` (only with kUnresolved).
  bool IsReference(const nlohmann::json& value) const;

  // A mapping whose keys are all `known`; an unknown key is a problem at that key.
  bool Mapping(const nlohmann::json& value, const Place& place,
               std::initializer_list<std::string_view> known);

  std::optional<std::string> Text(const nlohmann::json& value, const Place& place);
  std::optional<std::string> NonEmptyText(const nlohmann::json& value, const Place& place);
  // true/false, or "true"/"false" (what expanding a `${VAR}` gives).
  std::optional<bool> Flag(const nlohmann::json& value, const Place& place);
  // An integer, or a string of decimal digits.
  std::optional<std::int64_t> Integer(const nlohmann::json& value, const Place& place);
  // A plan duration ("2s", "500ms", "1m30s") greater than zero.
  std::optional<std::chrono::milliseconds> Duration(const nlohmann::json& value,
                                                    const Place& place);
  // An http:// or https:// URL.
  std::optional<std::string> Url(const nlohmann::json& value, const Place& place);

 private:
  References references_;
  std::vector<ParamError> errors_;
};

// "target config /headers/X: expected a string", or "/path: ..." for the action's params.
std::string DescribeErrors(const std::vector<ParamError>& errors);

// The frame of Validate() and Run() for an adapter that serves the one action `served` (its
// type's name: "http", "notify"). `read(target, params, reader)` reads the invocation into
// the action's typed value, recording its problems; `unsupported(action)` is the message
// for any other action.
template <typename Read>
std::vector<ParamError> ValidateOneAction(std::string_view action, const nlohmann::json& target,
                                          const nlohmann::json& params, std::string_view served,
                                          std::string (*unsupported)(std::string_view),
                                          Read read) {
  if (action != served) return {ParamError{"", unsupported(action), false}};
  ParamReader reader(References::kUnresolved);
  read(target, params, reader);
  return reader.TakeErrors();
}

// Reads the expanded invocation and runs `act(value)` on what `read` returned; a problem
// left after expansion is kInvalidArgument "invalid SERVED action: ..." and runs nothing.
template <typename Read, typename Act>
Outcome RunOneAction(const Invocation& invocation, std::string_view served,
                     std::string (*unsupported)(std::string_view), Read read, Act act) {
  if (invocation.action != served) {
    return {Status::InvalidArgument(unsupported(invocation.action))};
  }
  ParamReader reader(References::kResolved);
  const auto value = read(invocation.target, invocation.params, reader);
  if (!reader.errors().empty()) {
    return {Status::InvalidArgument(
        "invalid " + std::string(served) + " action: " + DescribeErrors(reader.errors()))};
  }
  return act(value);
}

}  // namespace backout::adapters::http
