// Shared by the adapters that read and write files: where a plan's paths lead,
// and the naming and checking of backups.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "adapters/adapter.h"
#include "base/status.h"

namespace backout::adapters::common {

// `path` from a plan made absolute against `base_dir` (the plan's directory; an
// absolute `path` stays as it is) and lexically normal; "backups/" names the
// directory itself. Without a working directory the path is kept as joined.
std::filesystem::path ResolvePath(const std::filesystem::path& base_dir, const std::string& path);

// kIOError "WHAT PATH: <strerror(errno)>", for a failed POSIX call on `path`.
Status ErrnoError(std::string_view what, const std::filesystem::path& path);

// The name of a backup made by this step attempt, "STEM-<UTC
// time>-STEP-aATTEMPTEXTENSION"
// ("app-20240501T101500Z-backup-db-a1.db"): a new name for every attempt.
std::string BackupName(std::string_view stem, const Invocation& invocation,
                       std::string_view extension = "");

// Where a backup file goes, for the `to` of a backup action. When `to` ends with '/' or names
// an existing directory: a file in it named BackupName(stem, invocation, extension), so every
// backup is a new file. Otherwise `to` itself. Creates missing directories (mode 0700).
Result<std::filesystem::path> BackupFilePath(const Invocation& invocation, const std::string& to,
                                             std::string_view stem, std::string_view extension);

// OK unless `spec` records a "sha256" (a validated digest) other than `sha256`,
// the digest of what is there now: then kExpectationFailed "SUBJECT changed
// since it was taken (sha256 NOW expected RECORDED)".
Status CheckRecordedDigest(const nlohmann::json& spec, std::string_view subject,
                           const std::string& sha256);

}  // namespace backout::adapters::common
