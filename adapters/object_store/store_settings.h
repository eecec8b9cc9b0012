// How a target says where its object storage is: the `object_store` mapping of a target's
// config (docs/backups.md, "Object storage"):
//
//   object_store:
//     endpoint: https://s3.eu-west-1.amazonaws.com   # default: AWS_ENDPOINT_URL_S3, then
//                                                     # AWS_ENDPOINT_URL, then AWS for region
//     region: eu-west-1         # default: AWS_REGION, AWS_DEFAULT_REGION
//     path_style: true          # ENDPOINT/BUCKET/KEY (default false: BUCKET.HOST/KEY)
//     sse: aws:kms              # or AES256
//     kms_key_id: alias/backups
//     object_lock: { mode: COMPLIANCE, days: 30 }
//     part_size_mib: 16         # multipart part size, 5..5120 (default 8)
//     ca_file: /etc/ssl/store.pem
//
// Credentials come from adapters::aws::CredentialsFor(mapping, env), the one AWS chain.
// None of these settings is a secret; endpoint, region and path_style go into a backup's
// outputs so the object can be found again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "adapters/common/params.h"
#include "adapters/object_store/s3_client.h"
#include "base/env.h"
#include "base/status.h"

namespace backout::adapters::object_store {

// The key of a target's config that holds the mapping.
inline constexpr std::string_view kStoreKey = "object_store";

// Checks the mapping at `pointer` (a target-config pointer: errors are in_target).
void CheckStoreSettings(common::Checker& checker, const nlohmann::json& settings,
                        const std::string& pointer);

struct StoreSettings {
  StoreConfig config;  // credentials resolved
  std::uint64_t part_size = 8ULL << 20;
};

// The resolved settings of `settings` (an expanded mapping, or null for none), the object
// lock's retain-until date counted from `now_micros`. kFailedPrecondition when no region or
// no credentials are found (naming where it looked, never a value).
Result<StoreSettings> ResolveStoreSettings(const nlohmann::json& settings, Env& env,
                                           std::int64_t now_micros,
                                           const std::atomic<bool>* cancel);

// {"endpoint", "region", "path_style"}: what outputs record to reach the object again.
nlohmann::json PublicStoreSettings(const StoreConfig& config);

// An object and a client for the store that holds it.
struct ReachedObject {
  S3Client client;
  ObjectUrl url;
};

// The object at `url` (s3://BUCKET/KEY) in the store that `settings` names (a target's
// expanded `object_store` mapping, or the endpoint, region and path_style a backup's outputs
// recorded; null for none), credentials resolved from the chain. Connects to nothing yet.
Result<ReachedObject> ReachObject(const std::string& url, const nlohmann::json& settings,
                                  Env& env, const std::atomic<bool>* cancel);

}  // namespace backout::adapters::object_store
