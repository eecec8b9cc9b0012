// The actions that run SQL or read the database: sql, baseline, verify, query.
// backup and restore are in backup_actions.cc.
#include "adapters/sqlite/actions.h"

#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

#include "adapters/common/query_check.h"
#include "adapters/sqlite/content.h"
#include "adapters/sqlite/verify.h"
#include "base/file_util.h"

namespace backout::adapters::sqlite {
namespace {

using nlohmann::json;

// While alive, makes SQLite refuse to prepare BEGIN, COMMIT and ROLLBACK on `db`. A script
// runs inside the step's own transaction; a COMMIT in it would make the statements before
// it permanent even if a later one failed.
class TransactionControlBan {
 public:
  explicit TransactionControlBan(Connection& db) : db_(db) {
    sqlite3_set_authorizer(db_.handle(), &TransactionControlBan::Authorize, &refused_);
  }
  ~TransactionControlBan() { sqlite3_set_authorizer(db_.handle(), nullptr, nullptr); }
  TransactionControlBan(const TransactionControlBan&) = delete;
  TransactionControlBan& operator=(const TransactionControlBan&) = delete;

  // Whether a statement was refused (and failed to prepare) for being transaction control.
  bool refused() const { return refused_; }

 private:
  static int Authorize(void* refused, int action, const char*, const char*, const char*,
                       const char*) {
    if (action != SQLITE_TRANSACTION) return SQLITE_OK;
    *static_cast<bool*>(refused) = true;
    return SQLITE_DENY;
  }

  Connection& db_;
  bool refused_ = false;
};

Status StepToEnd(Connection& db, sqlite3_stmt* statement, std::string_view what) {
  while (true) {
    Result<bool> row = db.Step(statement, what);
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

// Runs every statement of `script` in order (rows they return are ignored). Errors name the
// statement by number and its first 80 characters.
Status RunStatements(Connection& db, std::string_view script) {
  const TransactionControlBan ban(db);
  std::string_view rest = script;
  for (int number = 1;; ++number) {
    const std::string what = fmt::format("sql: statement {} ({})", number, common::AbbreviateSql(rest, 80));
    Result<Statement> statement = db.Prepare(rest, what, &rest);
    if (!statement.ok() && ban.refused()) {
      return Status::InvalidArgument(fmt::format(
          "{}: BEGIN, COMMIT and ROLLBACK are not allowed, the step already runs the whole "
          "script in one transaction",
          what));
    }
    if (!statement.ok()) return statement.status();
    if (*statement == nullptr) return Status::Ok();  // only whitespace or comments were left
    BACKOUT_RETURN_IF_ERROR(StepToEnd(db, statement->get(), what));
  }
}

Result<std::string> LoadScript(const ActionContext& context) {
  if (context.params.contains("script")) return context.Param("script");
  Result<std::string> text = ReadFileToString(context.Resolve(context.Param("file")));
  if (!text.ok()) return text.status().WithContext("sql: reading the script file");
  return text;
}

}  // namespace

Result<json> RunSql(const ActionContext& context) {
  Result<std::string> script = LoadScript(context);
  if (!script.ok()) return script.status();
  Result<std::unique_ptr<Connection>> opened = context.OpenDatabase();
  if (!opened.ok()) return opened.status();
  Connection& db = **opened;
  // IMMEDIATE takes the write lock before the first statement, so waiting for another
  // writer happens up front (bounded by busy_timeout), and no writer can slip in between
  // what the script reads and what it writes.
  BACKOUT_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE", "sql: BEGIN IMMEDIATE"));
  const sqlite3_int64 changes_before = sqlite3_total_changes64(db.handle());
  Status status = RunStatements(db, *script);
  if (status.ok()) status = db.Exec("COMMIT", "sql: COMMIT");
  if (!status.ok()) {
    db.Rollback();
    return status;
  }
  return json{{"changes", sqlite3_total_changes64(db.handle()) - changes_before}};
}

Result<json> RunBaseline(const ActionContext& context) {
  Result<std::unique_ptr<Connection>> opened = context.OpenDatabase();
  if (!opened.ok()) return opened.status();
  Connection& db = **opened;
  // One snapshot for every table: figures read table by table while someone writes would
  // describe no state the database was ever in.
  BACKOUT_RETURN_IF_ERROR(db.BeginSnapshot("baseline"));
  json tables = json::object();
  for (const json& name : context.params.at("tables")) {
    const std::string& table = name.get_ref<const std::string&>();
    if (!common::BaselineTakesChecksumOf(context.params, table)) {
      Result<std::int64_t> rows = CountRows(db, table);
      if (!rows.ok()) return rows.status();
      tables[table] = {{"rows", *rows}};
      continue;
    }
    Result<TableSummary> summary = SummarizeTable(db, table, common::ColumnOrder::kByName);
    if (!summary.ok()) return summary.status();
    tables[table] = {{"rows", summary->rows}, {"checksum", summary->checksum}};
  }
  return json{{"tables", std::move(tables)},
              {common::kColumnOrderOutput, common::ColumnOrderName(common::ColumnOrder::kByName)}};
}

Outcome RunVerify(const ActionContext& context) {
  Result<std::unique_ptr<Connection>> opened = context.OpenDatabase();
  if (!opened.ok()) return Outcome{opened.status()};
  Connection& db = **opened;
  // One snapshot, so that all checks judge the same state.
  if (Status snapshot = db.BeginSnapshot("verify"); !snapshot.ok()) return Outcome{snapshot};
  return RunChecks(db, context.params.at("checks"),
                   context.invocation.baseline.value_or(json()));
}

Outcome RunQuery(const ActionContext& context) {
  Result<std::unique_ptr<Connection>> opened = context.OpenDatabase();
  if (!opened.ok()) return Outcome{opened.status()};
  return common::QueryActionOutcome(QueryFirstValue(**opened, context.Param("sql"), "query"),
                                    context.params);
}

}  // namespace backout::adapters::sqlite
