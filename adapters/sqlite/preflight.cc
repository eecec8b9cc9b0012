// SQLite preflight (Adapter::Preflight): the database file is there, can be read (and written,
// for the actions that write) and is not locked by another process; a restore's source exists
// and matches its sha256; a backup's destination takes the database's current size.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <fmt/format.h>

#include "adapters/common/files.h"
#include "adapters/common/preflight.h"
#include "adapters/common/stop.h"
#include "adapters/sqlite/connection.h"
#include "adapters/sqlite/params.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace backout::adapters {
namespace {

using sqlite::Action;

bool Writes(Action action) { return action == Action::kSql || action == Action::kRestore; }

// Present, readable (and writable when `write`), and not locked: a transaction is begun and
// rolled back at once, without waiting (busy timeout 0). A write action takes the RESERVED
// lock (BEGIN IMMEDIATE: refused while another connection writes or holds BEGIN EXCLUSIVE), a
// read action the SHARED lock. Nothing is written.
PreflightFinding CheckDatabase(const std::filesystem::path& database, const std::string& as_written,
                               bool write, const PreflightRequest& request) {
  PreflightFinding finding{
      .check = fmt::format("sqlite database {} (present, readable{}, not locked)", as_written,
                           write ? ", writable" : ""),
      .status = {}};
  const common::StopCondition stop(request.cancel, std::chrono::milliseconds(0),
                                   common::kPlainStopWording, request.env);
  Result<std::unique_ptr<sqlite::Connection>> connection = sqlite::Connection::Open(
      database, write ? sqlite::AccessMode::kReadWrite : sqlite::AccessMode::kReadOnly,
      std::chrono::milliseconds(0), stop);
  if (!connection.ok()) {
    finding.status = connection.status();
    return finding;
  }
  // SQLite opens a file it may not write read-write and only fails at the first write.
  if (::access(database.c_str(), write ? R_OK | W_OK : R_OK) != 0) {
    finding.status = common::ErrnoError(
        write ? "sqlite database (read and write)" : "sqlite database (read)", database);
    return finding;
  }
  sqlite::Connection& db = **connection;
  const std::string probe = write ? "BEGIN IMMEDIATE" : "BEGIN; SELECT count(*) FROM sqlite_master";
  finding.status = db.Exec(probe, "lock check");
  db.Rollback();
  return finding;
}

}  // namespace

std::vector<PreflightFinding> SqlitePreflight(const PreflightRequest& request) {
  const std::optional<Action> action = sqlite::ParseAction(request.action);
  const std::optional<std::string> path = common::KnownString(request.target, "path");
  if (!action || !path) return {};
  const std::filesystem::path database = common::ResolvePath(request.base_dir, *path);
  std::vector<PreflightFinding> findings{CheckDatabase(database, *path, Writes(*action), request)};
  if (*action == Action::kRestore) {
    if (const std::optional<std::string> from = common::KnownString(request.params, "from")) {
      findings.push_back(common::CheckRestoreSource(
          request.base_dir, *from, common::KnownString(request.params, "sha256")));
    }
  }
  if (*action == Action::kBackup) {
    if (const std::optional<std::string> to = common::KnownString(request.params, "to")) {
      struct stat st {};
      const std::uint64_t size =
          ::stat(database.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
      findings.push_back(common::CheckBackupDestination(request.base_dir, *to, size));
    }
  }
  return findings;
}

}  // namespace backout::adapters
