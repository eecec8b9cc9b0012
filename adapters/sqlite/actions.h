// Internal to the SQLite adapter: the six actions. Each runs with params already checked by
// ValidateParams(References::kResolved), so it reads them without further type checks.
// docs/adapters/sqlite.md describes what each does, its outputs, locks and crash behaviour.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "adapters/adapter.h"
#include "adapters/sqlite/connection.h"
#include "base/status.h"

namespace backout::adapters::sqlite {

// What every action works with: its invocation, the target database's absolute path, how
// long to wait for locks, and when to stop.
struct ActionContext {
  // `invocation` must outlive the context; its target config must be valid.
  explicit ActionContext(const Invocation& invocation);

  // `path` (from the plan) made absolute against the plan's directory.
  std::filesystem::path Resolve(const std::string& path) const;

  Result<std::unique_ptr<Connection>> Open(const std::filesystem::path& path,
                                           AccessMode mode) const;
  Result<std::unique_ptr<Connection>> OpenDatabase() const {
    return Open(database, AccessMode::kReadWrite);
  }

  const std::string& Param(const char* key) const {
    return params.at(key).get_ref<const std::string&>();
  }

  const Invocation& invocation;
  const nlohmann::json& params;
  std::filesystem::path database;
  std::chrono::milliseconds busy_timeout;
  StopCondition stop;
};

// Removes a database file and the journal/WAL files SQLite may keep beside it.
void RemoveWithSideFiles(const std::filesystem::path& path);

// Each returns the action's outputs.
Result<nlohmann::json> RunSql(const ActionContext& context);
Result<nlohmann::json> RunBackup(const ActionContext& context);
Result<nlohmann::json> RunRestore(const ActionContext& context);
Result<nlohmann::json> RunBaseline(const ActionContext& context);

// These fill outputs on failure too: the checks' results, the value the query returned.
Outcome RunVerify(const ActionContext& context);
Outcome RunQuery(const ActionContext& context);

}  // namespace backout::adapters::sqlite
