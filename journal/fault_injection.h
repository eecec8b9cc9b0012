// Test-only faults below the journal: a rocksdb::FileSystem through which the journal's
// databases write their write-ahead log (WAL), and which fails those writes the way a disk
// that has just filled up does. The `backout` binary enables it only when the test hook
// BACKOUT_JOURNAL_FAULT is set (cli/main.cc; docs/cli.md, "Fault injection for tests");
// nothing else calls EnableJournalFaults, so a normal process never goes through it.
//
// Why a FileSystem and not a flag in RunWriter: the failure then takes RocksDB's real error
// path (a failed WAL append or sync, the database's background error), so the tests see
// exactly what a real ENOSPC would give, and the code above the journal cannot tell the two
// apart.
#pragma once

#include <string_view>

#include "base/status.h"

namespace rocksdb {
class Env;
}

namespace backout::journal {

// Parses SPEC and, on success, makes every journal database that this process opens from then
// on use the faulty file system. SPEC:
//   enospc-at-append:N  (N >= 1) Counting, in this process, the batches written to a WAL
//                       (one per synced RocksDB write, that is one per RunWriter::Append):
//                       the first N-1 succeed; the first write of the Nth, and every WAL
//                       write or sync after it, fails with "No space left on device". So
//                       appends 1..N-1 are durable and nothing of append N reaches the disk,
//                       whatever event it carries.
// kInvalidArgument for anything else. Call at most once, before any journal is opened; not
// thread safe.
Status EnableJournalFaults(std::string_view spec);

// The Env the journal's databases are opened with: nullptr (RocksDB's default) unless
// EnableJournalFaults succeeded.
rocksdb::Env* JournalFaultEnv();

}  // namespace backout::journal
