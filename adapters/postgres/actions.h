// Internal to the PostgreSQL adapter: what every action works with, and the six actions.
// Each runs with params already checked by ValidateInvocation(References::kResolved), so it
// reads them without further type checks. docs/adapters/postgres.md describes what each
// does, its outputs, its locks and its crash behaviour.
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/postgres/connection.h"
#include "base/status.h"

namespace backout::adapters::postgres {

struct ActionContext {
  const Invocation& invocation;
  const nlohmann::json& params;
  // The target's cached connection, prepared for this step: RESET ALL, then
  // statement_timeout, lock_timeout and search_path as the step and target ask.
  Connection& conn;
  const StopCondition& stop;
  // The lock_timeout in force (the action's, else the target's), for child programs.
  std::optional<std::chrono::milliseconds> lock_timeout;

  // The expanded DSN. It may hold a password: only for child programs (PGPASSWORD).
  const std::string& dsn() const {
    return invocation.target.at("dsn").get_ref<const std::string&>();
  }
  const std::string& Param(const char* key) const {
    return params.at(key).get_ref<const std::string&>();
  }
  // `path` from the plan made absolute against the plan's directory ("dir/" names dir).
  std::filesystem::path Resolve(const std::string& path) const;

  Result<PgResult> Exec(std::string_view sql, std::string_view what) const {
    return conn.Exec(sql, what, stop);
  }
  Result<PgResult> Query(std::string_view sql, const std::vector<std::optional<std::string>>& args,
                         std::string_view what) const {
    return conn.ExecParams(sql, args, what, stop);
  }
  void Progress(const std::string& text) const {
    if (invocation.progress) invocation.progress(text);
  }
};

Result<nlohmann::json> RunSql(const ActionContext& context);
Result<nlohmann::json> RunBaseline(const ActionContext& context);
Result<nlohmann::json> RunBackup(const ActionContext& context);
Result<nlohmann::json> RunRestore(const ActionContext& context);

// These fill outputs on failure too: the checks' results, the value the query returned.
Outcome RunVerify(const ActionContext& context);
Outcome RunQuery(const ActionContext& context);

// The statements of a script, split at top-level semicolons (quotes, "identifiers",
// $tag$ bodies$tag$ and comments are respected). Pieces holding only whitespace are dropped.
// A SQL-standard function body (BEGIN ATOMIC ... END) is not recognised.
std::vector<std::string_view> SplitStatements(std::string_view script);

}  // namespace backout::adapters::postgres
