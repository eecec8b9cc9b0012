// File target adapter (docs/adapters/file.md for every parameter and output): one action,
// `file`, holding one operation on files inside the target's root: copy, restore, set_env,
// unset_env (env files edited key by key). The json_store adapter (adapters/json_store/)
// shares its file-system helpers (fs_util.h) and path rule (params.h: Word).
// Every write is atomic (temp file beside the destination, fsync, rename, fsync of the
// directory), so a crash leaves the old state or the new one, never a mix.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeFileAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& FileVocabulary();

// The adapter's Preflight (preflight.cc beside this header).
std::vector<PreflightFinding> FilePreflight(const PreflightRequest& request);

}  // namespace backout::adapters
