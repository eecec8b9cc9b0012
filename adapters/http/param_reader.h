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

}  // namespace backout::adapters::http
