// The actions that copy whole databases: backup and restore.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <future>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "adapters/common/files.h"
#include "adapters/sqlite/actions.h"
#include "adapters/sqlite/content.h"
#include "adapters/sqlite/page_copy.h"
#include "base/file_util.h"
#include "base/sha256.h"

namespace backout::adapters::sqlite {
namespace {

namespace fs = std::filesystem;
using common::ErrnoError;
using nlohmann::json;

}  // namespace

// Removes `path` and the files SQLite keeps beside a database, where they exist: for our own
// `.partial` file after a failure, and for a rehearsal's copy.
void RemoveWithSideFiles(const fs::path& path) {
  std::error_code ignored;  // nothing there is the usual case
  fs::remove(path, ignored);
  for (const char* suffix : {"-journal", "-wal", "-shm"})
    fs::remove(path.string() + suffix, ignored);
}

namespace {

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

// Where the backup goes (common::BackupFilePath): a file named after the database when `to`
// is a directory.
Result<fs::path> BackupPath(const ActionContext& context) {
  return common::BackupFilePath(context.invocation, context.Param("to"),
                                context.database.stem().string(), ".db");
}

// Whether `db` is in WAL mode. Asked inside a read transaction, the answer holds until it
// ends: switching a database into or out of WAL mode needs a lock no reader allows.
Result<bool> UsesWal(Connection& db) {
  Result<json> mode = QueryFirstValue(db, "SELECT journal_mode FROM pragma_journal_mode", "backup");
  if (!mode.ok()) return mode.status();
  return *mode == "wal";
}

// Copies a WAL-mode database with the online backup API, which reads committed pages from
// the -wal file too.
Status CopyWithBackupApi(Connection& live, const fs::path& path, const ActionContext& context) {
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

// Copies `live` (holding a read snapshot) into the new empty file at `path`. Returns the copy's
// digest when the copy computed it.
//
// A database in rollback-journal mode is copied as the bytes of its file, hashed as they
// pass: one sequential pass in large chunks, where the backup API reads and writes a page
// per call and the hash would read the copy again.
Result<std::optional<FileDigest>> WriteBackupFile(Connection& live, const fs::path& path,
                                                  const ActionContext& context) {
  Result<bool> wal = UsesWal(live);
  if (!wal.ok()) return wal.status();
  if (*wal) {
    BACKOUT_RETURN_IF_ERROR(CopyWithBackupApi(live, path, context));
    return std::optional<FileDigest>();
  }
  Result<FileDigest> digest = CopyDatabaseFile(live, path, "backup", context.invocation.progress);
  if (!digest.ok()) return digest.status();
  return std::optional<FileDigest>(std::move(digest).value());
}

// Makes the finished `partial` file durable under its final name and returns its digest
// (`digest`, or computed now when the copy did not). A crash before the rename leaves only
// the .partial (garbage, safe to delete); after it, the complete file. A file still to
// hash is hashed while it is being synced: the fsync waits on the disk, the hash on the CPU
// (the pages are still in the page cache), so the checksum costs little on top of the sync.
Result<FileDigest> Publish(const fs::path& partial, const fs::path& final_path,
                           std::optional<FileDigest> digest) {
  if (digest.has_value()) {
    BACKOUT_RETURN_IF_ERROR(SyncPath(partial));
  } else {
    std::future<Status> synced =
        std::async(std::launch::async, [&] { return SyncPath(partial); });
    Result<FileDigest> hashed = Sha256File(partial);
    BACKOUT_RETURN_IF_ERROR(synced.get());
    if (!hashed.ok()) return hashed.status();
    digest = std::move(hashed).value();
  }
  BACKOUT_RETURN_IF_ERROR(RenameDurably(partial, final_path).WithContext("backup"));
  return *std::move(digest);
}

// The backup must be a sound database before it replaces the live one. A file SQLite cannot
// read as a database fails the same way as one quick_check finds damaged. The check runs in
// a read transaction that stays open, so that no writer can change the backup between the
// check and the copy that follows on the same connection.
Status CheckBackupSound(Connection& backup) {
  const Status snapshot = backup.BeginSnapshot("PRAGMA quick_check");
  Result<std::vector<std::string>> corruption =
      snapshot.ok() ? FindCorruption(backup, "quick_check") : snapshot;
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
  // Created empty here, mode 0600 (a backup holds all the data of the database), under a new
  // unpredictable name that cannot be a planted link (CreateExclusiveFile); SQLite and the
  // page copy then write into it as they find it.
  Result<ExclusiveFile> created = CreateExclusiveFile(*final_path, ".partial");
  if (!created.ok()) return created.status().WithContext("backup");
  const fs::path partial = created->path;
  created->fd.Reset();
  Result<std::optional<FileDigest>> copied = WriteBackupFile(*live, partial, context);
  live.reset();  // ends the snapshot: writers need not wait for the fsync (and the hashing)
  Result<FileDigest> digest =
      copied.ok() ? Publish(partial, *final_path, *std::move(copied)) : copied.status();
  if (!digest.ok()) {
    RemoveWithSideFiles(partial);
    return digest.status();
  }
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
  // The hash and the quick_check read the file independently, each on a connection (and a
  // thread) of its own, so only the longer of the two is paid. Both must pass before the
  // live database is opened.
  Result<std::unique_ptr<Connection>> hashed_file = context.Open(from, AccessMode::kReadOnly);
  if (!hashed_file.ok()) return hashed_file.status();
  std::future<Result<FileDigest>> hashing = std::async(
      std::launch::async, [&hashed_file] { return HashDatabaseFile(**hashed_file, "restore"); });
  Result<std::unique_ptr<Connection>> backup = context.Open(from, AccessMode::kReadOnly);
  const Status sound = backup.ok() ? CheckBackupSound(**backup) : backup.status();
  Result<FileDigest> digest = hashing.get();
  if (!digest.ok()) return digest.status();
  BACKOUT_RETURN_IF_ERROR(common::CheckRecordedDigest(
      context.params, fmt::format("backup file {}", from.string()), digest->sha256_hex));
  BACKOUT_RETURN_IF_ERROR(sound);
  Result<std::unique_ptr<Connection>> live = context.OpenDatabase();
  if (!live.ok()) return live.status();
  // With SQLite's default cache of about 2 MB, the write transaction fills the cache every
  // few hundred pages and must then spill a page to the database file, which first needs
  // the rollback journal synced (twice, with synchronous=FULL). A 64 MiB cache for this
  // connection (closed at the end of the step) makes those syncs about 30 times rarer; the
  // journal and synchronous settings, and so the atomicity and durability, are unchanged.
  BACKOUT_RETURN_IF_ERROR((*live)->Exec("PRAGMA cache_size=-65536", "restore"));
  BACKOUT_RETURN_IF_ERROR(
      CopyDatabase(**backup, **live, **live, "restore", context.invocation.progress));
  return json{{"from", from.string()}, {"bytes", digest->bytes}, {"sha256", digest->sha256_hex}};
}

}  // namespace backout::adapters::sqlite
