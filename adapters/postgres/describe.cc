// The postgres actions written out for `backout plan` (adapter.h: Describe), with the locks
// each one really takes (docs/adapters/postgres.md).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "adapters/common/describe.h"
#include "adapters/postgres/params.h"
#include "adapters/postgres/postgres_adapter.h"

namespace backout::adapters {
namespace {

// "media, local_classes" from a `tables:` list as written.
std::string TableList(const nlohmann::json& tables) {
  std::vector<std::string> names;
  for (const nlohmann::json& t : tables) names.push_back(t.is_string() ? t.get<std::string>() : t.dump());
  return fmt::format("{}", fmt::join(names, ", "));
}

// The lock_timeout that bounds every lock wait of the step: the action's, else the target's.
void AddLockTimeout(nlohmann::json& d, const DescribeRequest& request) {
  if (request.params.contains("lock_timeout")) {
    common::AddParam(d, request, "lock_timeout");
  } else if (const auto it = request.target.find("lock_timeout"); it != request.target.end()) {
    common::AddDetail(d, "lock_timeout", *it);
  }
}

}  // namespace

nlohmann::json DescribePostgresAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(PostgresVocabulary(), request.action);
  const std::optional<postgres::Action> action = postgres::ParseAction(request.action);
  if (!action) return d;
  common::AddLock(d, "the target's runner lock: a session advisory lock in the database, for "
                     "the whole run");
  const nlohmann::json& p = request.params;
  switch (*action) {
    case postgres::Action::kSql:
      common::AddSqlStatements(d, request);
      common::AddDetail(d, "transaction",
                        p.value("transaction", true) ? "the whole script in one transaction"
                                                     : "statement by statement, no transaction");
      AddLockTimeout(d, request);
      common::AddLock(d, "the locks its statements take, held until COMMIT");
      break;
    case postgres::Action::kBackup:
      common::AddParam(d, request, "to", "backup to");
      if (p.contains("tables")) {
        const std::string tables = TableList(p["tables"]);
        common::AddDetail(d, "scope", "the data of tables " + tables + " (COPY TO, one snapshot)");
        common::AddLock(d, "ACCESS SHARE on " + tables + " while they are copied");
      } else {
        common::AddDetail(d, "scope", p.value("schema_only", false)
                                          ? "the schema (pg_dump --schema-only)"
                                          : "the whole database (pg_dump, custom format)");
        common::AddLock(d, "ACCESS SHARE on every table dumped, for the whole pg_dump");
      }
      AddLockTimeout(d, request);
      break;
    case postgres::Action::kRestore:
      common::AddSourceFile(d, request, "from", "restore from");
      if (p.contains("tables")) {
        const std::string tables = TableList(p["tables"]);
        common::AddDetail(d, "scope",
                          fmt::format("TRUNCATE {}{} then COPY FROM the file, in one transaction",
                                      tables, p.value("cascade", false) ? " CASCADE" : ""));
        common::AddLock(d, "ACCESS EXCLUSIVE on " + tables +
                               " (TRUNCATE) until COMMIT: nobody reads or writes them meanwhile");
      } else {
        common::AddDetail(d, "scope",
                          "the whole dump (pg_restore --clean --if-exists --single-transaction)");
        common::AddLock(d, "ACCESS EXCLUSIVE on every table of the dump (dropped and created "
                           "again) until COMMIT");
      }
      AddLockTimeout(d, request);
      break;
    case postgres::Action::kBaseline:
      common::AddParam(d, request, "tables");
      common::AddParam(d, request, "schema");
      break;
    case postgres::Action::kVerify:
      common::AddVerifyChecks(d, request);
      break;
    case postgres::Action::kQuery:
      common::AddSqlQuery(d, request);
      break;
  }
  return d;
}

}  // namespace backout::adapters
