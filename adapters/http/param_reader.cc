#include "adapters/http/param_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <strings.h>

#include "base/time.h"

namespace backout::adapters::http {

using nlohmann::json;

void ParamReader::Problem(const Place& place, std::string message) {
  errors_.push_back({place.pointer.to_string(), std::move(message), place.in_target});
}

bool ParamReader::IsReference(const json& value) const {
  return references_ == References::kUnresolved && value.is_string() &&
         value.get_ref<const std::string&>().find("${") != std::string::npos;
}

bool ParamReader::Mapping(const json& value, const Place& place,
                          std::initializer_list<std::string_view> known) {
  if (!value.is_object()) {
    Problem(place, "expected a mapping");
    return false;
  }
  for (const auto& [key, item] : value.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      Problem(place / key,
              fmt::format("unknown key '{}' (expected one of: {})", key, fmt::join(known, ", ")));
    }
  }
  return true;
}

std::optional<std::string> ParamReader::Text(const json& value, const Place& place) {
  if (!value.is_string()) {
    // Numbers are refused rather than turned into text: YAML has already changed their
    // spelling (`010` is 10).
    Problem(place, value.is_number() ? "expected a string (quote the number)" : "expected a string");
    return std::nullopt;
  }
  const std::string& text = value.get_ref<const std::string&>();
  if (text.find('\0') != std::string::npos) {
    Problem(place, "must not contain a NUL character");
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> ParamReader::NonEmptyText(const json& value, const Place& place) {
  std::optional<std::string> text = Text(value, place);
  if (text && text->empty()) {
    Problem(place, "must not be empty");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> ParamReader::Flag(const json& value, const Place& place) {
  if (value.is_boolean()) return value.get<bool>();
  if (IsReference(value)) return std::nullopt;
  if (value.is_string() && (value == "true" || value == "false")) return value == "true";
  Problem(place, "expected true or false");
  return std::nullopt;
}

std::optional<std::int64_t> ParamReader::Integer(const json& value, const Place& place) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (IsReference(value)) return std::nullopt;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    std::int64_t n = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (!text.empty() && error == std::errc() && end == text.data() + text.size()) return n;
  }
  Problem(place, "expected an integer");
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> ParamReader::Duration(const json& value,
                                                               const Place& place) {
  if (IsReference(value)) return std::nullopt;
  if (value.is_string()) {
    Result<std::chrono::milliseconds> parsed = ParseDuration(value.get_ref<const std::string&>());
    if (parsed.ok() && parsed->count() > 0) return *parsed;
  }
  Problem(place, "expected a duration greater than zero, such as 2s, 500ms or 1m30s");
  return std::nullopt;
}

std::optional<std::string> ParamReader::Url(const json& value, const Place& place) {
  if (IsReference(value)) return std::nullopt;
  std::optional<std::string> text = Text(value, place);
  if (!text) return std::nullopt;
  if (strncasecmp(text->c_str(), "http://", 7) != 0 &&
      strncasecmp(text->c_str(), "https://", 8) != 0) {
    Problem(place, "expected an http:// or https:// URL");
    return std::nullopt;
  }
  return text;
}

std::string DescribeErrors(const std::vector<ParamError>& errors) {
  std::vector<std::string> problems;
  for (const ParamError& error : errors) {
    const std::string where = (error.in_target ? "target config " : "") + error.pointer;
    problems.push_back(where.empty() ? error.message : fmt::format("{}: {}", where, error.message));
  }
  return fmt::format("{}", fmt::join(problems, "; "));
}

}  // namespace backout::adapters::http
