#include "cli/backup_objects.h"

#include <utility>

#include "adapters/object_store/s3_client.h"
#include "adapters/object_store/store_settings.h"
#include "adapters/object_store/transfer.h"

namespace backout::cli {
namespace {

namespace store = adapters::object_store;

// A client for the object at `url`, from the settings its backup step journaled.
struct Reached {
  store::S3Client client;
  store::ObjectUrl url;
};

Result<Reached> Reach(const std::string& url, const nlohmann::json& settings, Env& env) {
  Result<store::ObjectUrl> parsed = store::ParseObjectUrl(url);
  if (!parsed.ok()) return parsed.status();
  Result<store::StoreSettings> resolved = store::ResolveStoreSettings(
      settings.is_object() ? settings : nlohmann::json(nullptr), env, env.NowMicros(),
      /*cancel=*/nullptr);
  if (!resolved.ok()) return resolved.status();
  return Reached{store::S3Client(std::move(resolved).value().config), std::move(parsed).value()};
}

}  // namespace

Result<std::optional<std::uint64_t>> S3BackupObjects::Head(const std::string& url,
                                                           const nlohmann::json& settings) {
  Result<Reached> reached = Reach(url, settings, *env_);
  if (!reached.ok()) return reached.status();
  Result<store::ObjectHead> head = reached->client.Head(reached->url);
  if (head.status().code() == Code::kNotFound) return std::optional<std::uint64_t>();
  if (!head.ok()) return head.status();
  return std::optional<std::uint64_t>(head->bytes);
}

Result<catalog::ObjectDigest> S3BackupObjects::Hash(const std::string& url,
                                                    const nlohmann::json& settings) {
  Result<Reached> reached = Reach(url, settings, *env_);
  if (!reached.ok()) return reached.status();
  Result<FileDigest> digest = store::ReadBackDigest(reached->client, reached->url);
  if (!digest.ok()) return digest.status();
  return catalog::ObjectDigest{digest->bytes, digest->sha256_hex};
}

Status S3BackupObjects::Delete(const std::string& url, const nlohmann::json& settings) {
  Result<Reached> reached = Reach(url, settings, *env_);
  if (!reached.ok()) return reached.status();
  return reached->client.Delete(reached->url);
}

}  // namespace backout::cli
