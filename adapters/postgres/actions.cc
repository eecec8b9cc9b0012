// The actions that run SQL or read the database: sql, query, baseline. verify is in
// verify.cc, backup and restore in backup.cc.
#include "adapters/postgres/actions.h"

#include <fmt/format.h>

#include <cctype>
#include <string>
#include <utility>

#include "adapters/common/files.h"
#include "adapters/common/query_check.h"
#include "adapters/postgres/content.h"
#include "base/file_util.h"

namespace backout::adapters::postgres {
namespace {

using nlohmann::json;

bool IsIdentifierChar(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' ||
         (static_cast<unsigned char>(ch) & 0x80) != 0;
}

// The end of the quoted text starting at `i` (the opening quote); doubled quotes stay inside.
// With `backslash_escapes` (E'...'), a backslash escapes the next character.
std::size_t SkipQuoted(std::string_view sql, std::size_t i, char quote, bool backslash_escapes) {
  for (++i; i < sql.size(); ++i) {
    if (backslash_escapes && sql[i] == '\\') {
      ++i;
    } else if (sql[i] == quote) {
      if (i + 1 < sql.size() && sql[i + 1] == quote) {
        ++i;
      } else {
        return i + 1;
      }
    }
  }
  return sql.size();
}

// When a dollar quote ($$ or $tag$) opens at `i`, the index after its closing tag.
std::optional<std::size_t> SkipDollarQuoted(std::string_view sql, std::size_t i) {
  if (i > 0 && IsIdentifierChar(sql[i - 1])) return std::nullopt;  // part of a name: a$b
  std::size_t j = i + 1;
  if (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])) != 0) {
    return std::nullopt;  // $1: a parameter
  }
  while (j < sql.size() && IsIdentifierChar(sql[j]) && sql[j] != '$') ++j;
  if (j >= sql.size() || sql[j] != '$') return std::nullopt;
  const std::string_view tag = sql.substr(i, j - i + 1);
  const std::size_t close = sql.find(tag, j + 1);
  return close == std::string_view::npos ? sql.size() : close + tag.size();
}

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

Result<std::string> LoadScript(const ActionContext& context) {
  if (context.params.contains("script")) return context.Param("script");
  Result<std::string> text = ReadFileToString(context.Resolve(context.Param("file")));
  if (!text.ok()) return text.status().WithContext("sql: reading the script file");
  return text;
}

// A hint for the errors a script gets for running inside the step's transaction.
Status WithTransactionHint(Status status) {
  if (status.message().find("cannot run inside a transaction block") == std::string::npos &&
      status.message().find("cannot be executed inside a transaction block") ==
          std::string::npos) {
    return status;
  }
  return Status(status.code(),
                status.message() + "; set `transaction: false` on the step to run its "
                                   "statements one by one outside a transaction");
}

std::string CommandOf(const Result<PgResult>& result) {
  if (!result.ok() || *result == nullptr) return "";
  return PQcmdStatus(result->get());
}

Result<json> RunInOneTransaction(const ActionContext& context, const std::string& script) {
  BACKOUT_RETURN_IF_ERROR(context.Exec("BEGIN", "sql: BEGIN").status());
  Result<PgResult> result = context.Exec(script, "sql");
  if (!result.ok()) {
    context.conn.RollbackQuietly();
    return WithTransactionHint(result.status());
  }
  if (!context.conn.in_transaction()) {
    return Status::FailedPrecondition(
        "sql: the script ended the step's transaction itself (COMMIT or ROLLBACK in it), so "
        "the statements before that are committed and the rest ran on their own; the step "
        "runs the whole script in one transaction: leave transaction control out, or set "
        "`transaction: false`");
  }
  BACKOUT_RETURN_IF_ERROR(context.Exec("COMMIT", "sql: COMMIT").status());
  return json{{"transaction", true}, {"last_command", CommandOf(result)}};
}

Result<json> RunStatementByStatement(const ActionContext& context, const std::string& script) {
  const std::vector<std::string_view> statements = SplitStatements(script);
  Result<PgResult> last = PgResult();
  for (std::size_t i = 0; i < statements.size(); ++i) {
    const std::string what =
        fmt::format("sql: statement {} ({})", i + 1, common::AbbreviateSql(statements[i], 80));
    last = context.Exec(statements[i], what);
    if (!last.ok()) {
      context.conn.RollbackQuietly();  // a transaction the script opened itself
      return Status(last.status().code(),
                    fmt::format("{} (statements 1 to {} of {} ran and are committed)",
                                last.status().message(), i, statements.size()));
    }
  }
  if (context.conn.in_transaction()) {
    context.conn.RollbackQuietly();
    return Status::FailedPrecondition(
        "sql: the script left a transaction open (BEGIN without COMMIT); it was rolled back");
  }
  return json{{"transaction", false},
              {"statements", statements.size()},
              {"last_command", CommandOf(last)}};
}

}  // namespace

