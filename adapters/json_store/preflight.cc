// json_store preflight (Adapter::Preflight): the store is a readable folder (and its parent
// writable, for a restore, which renames the new folder into place); a restore's source
// folder exists; a backup's destination takes the store's current size.
#include <unistd.h>

#include <string>

#include <fmt/format.h>

#include "adapters/common/files.h"
#include "adapters/common/preflight.h"
#include "adapters/json_store/json_store_adapter.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;

// The bytes of every regular file below `folder` (0 for what cannot be read).
std::uint64_t TreeSize(const fs::path& folder) {
  std::uint64_t bytes = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code ignored;
    if (it->is_regular_file(ignored)) bytes += it->file_size(ignored);
  }
  return bytes;
}

// A folder that is there and can be read (`what` and `as_written` name it).
PreflightFinding CheckFolder(const fs::path& folder, const std::string& as_written,
                             std::string_view what) {
  PreflightFinding finding{.check = fmt::format("{} {}", what, as_written), .status = {}};
  std::error_code error;
  if (!fs::is_directory(folder, error)) {
    finding.status = Status::NotFound(
        fmt::format("{} {} is not a folder ({})", what, as_written, folder.string()));
  } else if (::access(folder.c_str(), R_OK | X_OK) != 0) {
    finding.status = common::ErrnoError(what, folder);
  }
  return finding;
}

}  // namespace

std::vector<PreflightFinding> JsonStorePreflight(const PreflightRequest& request) {
  const std::optional<std::string> store_as_written = common::KnownString(request.target, "path");
  if (!store_as_written) return {};
  const fs::path store = common::ResolvePath(request.base_dir, *store_as_written);
  std::vector<PreflightFinding> findings{CheckFolder(store, *store_as_written, "json store")};
  if (!findings.front().status.ok()) return findings;
  if (request.action == "restore") {
    const fs::path parent = store.lexically_normal().parent_path();
    if (::access(parent.c_str(), W_OK | X_OK) != 0) {
      findings.push_back({fmt::format("json store {} replaceable", *store_as_written),
                          common::ErrnoError("json store's folder", parent)});
    }
    if (const std::optional<std::string> from = common::KnownString(request.params, "from")) {
      findings.push_back(
          CheckFolder(common::ResolvePath(request.base_dir, *from), *from, "restore source"));
    }
  } else if (request.action == "backup") {
    if (const std::optional<std::string> to = common::KnownString(request.params, "to")) {
      findings.push_back(common::CheckBackupDestination(request.base_dir, *to, TreeSize(store)));
    }
  }
  return findings;
}

}  // namespace backout::adapters
