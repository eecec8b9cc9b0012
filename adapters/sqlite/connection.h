// Internal to the SQLite adapter: one connection to an existing database file, carrying the
// policies every action shares:
//   - a missing database is never created (kNotFound);
//   - a lock held by another connection is waited for up to busy_timeout, then kUnavailable;
//   - long statements stop when the run is cancelled or the step's deadline passes
//     (kCancelled / kTimeout), via SQLite's progress handler;
//   - SQLite result codes become Status values whose messages name the database path and
//     nothing else from the target's config.
//
// Thread safety: a Connection is used by one thread at a time. The StopCondition it watches
// may be set from a signal handler (it only reads an atomic flag).
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/common/stop.h"
#include "base/status.h"

namespace backout::adapters::sqlite {

// Tells long-running work to stop: the run was cancelled (SIGINT/SIGTERM) or the step's
// deadline passed ("cancelled", "deadline of 5s passed").
using StopCondition = common::StopCondition;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

enum class AccessMode { kReadWrite, kReadOnly };

class Connection {
 public:
  // Opens the existing database at `path` (absolute). `stop` must outlive the connection.
  static Result<std::unique_ptr<Connection>> Open(const std::filesystem::path& path,
                                                  AccessMode mode,
                                                  std::chrono::milliseconds busy_timeout,
                                                  const StopCondition& stop);

  // Closing rolls back a transaction still open, so an early error return leaves the
  // database as it was.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* handle() const { return db_; }
  const std::filesystem::path& path() const { return path_; }

  // Runs `sql` (one or more statements), discarding any rows. `what` prefixes errors.
  Status Exec(const std::string& sql, std::string_view what);

  // Prepares the first statement in `sql`. `*rest` (when given) receives the text after it.
  // The statement is null when `sql` holds only whitespace or comments.
  Result<Statement> Prepare(std::string_view sql, std::string_view what,
                            std::string_view* rest = nullptr);

  // Advances `statement`: true when a row is ready, false when it has finished.
  Result<bool> Step(sqlite3_stmt* statement, std::string_view what);

  // Opens a read transaction and takes the shared lock at once, so that everything read on
  // this connection from now on comes from one snapshot of the database.
  Status BeginSnapshot(std::string_view what);

  // Rolls back the open transaction, if any. Stop checks are switched off first: a
  // cancellation must not interrupt the rollback that undoes a half-done effect.
  void Rollback();

  // The Status for the failed SQLite call that returned `rc` on this connection: the stop
  // condition's status when it caused the failure, kUnavailable when another connection
  // holds the lock, else kIOError "what: <SQLite's message>".
  Status Error(int rc, std::string_view what) const;

  // kUnavailable "what: sqlite database P is locked by another connection ...".
  Status Locked(std::string_view what) const;

  const StopCondition& stop() const { return stop_; }

 private:
  Connection(sqlite3* db, std::filesystem::path path, std::chrono::milliseconds busy_timeout,
             const StopCondition& stop);

  // SQLite callbacks; `self` is the Connection.
  static int OnBusy(void* self, int attempts);
  static int OnProgress(void* self);

  sqlite3* db_;
  std::filesystem::path path_;
  std::chrono::milliseconds busy_timeout_;
  const StopCondition& stop_;
  std::chrono::steady_clock::time_point busy_since_;
};

}  // namespace backout::adapters::sqlite