std::vector<std::string_view> SplitStatements(std::string_view script) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  std::size_t i = 0;
  auto emit = [&](std::size_t end) {
    const std::string_view piece = TrimSpace(script.substr(start, end - start));
    if (!piece.empty()) out.push_back(piece);
    start = end + 1;
  };
  while (i < script.size()) {
    const char ch = script[i];
    const char next = i + 1 < script.size() ? script[i + 1] : '\0';
    if (ch == '-' && next == '-') {
      const std::size_t end = script.find('\n', i);
      i = end == std::string_view::npos ? script.size() : end + 1;
    } else if (ch == '/' && next == '*') {
      int depth = 1;  // block comments nest in PostgreSQL
      for (i += 2; i < script.size() && depth > 0; ++i) {
        if (script[i] == '/' && i + 1 < script.size() && script[i + 1] == '*') {
          ++depth;
          ++i;
        } else if (script[i] == '*' && i + 1 < script.size() && script[i + 1] == '/') {
          --depth;
          ++i;
        }
      }
    } else if (ch == '\'') {
      const bool escapes = i > 0 && (script[i - 1] == 'E' || script[i - 1] == 'e') &&
                           (i < 2 || !IsIdentifierChar(script[i - 2]));
      i = SkipQuoted(script, i, '\'', escapes);
    } else if (ch == '"') {
      i = SkipQuoted(script, i, '"', false);
    } else if (ch == '$') {
      const std::optional<std::size_t> end = SkipDollarQuoted(script, i);
      i = end.value_or(i + 1);
    } else if (ch == ';') {
      emit(i);
      ++i;
    } else {
      ++i;
    }
  }
  if (start < script.size()) emit(script.size());
  return out;
}

std::filesystem::path ActionContext::Resolve(const std::string& path) const {
  return common::ResolvePath(invocation.base_dir, path);
}

Result<json> RunSql(const ActionContext& context) {
  Result<std::string> script = LoadScript(context);
  if (!script.ok()) return script.status();
  const bool transaction = context.params.value("transaction", true);
  Result<json> outputs = transaction ? RunInOneTransaction(context, *script)
                                     : RunStatementByStatement(context, *script);
  if (!outputs.ok()) return outputs;
  const std::vector<std::string> notices = context.conn.TakeNotices();
  if (!notices.empty()) (*outputs)["notices"] = notices;
  return outputs;
}

Outcome RunQuery(const ActionContext& context) {
  return common::QueryActionOutcome(QueryFirstValue(context, context.Param("sql"), "query"),
                                    context.params);
}

Result<json> RunBaseline(const ActionContext& context) {
  // One snapshot for every table: figures read table by table while someone writes would
  // describe no state the database was ever in.
  BACKOUT_RETURN_IF_ERROR(BeginSnapshot(context, "baseline"));
  std::vector<Table> tables;
  json scope;
  if (context.params.contains("schema")) {
    const std::string& schema = context.Param("schema");
    Result<std::vector<Table>> found = TablesOfSchema(context, schema);
    if (!found.ok()) return found.status().WithContext("baseline");
    tables = std::move(found).value();
    scope = {{"schema", schema}};
  } else {
    json names = json::array();
    for (const json& name : context.params.at("tables")) {
      Result<Table> table = RequireTable(context, name.get<std::string>(), "baseline");
      if (!table.ok()) return table.status();
      tables.push_back(std::move(table).value());
      names.push_back(name);
    }
    scope = {{"tables", std::move(names)}};
  }
  json figures = json::object();
  for (std::size_t i = 0; i < tables.size(); ++i) {
    context.Progress(fmt::format("table {} ({}/{})", tables[i].name, i + 1, tables.size()));
    if (!common::BaselineTakesChecksumOf(context.params, tables[i].name)) {
      Result<std::int64_t> rows = CountRows(context, tables[i]);
      if (!rows.ok()) return rows.status().WithContext("baseline");
      figures[tables[i].name] = {{"rows", *rows}};
      continue;
    }
    Result<TableSummary> summary = SummarizeTable(context, tables[i], common::ColumnOrder::kByName);
    if (!summary.ok()) return summary.status().WithContext("baseline");
    figures[tables[i].name] = {{"rows", summary->rows}, {"checksum", summary->checksum}};
  }
  Result<std::string> fingerprint =
      SchemaFingerprint(context, tables, {}, common::ColumnOrder::kByName);
  if (!fingerprint.ok()) return fingerprint.status().WithContext("baseline");
  BACKOUT_RETURN_IF_ERROR(context.Exec("COMMIT", "baseline: COMMIT").status());
  return json{{"tables", std::move(figures)},
              {"schema_fingerprint", *fingerprint},
              {"scope", std::move(scope)},
              {common::kColumnOrderOutput, common::ColumnOrderName(common::ColumnOrder::kByName)}};
}

}  // namespace backout::adapters::postgres
