// json_store target adapter: a folder of JSON files, one per collection (NAME.json holding an
// array of records or an object of id -> record): backup, restore, baseline, verify.
// docs/adapters/file.md ("json_store") describes every parameter and output. Every write is
// atomic (a temporary folder beside the destination, fsync, rename, fsync of the directory),
// so a crash leaves the old store or the new one, never a mix.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeJsonStoreAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& JsonStoreVocabulary();

// The adapter's Preflight (preflight.cc beside this header).
std::vector<PreflightFinding> JsonStorePreflight(const PreflightRequest& request);

}  // namespace backout::adapters
