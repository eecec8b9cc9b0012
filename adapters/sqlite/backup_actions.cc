// The actions that copy whole databases: backup and restore.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include "adapters/sqlite/actions.h"
#include "adapters/sqlite/content.h"
#include "adapters/sqlite/page_copy.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "base/time.h"

namespace backout::adapters::sqlite {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Status ErrnoError(std::string_view what, const fs::path& path) {
  return Status::IOError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

// Removes `path` and the files SQLite keeps beside a database, where they exist. For a
// `.partial` file of the same name left by an earlier attempt that crashed, and for our own
// after a failure: a stale -journal or -wal next to a new file of the same name would be
// taken as the new file's own.
void RemoveWithSideFiles(const fs::path& path) {
  std::error_code ignored;  // nothing there is the usual case
  fs::remove(path, ignored);
  for (const char* suffix : {"-journal", "-wal", "-shm"})
    fs::remove(path.string() + suffix, ignored);
}

// Creates `path` empty with mode 0600 (SQLite then writes into the file as it finds it): a
// backup holds all the data of the database and must not be readable by other users.
Status CreatePrivateFile(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("backup: cannot create", path);
  ::close(fd);
  return Status::Ok();
}

// Copying the database onto itself would replace it (backup) or wait on its own lock
// (restore); refuse before touching anything.
Status RequireOtherFile(const fs::path& file, const ActionContext& context, std::string_view what) {
  std::error_code ignored;  // a file that does not exist yet is another file
  if (fs::equivalent(file, context.database, ignored)) {
    return Status::InvalidArgument(
        fmt::format("{}: {} is the target database itself", what, file.string()));
  }
  return Status::Ok();
}

// Where the backup goes. When `to` ends with '/' or names an existing directory: a file in
// it named after the database, the time, the step and the attempt, so every backup is a new
// file. Otherwise `to` itself. Creates missing directories (mode 0700).
Result<fs::path> BackupPath(const ActionContext& context) {
  const std::string& to = context.Param("to");
  const fs::path resolved = context.Resolve(to);
  std::error_code ignored;  // "cannot tell" counts as "not a directory"
  if (to.ends_with('/') || fs::is_directory(resolved, ignored)) {
    BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(resolved));
    const Invocation& invocation = context.invocation;
    return resolved / fmt::format("{}-{}-{}-a{}.db", context.database.stem().string(),
                                  FormatUtcCompact(invocation.now_micros), invocation.step_id,
                                  invocation.attempt);
  }
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(resolved.parent_path()));
  return resolved;
}

// Copies `live` (holding a read snapshot) into a new file at `path`.
Status WriteBackupFile(Connection& live, const fs::path& path, const ActionContext& context) {
  BACKOUT_RETURN_IF_ERROR(CreatePrivateFile(path));
  Result<std::unique_ptr<Connection>> opened = context.Open(path, AccessMode::kReadWrite);
  if (!opened.ok()) return opened.status();
  Connection& copy = **opened;
  // The file is thrown away unless the whole copy succeeds and is synced afterwards, so a
  // journal and syncs along the way would buy nothing.
  BACKOUT_RETURN_IF_ERROR(copy.Exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF", "backup"));
  BACKOUT_RETURN_IF_ERROR(CopyDatabase(live, copy, live, "backup", context.invocation.progress));
  // A copy of a WAL-mode database is marked WAL-mode too. A rollback journal makes the
  // backup one self-contained file that opens read-only with no -wal or -shm beside it.
  return copy.Exec("PRAGMA journal_mode=DELETE", "backup");
}

// Makes the finished `partial` file durable under its final name. A crash before the rename
// leaves only the .partial (the next attempt removes it); after it, the complete file.
Status Publish(const fs::path& partial, const fs::path& final_path) {
  BACKOUT_RETURN_IF_ERROR(SyncPath(partial));
  if (::rename(partial.c_str(), final_path.c_str()) != 0) {
    return ErrnoError("backup: cannot rename the finished copy to", final_path);
  }
  return SyncPath(final_path.parent_path());
}

Status CheckDigest(const ActionContext& context, const fs::path& from, const FileDigest& digest) {
  const auto expected = context.params.find("sha256");
  if (expected == context.params.end() || *expected == digest.sha256_hex) return Status::Ok();
  return Status::ExpectationFailed(
      fmt::format("backup file {} changed since it was taken (sha256 {} expected {})",
                  from.string(), digest.sha256_hex, expected->get_ref<const std::string&>()));
}

// The backup must be a sound database before it replaces the live one. A file SQLite cannot
// read as a database fails the same way as one quick_check finds damaged.
Status CheckBackupSound(Connection& backup) {
  Result<std::vector<std::string>> corruption = FindCorruption(backup, "quick_check");
  if (!corruption.ok() && corruption.status().code() != Code::kIOError) {
    return corruption.status();  // cancelled, deadline, locked
  }
  const std::string problems = corruption.ok() ? fmt::format("{}", fmt::join(*corruption, "; "))
                                               : corruption.status().message();
  if (problems.empty()) return Status::Ok();
  return Status::ExpectationFailed(
      fmt::format("backup file {} is not a sound database: {}", backup.path().string(), problems));
}

}  // namespace

