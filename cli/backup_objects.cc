#include "cli/backup_objects.h"

#include "adapters/object_store/s3_client.h"
#include "adapters/object_store/store_settings.h"
#include "adapters/object_store/transfer.h"

namespace backout::cli {

namespace store = adapters::object_store;

Result<std::optional<std::uint64_t>> S3BackupObjects::Head(const std::string& url,
                                                           const nlohmann::json& settings) {
  Result<store::ReachedObject> reached = store::ReachObject(url, settings, *env_, nullptr);
  if (!reached.ok()) return reached.status();
  Result<store::ObjectHead> head = reached->client.Head(reached->url);
  if (head.status().code() == Code::kNotFound) return std::optional<std::uint64_t>();
  if (!head.ok()) return head.status();
  return std::optional<std::uint64_t>(head->bytes);
}

Result<catalog::ObjectDigest> S3BackupObjects::Hash(const std::string& url,
                                                    const nlohmann::json& settings) {
  Result<store::ReachedObject> reached = store::ReachObject(url, settings, *env_, nullptr);
  if (!reached.ok()) return reached.status();
  Result<FileDigest> digest = store::ReadBackDigest(reached->client, reached->url);
  if (!digest.ok()) return digest.status();
  return catalog::ObjectDigest{digest->bytes, digest->sha256_hex};
}

Status S3BackupObjects::Delete(const std::string& url, const nlohmann::json& settings) {
  Result<store::ReachedObject> reached = store::ReachObject(url, settings, *env_, nullptr);
  if (!reached.ok()) return reached.status();
  return reached->client.Delete(reached->url);
}

}  // namespace backout::cli
