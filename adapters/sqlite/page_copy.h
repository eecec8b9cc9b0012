// Internal to the SQLite adapter: copying and hashing whole databases, used by backup (live
// database -> backup file) and restore (backup file -> live database).
#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

#include "adapters/sqlite/connection.h"
#include "base/sha256.h"
#include "base/status.h"

namespace backout::adapters::sqlite {

using ProgressSink = std::function<void(std::string_view)>;

// Copies every page of `source`'s main database over `destination`'s main database with
// SQLite's online backup API, a chunk of pages at a time so that the stop condition is
// honoured between chunks and `progress` (when set) receives lines like "backup 45%
// (1200/2660 pages)", at most about once a second and once at the end. `label` ("backup",
// "restore") starts messages and lines.
//
// Locks: each chunk reads `source` under a shared lock (held throughout if `source` is in a
// read transaction); `destination` is written in one write transaction held from the first
// chunk to the end. When the copy stops early (error, cancel, deadline) that transaction is
// rolled back, so `destination` is left exactly as it was.
//
// `live` is whichever of the two connections is the target's database: lock and stop
// errors are reported against it.
Status CopyDatabase(Connection& source, Connection& destination, const Connection& live,
                    std::string_view label, const ProgressSink& progress);

// Copies the pages of `source`'s main database file byte for byte (page_count * page_size
// bytes, as SQLite reads them) into `destination`, an existing empty file, and returns the
// size and SHA-256 of what was written. Progress lines and stop checks as for CopyDatabase.
// Nothing is synced.
//
// Only for a database in rollback-journal mode whose connection holds a read transaction:
// the shared lock keeps every writer from changing the file, and no hot journal can exist
// while it is held, so the file's bytes are the database. In WAL mode committed pages may
// live in the -wal file, so the file alone is not the database; use CopyDatabase.
Result<FileDigest> CopyDatabaseFile(Connection& source, const std::filesystem::path& destination,
                                    std::string_view label, const ProgressSink& progress);

// The size and SHA-256 of every byte of `db`'s main database file, whatever it holds (it
// need not be a database). Stops between chunks as CopyDatabase does. Takes no lock.
Result<FileDigest> HashDatabaseFile(Connection& db, std::string_view label);

}  // namespace backout::adapters::sqlite
