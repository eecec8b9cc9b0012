// Helpers shared by the PostgreSQL example tests (seed 002 and 003): one database per test on
// the test process's server (PgServer::Shared()), the examples' pre-migration state to compare
// with, snapshots split into tables and schema, another session holding a lock, and a scan
// of a run's files for a password.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/example.h"
#include "tests/support/pg_server.h"

namespace backout::testing {

// A database name made from the running test's name (PgExampleEnv creates it).
std::string TestDatabase();

// The environment of an example on database `db` (created empty first): DATABASE_URL, and
// BACKOUT for the generators that run backout themselves.
std::map<std::string, std::string> PgExampleEnv(const std::string& db);

// PgServer::Snapshot of the example's generate.sh with SKIP_MIGRATION=1: the state its
// rollbacks aim for. Made once per example and size, in a database of its own.
std::string PreMigrationSnapshot(const std::string& example, int rows);

// A snapshot as its table lines (by table name without schema) and its other lines.
struct SnapshotParts {
  std::map<std::string, std::string> tables;
  std::vector<std::string> schema;
};
SnapshotParts SplitSnapshot(const std::string& snapshot);
std::string JoinSnapshot(const SnapshotParts& parts);  // sorted, as Snapshot() prints it

// Every database of the server, sorted, comma-separated.
std::string Databases();

// Whether a backout runner on `db` is waiting for a lock.
bool BackoutWaitsForALock(const std::string& db);

// Another session (psql as the test role) in `db` that runs `lock_sql` in an open
// transaction and keeps it; the constructor returns once it holds a lock on `table`, the
// destructor ends the session.
class LockHolder {
 public:
  LockHolder(const std::string& db, const std::string& lock_sql, const std::string& table);
  ~LockHolder();
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;

 private:
  std::unique_ptr<BackgroundProcess> session_;
};

// `backout verify RUN` passes, and the JSON and Markdown reports say the run ended with
// `outcome` (succeeded, failed, ...).
void ExpectVerifiedAndReported(const Example& ex, const std::string& run_id,
                               const std::string& outcome);

// Replaces the one occurrence of `from` in the file (a test's variant of an example plan).
void ReplaceInFile(const std::filesystem::path& path, const std::string& from,
                   const std::string& to);

// None of `secrets` is in `outputs` or in any file under the example's folder (journal
// RocksDB files, logs, backups); `journaled` (the run id, say) must be found in the
// journal's files, which shows that the scan reads what they store.
void ExpectNoSecretIn(const Example& ex, const std::vector<std::string>& outputs,
                      const std::vector<std::string>& secrets, const std::string& journaled);

}  // namespace backout::testing
