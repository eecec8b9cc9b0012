#include "adapters/adapter.h"

#include <fmt/format.h>

#include <algorithm>

#include "adapters/command/command_adapter.h"
#include "adapters/dynamodb/dynamodb_adapter.h"
#include "adapters/file/file_adapter.h"
#include "adapters/http/http_adapter.h"
#include "adapters/json_store/json_store_adapter.h"
#include "adapters/notify/notify_adapter.h"
#include "adapters/object_store/object_store_adapter.h"
#include "adapters/postgres/postgres_adapter.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace backout::adapters {

Result<nlohmann::json> Adapter::MakeRehearsalCopy(const nlohmann::json& /*target*/,
                                                  const RehearsalScratch& /*scratch*/) {
  return Status::FailedPrecondition(
      fmt::format("a {} target cannot be copied for a rehearsal", type()));
}

Status Adapter::DropRehearsalCopy(const nlohmann::json& /*copy*/,
                                  const RehearsalScratch& /*scratch*/) {
  return Status::Ok();
}

Status Adapter::Lock(const LockRequest& /*request*/) { return Status::Ok(); }

std::vector<PreflightFinding> Adapter::Preflight(const PreflightRequest& /*request*/) {
  return {};
}

void Registry::Add(std::unique_ptr<Adapter> adapter) {
  for (std::unique_ptr<Adapter>& present : adapters_) {
    if (present->type() == adapter->type()) {
      present = std::move(adapter);
      return;
    }
  }
  adapters_.push_back(std::move(adapter));
}

Adapter* Registry::Find(std::string_view type) const {
  for (const std::unique_ptr<Adapter>& adapter : adapters_) {
    if (adapter->type() == type) return adapter.get();
  }
  return nullptr;
}

std::vector<const AdapterVocabulary*> Registry::Vocabularies() const {
  std::vector<const AdapterVocabulary*> vocabularies;
  for (const std::unique_ptr<Adapter>& adapter : adapters_) {
    vocabularies.push_back(&adapter->vocabulary());
  }
  return vocabularies;
}

std::string_view Registry::TypeServing(std::string_view action,
                                       std::string_view target_type) const {
  for (const std::unique_ptr<Adapter>& adapter : adapters_) {
    const AdapterVocabulary& vocabulary = adapter->vocabulary();
    const ActionSpec* spec = vocabulary.Find(action);
    if (spec == nullptr) continue;
    const bool serves = target_type.empty()
                            ? !spec->needs_target
                            : std::find(vocabulary.serves_targets_of.begin(),
                                        vocabulary.serves_targets_of.end(),
                                        target_type) != vocabulary.serves_targets_of.end();
    if (serves) return vocabulary.type;
  }
  return target_type.empty() ? action : target_type;
}

Registry Registry::Default() {
  Registry r;
  // The adapters that write or read backup files reach object storage through one wrapper.
  r.Add(WithObjectStore(MakeSqliteAdapter()));
  r.Add(WithObjectStore(MakePostgresAdapter()));
  r.Add(MakeCommandAdapter());
  r.Add(MakeHttpAdapter());
  r.Add(MakeFileAdapter());
  r.Add(WithObjectStore(MakeJsonStoreAdapter(), BackupShape::kFolder));
  r.Add(WithObjectStore(MakeDynamoDbAdapter()));
  r.Add(MakeNotifyAdapter());
  return r;
}

}  // namespace backout::adapters