Result<json> RunBackup(const ActionContext& context) {
  Result<std::unique_ptr<Connection>> opened = context.OpenDatabase();
  if (!opened.ok()) return opened.status();
  std::unique_ptr<Connection> live = std::move(opened).value();
  // One snapshot for the whole copy: the backup is the database as it was at this moment
  // however long copying takes, and writers cannot make the copy start over.
  BACKOUT_RETURN_IF_ERROR(live->BeginSnapshot("backup"));
  Result<fs::path> final_path = BackupPath(context);
  if (!final_path.ok()) return final_path.status();
  BACKOUT_RETURN_IF_ERROR(RequireOtherFile(*final_path, context, "backup"));
  const fs::path partial = final_path->string() + ".partial";
  RemoveWithSideFiles(partial);
  Status status = WriteBackupFile(*live, partial, context);
  live.reset();  // ends the snapshot: writers need not wait for the fsync and the hashing
  if (status.ok()) status = Publish(partial, *final_path);
  if (!status.ok()) {
    RemoveWithSideFiles(partial);
    return status;
  }
  Result<FileDigest> digest = Sha256File(*final_path);
  if (!digest.ok()) return digest.status();
  return json{{"path", final_path->string()},
              {"bytes", digest->bytes},
              {"sha256", digest->sha256_hex},
              {"source", context.database.string()}};
}

Result<json> RunRestore(const ActionContext& context) {
  const fs::path from = context.Resolve(context.Param("from"));
  std::error_code ignored;  // "cannot tell" is reported by the read below
  if (!fs::exists(from, ignored)) {
    return Status::NotFound(fmt::format("backup file {} does not exist", from.string()));
  }
  BACKOUT_RETURN_IF_ERROR(RequireOtherFile(from, context, "restore"));
  Result<FileDigest> digest = Sha256File(from);
  if (!digest.ok()) return digest.status();
  BACKOUT_RETURN_IF_ERROR(CheckDigest(context, from, *digest));
  Result<std::unique_ptr<Connection>> backup = context.Open(from, AccessMode::kReadOnly);
  if (!backup.ok()) return backup.status();
  BACKOUT_RETURN_IF_ERROR(CheckBackupSound(**backup));
  Result<std::unique_ptr<Connection>> live = context.OpenDatabase();
  if (!live.ok()) return live.status();
  BACKOUT_RETURN_IF_ERROR(
      CopyDatabase(**backup, **live, **live, "restore", context.invocation.progress));
  return json{{"from", from.string()}, {"bytes", digest->bytes}, {"sha256", digest->sha256_hex}};
}

}  // namespace backout::adapters::sqlite
