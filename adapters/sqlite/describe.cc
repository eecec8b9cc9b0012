// The sqlite actions written out for `backout plan` (adapter.h: Describe).
#include "adapters/common/describe.h"
#include "adapters/sqlite/params.h"
#include "adapters/sqlite/sqlite_adapter.h"

namespace backout::adapters {

nlohmann::json DescribeSqliteAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(SqliteVocabulary(), request.action);
  const std::optional<sqlite::Action> action = sqlite::ParseAction(request.action);
  if (!action) return d;
  common::AddLock(d, "the target's runner lock: a flock on the database's .backout-lock file, "
                     "for the whole run");
  switch (*action) {
    case sqlite::Action::kSql:
      common::AddSqlStatements(d, request);
      common::AddLock(d, "the database's write lock (BEGIN IMMEDIATE): the whole script in one "
                         "transaction, writers wait up to busy_timeout");
      break;
    case sqlite::Action::kBackup:
      common::AddParam(d, request, "to", "backup to");
      common::AddLock(d, "a read transaction on the database while it is copied");
      break;
    case sqlite::Action::kRestore:
      common::AddSourceFile(d, request, "from", "restore from");
      common::AddLock(d, "the database's write lock while its content is replaced, in one "
                         "transaction");
      break;
    case sqlite::Action::kBaseline:
      common::AddParam(d, request, "tables");
      break;
    case sqlite::Action::kVerify:
      common::AddVerifyChecks(d, request);
      break;
    case sqlite::Action::kQuery:
      common::AddSqlQuery(d, request);
      break;
  }
  return d;
}

}  // namespace backout::adapters
