// File preflight (Adapter::Preflight): the target's root is a folder; the file an operation
// reads exists (and matches a restore's sha256); the folder of the file it writes takes it.
#include <sys/stat.h>

#include <string>

#include <fmt/format.h>

#include "adapters/common/files.h"
#include "adapters/common/preflight.h"
#include "adapters/file/file_adapter.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;

std::uint64_t SizeOf(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// A read of `from` and a write of `to` (copy, restore), both inside `root`.
void CheckCopy(const fs::path& root, const nlohmann::json& spec, std::string_view operation,
               std::optional<std::string> sha256, std::vector<PreflightFinding>& findings) {
  const std::optional<std::string> from = common::KnownString(spec, "from");
  const std::optional<std::string> to = common::KnownString(spec, "to");
  if (from) {
    findings.push_back(
        common::CheckSourceFile(root, *from, sha256, fmt::format("{} source", operation)));
  }
  if (to) {
    findings.push_back(common::CheckDestination(root, *to, from ? SizeOf(root / *from) : 0,
                                                fmt::format("{} destination", operation)));
  }
}

}  // namespace

std::vector<PreflightFinding> FilePreflight(const PreflightRequest& request) {
  const std::optional<std::string> root_as_written =
      request.target.contains("root") ? common::KnownString(request.target, "root")
                                      : std::optional<std::string>(".");
  if (!root_as_written || !request.params.is_object()) return {};
  const fs::path root = common::ResolvePath(request.base_dir, *root_as_written);
  PreflightFinding folder{.check = fmt::format("file target root {}", *root_as_written),
                          .status = {}};
  std::error_code error;
  if (!fs::is_directory(root, error)) {
    folder.status = Status::NotFound(
        fmt::format("file target root {} is not a directory ({})", *root_as_written,
                    root.string()));
    return {folder};
  }
  std::vector<PreflightFinding> findings{folder};
  if (const auto copy = request.params.find("copy"); copy != request.params.end()) {
    CheckCopy(root, *copy, "copy", std::nullopt, findings);
  } else if (const auto restore = request.params.find("restore");
             restore != request.params.end()) {
    CheckCopy(root, *restore, "restore", common::KnownString(*restore, "sha256"), findings);
  } else {
    for (const char* edit : {"set_env", "unset_env"}) {
      const auto spec = request.params.find(edit);
      if (spec == request.params.end()) continue;
      if (const std::optional<std::string> path = common::KnownString(*spec, "path")) {
        findings.push_back(common::CheckSourceFile(root, *path, std::nullopt, "env file"));
        findings.push_back(
            common::CheckDestination(root, *path, SizeOf(root / *path), "rewrite of env file"));
      }
    }
  }
  return findings;
}

}  // namespace backout::adapters
