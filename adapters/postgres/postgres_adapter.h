// PostgreSQL target adapter (libpq): sql, query, baseline, backup, restore, verify, and
// rehearsal copies. docs/adapters/postgres.md describes every parameter, output and lock.
//
// Connections: the adapter keeps one connection per DSN for its whole life (the engine keeps
// one adapter for a whole run), named "backout run <run id>" in pg_stat_activity. On it, the
// adapter holds a session-level advisory lock for the target database (key: the constant
// kAdvisoryLockNamespace in the high 32 bits, the database's oid in the low 32 bits), so a
// second runner working on the same database, from any machine or journal, fails its step
// with a message naming the holder. The server releases the lock when the connection ends:
// when the adapter is destroyed, or when its process dies. A connection found broken is
// replaced (and the lock taken again) at the next step.
//
// Thread safety: one thread at a time, as for every Adapter.
#pragma once

#include <cstdint>
#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

// "bako": the high 32 bits of every advisory lock key backout takes.
inline constexpr std::int64_t kAdvisoryLockNamespace = 0x62616b6f;

std::unique_ptr<Adapter> MakePostgresAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& PostgresVocabulary();

// The action written out for `backout plan` (adapter.h: Describe; describe.cc).
nlohmann::json DescribePostgresAction(const DescribeRequest& request);

}  // namespace backout::adapters
