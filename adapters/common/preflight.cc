#include "adapters/common/preflight.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "adapters/common/files.h"
#include "base/sha256.h"

namespace backout::adapters::common {

namespace fs = std::filesystem;

bool KnownOnlyAtRunTime(std::string_view value) {
  return value.find("${steps.") != std::string_view::npos;
}

std::optional<std::string> KnownString(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty() || KnownOnlyAtRunTime(value)) return std::nullopt;
  return value;
}

PreflightFinding CheckRestoreSource(const fs::path& base_dir, const std::string& from,
                                    const std::optional<std::string>& expected_sha256) {
  PreflightFinding finding{.check = fmt::format("restore source {}", from), .status = {}};
  const fs::path path = ResolvePath(base_dir, from);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    finding.status = errno == ENOENT
                         ? Status::NotFound(fmt::format("restore source {} does not exist", from))
                         : ErrnoError("restore source", path);
    return finding;
  }
  if (!S_ISREG(st.st_mode)) {
    finding.status = Status::FailedPrecondition(
        fmt::format("restore source {} is not a regular file", from));
    return finding;
  }
  if (::access(path.c_str(), R_OK) != 0) {
    finding.status = ErrnoError("restore source", path);
    return finding;
  }
  finding.check += fmt::format(" ({} bytes", st.st_size);
  if (expected_sha256) {
    Result<FileDigest> digest = Sha256File(path);
    if (!digest.ok()) {
      finding.status = digest.status();
      return finding;
    }
    if (digest->sha256_hex != *expected_sha256) {
      finding.status = Status::ExpectationFailed(fmt::format(
          "restore source {} has sha256 {}, the plan expects {}", from, digest->sha256_hex,
          *expected_sha256));
      return finding;
    }
    finding.check += ", sha256 matches";
  }
  finding.check += ")";
  return finding;
}

PreflightFinding CheckBackupDestination(const fs::path& base_dir, const std::string& to,
                                        std::uint64_t bytes_needed) {
  PreflightFinding finding{.check = fmt::format("backup destination {}", to), .status = {}};
  const fs::path resolved = ResolvePath(base_dir, to);
  std::error_code ignored;  // "cannot tell" counts as "not a folder", as BackupFilePath does
  fs::path folder = to.ends_with('/') || fs::is_directory(resolved, ignored)
                        ? resolved
                        : resolved.parent_path();
  // Missing folders are created by the backup: the nearest existing one must take them.
  while (!folder.empty() && !fs::exists(folder, ignored) && folder != folder.parent_path()) {
    folder = folder.parent_path();
  }
  if (::access(folder.c_str(), W_OK | X_OK) != 0) {
    finding.status = ErrnoError("backup destination", folder);
    return finding;
  }
  struct statvfs vfs {};
  if (::statvfs(folder.c_str(), &vfs) != 0) {
    finding.status = ErrnoError("backup destination", folder);
    return finding;
  }
  const std::uint64_t available = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (available < bytes_needed) {
    finding.status = Status::FailedPrecondition(fmt::format(
        "backup destination {} has {} bytes free, the backup needs about {}", to, available,
        bytes_needed));
    return finding;
  }
  finding.check += fmt::format(" (writable, {} bytes free, about {} needed)", available,
                               bytes_needed);
  return finding;
}

std::vector<PreflightFinding> PreflightValidated(
    const PreflightRequest& request, InvocationValidator validate,
    const std::function<std::vector<PreflightFinding>()>& check) {
  try {
    if (const std::vector<ParamError> errors = validate(request.action, request.target,
                                                        request.params, References::kUnresolved);
        !errors.empty()) {
      return {PreflightFinding{
          .check = "parameters",
          .status = Status::InvalidArgument(DescribeErrors(errors, ParamsNoun::kParams,
                                                           request.action))}};
    }
    return check();
  } catch (const std::exception& e) {
    return {PreflightFinding{
        .check = "preflight",
        .status = Status::IOError(
            fmt::format("{}: unexpected error in preflight: {}", request.action, e.what()))}};
  }
}

}  // namespace backout::adapters::common
