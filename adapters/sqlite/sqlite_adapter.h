// SQLite target adapter: sql, backup, restore, baseline, verify, query.
// See docs/adapters/sqlite.md for every parameter.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeSqliteAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& SqliteVocabulary();

// The adapter's Preflight (preflight.cc beside this header).
std::vector<PreflightFinding> SqlitePreflight(const PreflightRequest& request);

}  // namespace backout::adapters
