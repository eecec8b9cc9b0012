// File target adapters (docs/adapters/file.md for every parameter and output):
//   `file`        one action, `file`, holding one operation on files inside the target's
//                 root: copy, restore, set_env, unset_env (env files edited key by key);
//   `json_store`  a folder of JSON files, one per collection: backup, restore, baseline,
//                 verify.
// Every write is atomic (temp file or folder beside the destination, fsync, rename, fsync of
// the directory), so a crash leaves the old state or the new one, never a mix.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeFileAdapter();
std::unique_ptr<Adapter> MakeJsonStoreAdapter();

}  // namespace backout::adapters
