// Internal to the SQLite adapter: copying a whole database with SQLite's online backup API,
// used by backup (live database -> backup file) and restore (backup file -> live database).
#pragma once

#include <functional>
#include <string_view>

#include "adapters/sqlite/connection.h"
#include "base/status.h"

namespace backout::adapters::sqlite {

using ProgressSink = std::function<void(std::string_view)>;

// Copies every page of `source`'s main database over `destination`'s main database, a chunk
// of pages at a time so that the stop condition is honoured between chunks and `progress`
// (when set) receives lines like "backup 45% (1200/2660 pages)", at most about once a
// second and once at the end. `label` ("backup", "restore") starts messages and lines.
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

}  // namespace backout::adapters::sqlite
