// Internal to the PostgreSQL adapter: one libpq connection and the policies every action
// shares.
//
//   - Secrecy: nothing here ever puts a DSN or a password into a message. A connection is
//     named "postgres HOST:PORT/DB user=USER", built from PQhost/PQport/PQdb/PQuser, and every
//     message taken from libpq passes through Scrub(), which also removes the password the
//     DSN holds should libpq ever quote it.
//   - Never hang: queries are sent asynchronously and waited for in a poll loop that watches
//     a StopCondition (SIGINT/SIGTERM, the step's deadline). When it fires, the running
//     statement is cancelled with PQcancel and its error is reported as kCancelled or
//     kTimeout. A server that ignores the cancel for kCancelGrace makes the connection
//     broken() (the caller closes it, which ends the statement server-side).
//   - One clear line per error: server errors become "<what>: <primary message>" with the
//     SQLSTATE; lock_timeout and statement_timeout expiries say so by name.
//   - Server notices (NOTICE, WARNING) are collected, never printed to stderr.
//
// Thread safety: a Connection is used by one thread at a time. A StopCondition only reads an
// atomic flag that a signal handler may set.
#pragma once

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/common/stop.h"
#include "base/status.h"

namespace backout::adapters::postgres {

// Tells long-running work to stop: the run was cancelled or the step's deadline passed
// (common::StopCondition, worded "cancelled by signal", "the step's timeout of 5s passed").
class StopCondition : public common::StopCondition {
 public:
  // `cancel` may be null; a zero `timeout` means no deadline. The deadline counts from now.
  StopCondition(const std::atomic<bool>* cancel, std::chrono::milliseconds timeout);
};

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// The keyword/value pairs of a DSN (a key=value conninfo or a postgresql:// URI), as
// PQconninfoParse reads them. Only keywords the DSN sets are kept.
class ConnInfo {
 public:
  // The error message never quotes the DSN (it may hold a password).
  static Result<ConnInfo> Parse(const std::string& dsn);

  // "" when not set.
  std::string Get(std::string_view keyword) const;
  // A copy with `keyword` set to `value` (added when absent).
  ConnInfo With(std::string_view keyword, std::string value) const;
  // A copy without `keyword`.
  ConnInfo Without(std::string_view keyword) const;
  // key='value' pairs, quoted for libpq. Holds the password when the DSN had one.
  std::string ToString() const;

 private:
  std::vector<std::pair<std::string, std::string>> options_;
};

// Replaces every occurrence of `secret` (when 1 byte or longer) in `text` with "***".
std::string Scrub(std::string text, const std::string& secret);

// A libpq message made one clean line: lines trimmed, blank and repeated lines dropped,
// severity prefixes ("FATAL:  ") and "connection to server ... failed: " removed, joined
// with "; ".
std::string CleanLibpqMessage(std::string_view message);

class Connection {
 public:
  // Connects to `dsn` with `overrides` applied over it (later keywords win: application_name,
  // dbname, ...). The connection attempt polls `stop` and gives up after connect_timeout
  // (from the DSN, else 30 s). Errors: kUnavailable (unreachable, refused), kFailedPrecondition
  // (authentication failed, not allowed), kNotFound (no such database), each naming the
  // server as Describe() does.
  static Result<std::unique_ptr<Connection>> Open(
      const std::string& dsn, const std::vector<std::pair<std::string, std::string>>& overrides,
      const StopCondition& stop);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // "postgres HOST:PORT/DB user=USER".
  const std::string& Describe() const { return description_; }
  PGconn* handle() const { return conn_; }
  // The connection can no longer be used (the server went away, a cancel went unanswered).
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  bool in_transaction() const;

  // The lock_timeout in force, for the message of a lock timeout ("5s"; "" when unset).
  void set_lock_timeout_text(std::string text) { lock_timeout_text_ = std::move(text); }
  void set_statement_timeout_text(std::string text) { statement_timeout_text_ = std::move(text); }

  // Runs `sql` (one or more statements, simple query protocol). Returns the last statement's
  // result, or the first error as "<what>: <message>".
  Result<PgResult> Exec(std::string_view sql, std::string_view what, const StopCondition& stop);
  // One statement with text parameters ($1, $2, ...); NULL for nullopt.
  Result<PgResult> ExecParams(std::string_view sql,
                              const std::vector<std::optional<std::string>>& params,
                              std::string_view what, const StopCondition& stop);

  // Runs `copy_sql` (a COPY ... TO STDOUT) and hands every piece of data to `sink`. Returns
  // the number of rows copied.
  Result<std::int64_t> CopyOut(std::string_view copy_sql,
                               const std::function<Status(std::string_view)>& sink,
                               std::string_view what, const StopCondition& stop);

  // Runs `copy_sql` (a COPY ... FROM STDIN) and sends what `source` yields until it yields an
  // empty piece. An error from `source` (or `stop`) aborts the COPY. Returns the rows copied.
  Result<std::int64_t> CopyIn(std::string_view copy_sql,
                              const std::function<Result<std::string_view>()>& source,
                              std::string_view what, const StopCondition& stop);

  // ROLLBACK if a transaction is open; errors are ignored (a broken connection rolls back on
  // its own when closed). Never cancelled.
  void RollbackQuietly();

  // The notices the server sent since the last call.
  std::vector<std::string> TakeNotices();

  // `message` with the password of this connection's DSN removed.
  std::string ScrubSecret(std::string message) const { return Scrub(std::move(message), password_); }

 private:
  Connection(PGconn* conn, std::string password);

  static void OnNotice(void* self, const PGresult* result);

  // Waits until a result is ready without blocking past `stop` (cancelling on it).
  Status AwaitReady(std::string_view what, const StopCondition& stop);
  // Collects every result of the current query: the first error, else the last result.
  Result<PgResult> CollectResults(std::string_view what);
  // Sends `copy_sql` and waits for the server to enter `copy_mode` (PGRES_COPY_OUT or
  // PGRES_COPY_IN); on any other result, returns its error with the query drained.
  Status StartCopy(std::string_view copy_sql, ExecStatusType copy_mode, std::string_view what,
                   const StopCondition& stop);
  Status ErrorFromResult(const PGresult* result, std::string_view what) const;
  Status ConnectionError(std::string_view what);
  void Cancel();

  PGconn* conn_;
  std::string password_;
  std::string description_;
  std::string lock_timeout_text_;
  std::string statement_timeout_text_;
  std::vector<std::string> notices_;
  bool broken_ = false;
  // Set when this side cancelled the running statement, with the status to report.
  std::optional<Status> cancelled_by_us_;
};

// `name` as an SQL identifier ("..." with inner quotes doubled) and `text` as a literal.
std::string QuoteIdentifier(std::string_view name);
std::string QuoteLiteral(std::string_view text);

// The value of row `row`, column `column`; nullopt for NULL.
std::optional<std::string> Value(const PGresult* result, int row, int column);

}  // namespace backout::adapters::postgres
