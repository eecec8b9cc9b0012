// The AWS shared files as the AWS CLI reads them: the credentials file
// (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials, sections `[NAME]`) and the config file
// (AWS_CONFIG_FILE, else ~/.aws/config, sections `[default]`, `[profile NAME]` and
// `[sso-session NAME]`), and which profile applies: the target's `profile`, else AWS_PROFILE,
// else AWS_DEFAULT_PROFILE, else "default".
//
// Secrets: the files may hold keys; messages name files, profiles and keys, never values.
//
// Thread safety: free functions over the Env they are given; they read the files anew on
// every call.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/status.h"

namespace backout::adapters::aws {

// key -> value of one INI section.
using IniSection = std::map<std::string, std::string>;

// The sections of INI text, by their header as written between the brackets (trimmed).
// `key = value` lines (both trimmed); `#` and `;` start a comment line; an indented line
// belongs to a nested block (`s3 =` followed by indented settings) and is skipped; a key
// repeated in a section keeps its last value; a repeated section merges.
std::map<std::string, IniSection> ParseIni(std::string_view text);

// The profile a target uses, with its settings from both files.
struct Profile {
  std::string name;
  // Whether the name was chosen (target `profile` or AWS_PROFILE/AWS_DEFAULT_PROFILE) rather
  // than defaulted: a chosen profile that neither file has is an error.
  bool chosen = false;
  std::filesystem::path credentials_file;
  std::filesystem::path config_file;
  // Its settings: the config file's section overlaid with the credentials file's (the
  // credentials file wins, as in the AWS CLI). Empty when neither file has the profile.
  IniSection settings;
  // Which of the two files gave each key (for messages that name where a setting is).
  std::map<std::string, std::filesystem::path> origin;
  // The config file's `[sso-session NAME]` sections, by NAME.
  std::map<std::string, IniSection> sso_sessions;

  // The setting `key`, if present and not empty.
  std::optional<std::string> Get(const std::string& key) const;
};

// Reads both files for the profile `target` (its optional string key `profile`) and `env`
// choose. A missing file counts as empty; an unreadable one is kIOError; a chosen profile
// that neither file has is kFailedPrecondition naming the profile and both files.
Result<Profile> LoadProfile(const nlohmann::json& target, Env& env);

// The variable `name` of `env`; none when unset or empty (the AWS tools treat both alike).
std::optional<std::string> NonEmptyVar(Env& env, const std::string& name);

// `text` without leading and trailing spaces, tabs and line breaks.
std::string_view TrimWhitespace(std::string_view text);

// `path` with a leading "~/" replaced by HOME from `env` (as the AWS CLI expands it).
std::filesystem::path ExpandHome(const std::string& path, Env& env);

}  // namespace backout::adapters::aws
