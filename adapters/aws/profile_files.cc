#include "adapters/aws/profile_files.h"

#include <fmt/format.h>

#include <utility>

#include "base/file_util.h"

namespace backout::adapters::aws {
namespace {

using nlohmann::json;

// The sections of the file at `path`; none when it does not exist.
Result<std::map<std::string, IniSection>> ReadIniFile(const std::filesystem::path& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    if (text.status().code() == Code::kNotFound) return std::map<std::string, IniSection>{};
    return Status::IOError(fmt::format("cannot read the AWS shared file {}: {}", path.string(),
                                       text.status().message()));
  }
  return ParseIni(*text);
}

// The AWS file named by `variable`, else ~/.aws/`default_name`.
std::filesystem::path SharedFile(Env& env, const std::string& variable, const char* default_name) {
  if (std::optional<std::string> path = NonEmptyVar(env, variable)) return ExpandHome(*path, env);
  return ExpandHome(fmt::format("~/.aws/{}", default_name), env);
}

}  // namespace

std::optional<std::string> NonEmptyVar(Env& env, const std::string& name) {
  std::optional<std::string> value = env.GetVar(name);
  if (value.has_value() && value->empty()) return std::nullopt;
  return value;
}

std::string_view TrimWhitespace(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

std::map<std::string, IniSection> ParseIni(std::string_view text) {
  std::map<std::string, IniSection> sections;
  IniSection* current = nullptr;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::string_view line = TrimWhitespace(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      current = &sections[std::string(TrimWhitespace(line.substr(1, line.size() - 2)))];
      continue;
    }
    const bool indented = raw.front() == ' ' || raw.front() == '\t';
    const std::size_t eq = line.find('=');
    if (current == nullptr || indented || eq == std::string_view::npos) continue;
    (*current)[std::string(TrimWhitespace(line.substr(0, eq)))] =
        std::string(TrimWhitespace(line.substr(eq + 1)));
  }
  return sections;
}

std::optional<std::string> Profile::Get(const std::string& key) const {
  const auto it = settings.find(key);
  if (it == settings.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

std::filesystem::path ExpandHome(const std::string& path, Env& env) {
  if (path.starts_with("~/")) {
    if (std::optional<std::string> home = NonEmptyVar(env, "HOME")) {
      return std::filesystem::path(*home) / path.substr(2);
    }
  }
  return path;
}

Result<Profile> LoadProfile(const json& target, Env& env) {
  Profile profile;
  profile.name = "default";
  if (const auto it = target.find("profile"); it != target.end() && it->is_string()) {
    profile.name = it->get<std::string>();
    profile.chosen = true;
  } else {
    for (const char* variable : {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}) {
      if (std::optional<std::string> name = NonEmptyVar(env, variable)) {
        profile.name = *name;
        profile.chosen = true;
        break;
      }
    }
  }
  profile.credentials_file = SharedFile(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
  profile.config_file = SharedFile(env, "AWS_CONFIG_FILE", "config");

  Result<std::map<std::string, IniSection>> config = ReadIniFile(profile.config_file);
  if (!config.ok()) return config.status();
  Result<std::map<std::string, IniSection>> credentials = ReadIniFile(profile.credentials_file);
  if (!credentials.ok()) return credentials.status();

  bool found = false;
  const auto overlay = [&](const std::map<std::string, IniSection>& sections,
                           const std::string& header, const std::filesystem::path& file) {
    const auto it = sections.find(header);
    if (it == sections.end()) return;
    found = true;
    for (const auto& [key, value] : it->second) {
      profile.settings[key] = value;
      profile.origin[key] = file;
    }
  };
  // The config file names a profile `[profile NAME]`, except the default, which is
  // `[default]` (the AWS CLI also accepts `[profile default]`).
  if (profile.name == "default") overlay(*config, "default", profile.config_file);
  overlay(*config, "profile " + profile.name, profile.config_file);
  overlay(*credentials, profile.name, profile.credentials_file);

  constexpr std::string_view kSsoSession = "sso-session ";
  for (auto& [header, section] : *config) {
    if (header.starts_with(kSsoSession)) {
      profile.sso_sessions[std::string(TrimWhitespace(
          std::string_view(header).substr(kSsoSession.size())))] = std::move(section);
    }
  }
  if (!found && profile.chosen) {
    return Status::FailedPrecondition(fmt::format("the AWS profile '{}' is in neither {} nor {}",
                                                  profile.name, profile.credentials_file.string(),
                                                  profile.config_file.string()));
  }
  return profile;
}

}  // namespace backout::adapters::aws
