// What the catalog needs of an object store to check and delete backups kept at a URL
// (s3://bucket/key): a small seam of its own, so the catalog is tested with a fake and bridged
// to the S3 client (adapters/) by whoever builds the command line. Exceptions never leave an
// implementation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace backout::catalog {

struct ObjectDigest {
  std::uint64_t bytes = 0;
  std::string sha256;  // lowercase hex of the object's bytes
};

// `settings` is what the step that wrote the object journaled to reach it again beside its
// `url` (the non-secret store settings: `endpoint`, `region`, `path_style`), an empty object
// when it journaled none; credentials come from the store's own chain, never from here.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // The object's size, nullopt when there is no such object; an error when the store cannot
  // tell (unreachable, refused).
  virtual Result<std::optional<std::uint64_t>> Head(const std::string& url,
                                                    const nlohmann::json& settings) = 0;
  // Reads the object and hashes it. kNotFound when there is no such object.
  virtual Result<ObjectDigest> Hash(const std::string& url, const nlohmann::json& settings) = 0;
  // Removes the object; Ok when it is gone (or was not there).
  virtual Status Delete(const std::string& url, const nlohmann::json& settings) = 0;
};

}  // namespace backout::catalog
