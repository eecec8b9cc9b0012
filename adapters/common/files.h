// Shared by the adapters that read and write files: where a plan's paths lead,
// and the naming and checking of backups.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "adapters/adapter.h"
#include "base/sha256.h"
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

// A file written front to back that appears complete or not at all, hashed on the way: the
// bytes go to a new file CreateExclusiveFile(PATH, `temp_suffix`) (mode 0600, an unpredictable
// name, never an existing file or link; one left by an attempt that crashed stays as
// garbage), whose writeback starts as it grows; Commit() fsyncs it, renames it over PATH and
// fsyncs the folder. Destroyed before Commit() succeeds, it removes the temp file. For exports
// and backups too large to hold in memory, which WriteFileAtomically would need.
class StreamedFile {
 public:
  StreamedFile(std::filesystem::path path, std::string_view temp_suffix);
  ~StreamedFile();
  StreamedFile(const StreamedFile&) = delete;
  StreamedFile& operator=(const StreamedFile&) = delete;

  Status Open();
  Status Append(std::string_view bytes);
  // The size and SHA-256 of everything appended, once the file is durable under PATH.
  Result<FileDigest> Commit();

 private:
  std::filesystem::path path_;
  std::string temp_suffix_;
  std::filesystem::path temp_;  // set by Open()
  int fd_ = -1;
  bool committed_ = false;
  Sha256Stream hash_;
  std::uint64_t bytes_ = 0;
  std::uint64_t written_back_ = 0;  // StartWritebackAsItGrows's mark
};

}  // namespace backout::adapters::common
