// The catalog's object store (catalog/object_store.h) over the S3 client of the backup
// adapters (adapters/object_store/): how `backups list|show|verify|prune` reach a backup kept
// at an s3:// URL. Lives in cli/ because the catalog must not depend on adapters.
//
// Each call resolves the store from the settings the backup step journaled (endpoint, region,
// path_style) and the one AWS credential chain; nothing secret is kept or printed.
//
// Thread safety: one thread at a time.
#pragma once

#include "base/env.h"
#include "catalog/object_store.h"

namespace backout::cli {

class S3BackupObjects : public catalog::ObjectStore {
 public:
  explicit S3BackupObjects(Env* env = Env::Default()) : env_(env) {}

  Result<std::optional<std::uint64_t>> Head(const std::string& url,
                                            const nlohmann::json& settings) override;
  Result<catalog::ObjectDigest> Hash(const std::string& url,
                                     const nlohmann::json& settings) override;
  Status Delete(const std::string& url, const nlohmann::json& settings) override;

 private:
  Env* env_;
};

}  // namespace backout::cli
