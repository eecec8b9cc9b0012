#include "adapters/adapter.h"
#include "adapters/command/command_adapter.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace backout::adapters {

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
  r.Add(MakeCommandAdapter());
  return r;
}

}  // namespace backout::adapters
