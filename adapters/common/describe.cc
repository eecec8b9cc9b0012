#include "adapters/common/describe.h"

#include <set>
#include <string>

#include "adapters/common/files.h"
#include "adapters/common/preflight.h"
#include "base/file_util.h"
#include "base/sha256.h"

namespace backout::adapters {

nlohmann::json Adapter::Describe(const DescribeRequest& request) const {
  nlohmann::json description = common::ActionDescription(vocabulary(), request.action);
  common::AddAllParams(description, request);
  return description;
}

namespace common {
namespace {

using nlohmann::json;

// The string parameter `name` as written and as expanded; nullopt when absent or no string.
std::optional<std::pair<std::string, std::string>> StringParam(const DescribeRequest& request,
                                                               std::string_view name) {
  const auto written = request.params.find(name);
  const auto expanded = request.expanded_params.find(name);
  if (written == request.params.end() || !written->is_string()) return std::nullopt;
  std::string expanded_text = expanded != request.expanded_params.end() && expanded->is_string()
                                  ? expanded->get<std::string>()
                                  : written->get<std::string>();
  return std::make_pair(written->get<std::string>(), std::move(expanded_text));
}

}  // namespace

json ActionDescription(const AdapterVocabulary& vocabulary, std::string_view action) {
  const ActionSpec* spec = vocabulary.Find(action);
  const bool read_only = spec != nullptr && spec->read_only;
  return json{{"effect", read_only ? kReadsOnly : kChangesTarget},
              {"idempotent", spec != nullptr && spec->idempotent},
              {"locks", json::array()},
              {"details", json::array()}};
}

void AddDetail(json& description, std::string_view label, json value) {
  description["details"].push_back(json{{"label", label}, {"value", std::move(value)}});
}

void AddLock(json& description, std::string lock) {
  description["locks"].push_back(std::move(lock));
}

void AddParam(json& description, const DescribeRequest& request, std::string_view name,
              std::string_view label) {
  const auto it = request.params.find(name);
  if (it == request.params.end()) return;
  AddDetail(description, label.empty() ? name : label, *it);
}

void AddMappingNames(json& description, const DescribeRequest& request, std::string_view name,
                     std::string_view label) {
  std::set<std::string> names;
  for (const json* config : {&request.target, &request.params}) {
    if (const auto it = config->find(name); it != config->end() && it->is_object()) {
      for (const auto& [key, value] : it->items()) names.insert(key);
    }
  }
  if (!names.empty()) AddDetail(description, label, names);
}

void AddAllParams(json& description, const DescribeRequest& request) {
  if (!request.params.is_object()) return;
  for (const auto& [name, value] : request.params.items()) {
    if (name != "target") AddDetail(description, name, value);
  }
}

void AddSqlStatements(json& description, const DescribeRequest& request) {
  AddParam(description, request, "script", "sql");
  const std::optional<std::pair<std::string, std::string>> file = StringParam(request, "file");
  if (!file) return;
  AddDetail(description, "file", file->first);
  if (KnownOnlyAtRunTime(file->second)) return;  // the preview says where it comes from
  Result<std::string> text = ReadFileToString(ResolvePath(request.base_dir, file->second));
  if (!text.ok()) {
    AddDetail(description, "sql", json{{"unreadable", text.status().message()}});
    return;
  }
  AddDetail(description, "sql", std::move(text).value());
}

json SourceFile(const std::filesystem::path& base_dir, const std::string& written,
                const std::string& expanded, const std::optional<std::string>& expected_sha256) {
  json source{{"path", written}};
  if (expected_sha256) source["expected_sha256"] = *expected_sha256;
  if (KnownOnlyAtRunTime(expanded)) {
    source["known_at_run_time"] = true;
    return source;
  }
  const std::filesystem::path path = ResolvePath(base_dir, expanded);
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    source["unreadable"] = "no such file (yet)";
    return source;
  }
  Result<FileDigest> digest = Sha256File(path);
  if (!digest.ok()) {
    source["unreadable"] = digest.status().message();
    return source;
  }
  source["bytes"] = digest->bytes;
  source["sha256"] = digest->sha256_hex;
  if (expected_sha256) source["sha256_matches"] = digest->sha256_hex == *expected_sha256;
  return source;
}

void AddSourceFile(json& description, const DescribeRequest& request, std::string_view name,
                   std::string_view label) {
  const std::optional<std::pair<std::string, std::string>> from = StringParam(request, name);
  if (!from) return;
  std::optional<std::string> expected;
  if (std::optional<std::pair<std::string, std::string>> sha = StringParam(request, "sha256")) {
    expected = sha->first;
  }
  AddDetail(description, label, SourceFile(request.base_dir, from->first, from->second, expected));
}

void AddVerifyChecks(json& description, const DescribeRequest& request) {
  const auto checks = request.params.find("checks");
  if (checks == request.params.end() || !checks->is_array()) {
    AddParam(description, request, "checks");
    return;
  }
  for (const json& check : *checks) AddDetail(description, "check", check);
}

void AddSqlQuery(json& description, const DescribeRequest& request) {
  AddParam(description, request, "sql");
  AddParam(description, request, "expect");
}

}  // namespace common
}  // namespace backout::adapters
