#include "adapters/vocabulary.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace backout::adapters {

bool HasType(const nlohmann::json& value, JsonTypes types) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return (types & kNull) != 0;
    case nlohmann::json::value_t::boolean:
      return (types & kBoolean) != 0;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return (types & (kInteger | kNumber)) != 0;
    case nlohmann::json::value_t::number_float:
      return (types & kNumber) != 0;
    case nlohmann::json::value_t::string:
      return (types & kString) != 0;
    case nlohmann::json::value_t::array:
      return (types & kArray) != 0;
    case nlohmann::json::value_t::object:
      return (types & kObject) != 0;
    default:
      return false;  // binary and discarded values are never produced
  }
}

std::string DescribeTypes(JsonTypes types) {
  static constexpr std::pair<JsonType, std::string_view> kNames[] = {
      {kNull, "null"},     {kBoolean, "boolean"}, {kInteger, "integer"}, {kNumber, "number"},
      {kString, "string"}, {kArray, "array"},     {kObject, "object"}};
  if (types == kAnyJson) return "any";
  std::vector<std::string_view> names;
  for (const auto& [type, name] : kNames) {
    if ((types & type) != 0) names.push_back(name);
  }
  return fmt::format("{}", fmt::join(names, " or "));
}

bool ActionSpec::Takes(std::string_view param) const {
  return std::any_of(params.begin(), params.end(),
                     [&](const ParamSpec& p) { return p.name == param; });
}

const ActionSpec* AdapterVocabulary::Find(std::string_view action) const {
  for (const ActionSpec& spec : actions) {
    if (spec.name == action) return &spec;
  }
  return nullptr;
}

std::vector<std::string_view> AdapterVocabulary::ActionNames() const {
  std::vector<std::string_view> names;
  for (const ActionSpec& spec : actions) names.push_back(spec.name);
  return names;
}

ActionSpec VerifyAction(std::vector<ParamSpec> more_params) {
  std::vector<ParamSpec> params = {{"checks", kArray, true}};
  params.insert(params.end(), more_params.begin(), more_params.end());
  return {.name = "verify",
          .params = std::move(params),
          .outputs = {{"checks", kArray}, {"passed", kInteger}, {"failed", kInteger}},
          .read_only = true,
          .idempotent = true};
}

ActionSpec SqlQueryAction() {
  constexpr JsonTypes kScalar = kNull | kBoolean | kNumber | kString;
  return {.name = "query",
          .params = {{"sql", kString, true}, {"expect", kScalar}},
          .outputs = {{"value", kScalar}},
          .read_only = true,
          .idempotent = true};
}

std::vector<std::string> UndeclaredOutputs(const AdapterVocabulary& vocabulary,
                                           std::string_view action,
                                           const nlohmann::json& outputs) {
  const ActionSpec* spec = vocabulary.Find(action);
  if (spec == nullptr) {
    return {fmt::format("{} declares no action '{}'", vocabulary.type, action)};
  }
  std::vector<std::string> problems;
  if (!outputs.is_object()) return {"outputs: not an object"};
  for (const auto& [key, value] : outputs.items()) {
    const OutputSpec* declared = nullptr;
    for (const OutputSpec& output : spec->outputs) {
      if (output.name == key) declared = &output;
    }
    if (declared == nullptr) {
      problems.push_back(fmt::format("outputs/{}: not declared by {} {}", key, vocabulary.type,
                                     action));
    } else if (!HasType(value, declared->type)) {
      problems.push_back(fmt::format("outputs/{}: declared {}, produced {}", key,
                                     DescribeTypes(declared->type), value.type_name()));
    }
  }
  return problems;
}

}  // namespace backout::adapters
