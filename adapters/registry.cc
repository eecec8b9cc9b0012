#include "adapters/adapter.h"

#include <fmt/format.h>

#include "adapters/command/command_adapter.h"
#include "adapters/dynamodb/dynamodb_adapter.h"
#include "adapters/file/file_adapter.h"
#include "adapters/http/http_adapter.h"
#include "adapters/notify/notify_adapter.h"
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

void Registry::Add(std::unique_ptr<Adapter> adapter) {
  std::string key(adapter->type());
  adapters_[key] = std::move(adapter);
}

Adapter* Registry::Find(std::string_view type) const {
  auto it = adapters_.find(type);
  return it == adapters_.end() ? nullptr : it->second.get();
}

Registry Registry::Default() {
  Registry r;
  r.Add(MakeSqliteAdapter());
  r.Add(MakePostgresAdapter());
  r.Add(MakeCommandAdapter());
  r.Add(MakeHttpAdapter());
  r.Add(MakeNotifyAdapter());
  r.Add(MakeDynamoDbAdapter());
  r.Add(MakeFileAdapter());
  r.Add(MakeJsonStoreAdapter());
  return r;
}

}  // namespace backout::adapters
