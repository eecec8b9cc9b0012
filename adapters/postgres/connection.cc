#include "adapters/postgres/connection.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "base/quote.h"

namespace backout::adapters::postgres {
namespace {

using Clock = std::chrono::steady_clock;

// How long a server gets to answer a cancel request before the connection is given up.
constexpr std::chrono::seconds kCancelGrace{10};
constexpr std::chrono::seconds kDefaultConnectTimeout{30};
constexpr int kPollSliceMs = 100;
constexpr std::size_t kMaxNotices = 20;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Removes every "..." span from a libpq conninfo parse error: they quote pieces of the DSN.
std::string WithoutQuotedSpans(std::string_view message) {
  std::string out;
  bool inside = false;
  for (char ch : message) {
    if (ch == '"') {
      if (!inside) out += "\"...\"";
      inside = !inside;
      continue;
    }
    if (!inside) out += ch;
  }
  return out;
}

// Waits until `fd` is ready for `events` or kPollSliceMs passes.
void PollSlice(int fd, short events) {
  pollfd pfd{fd, events, 0};
  ::poll(&pfd, 1, kPollSliceMs);
}

std::string Field(const PGresult* result, int field) {
  const char* value = PQresultErrorField(result, field);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

namespace {

const common::StopWording kStopWording = {
    "cancelled by signal", [](std::chrono::milliseconds timeout) {
      return fmt::format("the step's timeout of {}s passed", timeout.count() / 1000.0);
    }};

}  // namespace

StopCondition::StopCondition(const std::atomic<bool>* cancel, std::chrono::milliseconds timeout)
    : common::StopCondition(cancel, timeout, kStopWording) {}

Result<ConnInfo> ConnInfo::Parse(const std::string& dsn) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), &error);
  if (options == nullptr) {
    std::string message = error != nullptr ? CleanLibpqMessage(error) : "out of memory";
    PQfreemem(error);
    return Status::InvalidArgument(fmt::format(
        "dsn is not a valid libpq connection string or postgresql:// URI: {}",
        WithoutQuotedSpans(message)));
  }
  ConnInfo info;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') info.options_.emplace_back(o->keyword, o->val);
  }
  PQconninfoFree(options);
  return info;
}

std::string ConnInfo::Get(std::string_view keyword) const {
  for (const auto& [key, value] : options_) {
    if (key == keyword) return value;
  }
  return "";
}

ConnInfo ConnInfo::With(std::string_view keyword, std::string value) const {
  ConnInfo copy = Without(keyword);
  copy.options_.emplace_back(std::string(keyword), std::move(value));
  return copy;
}

ConnInfo ConnInfo::Without(std::string_view keyword) const {
  ConnInfo copy;
  for (const auto& option : options_) {
    if (option.first != keyword) copy.options_.push_back(option);
  }
  return copy;
}

std::string ConnInfo::ToString() const {
  std::string out;
  for (const auto& [key, value] : options_) {
    if (!out.empty()) out += ' ';
    out += key;
    out += "='";
    for (char ch : value) {
      if (ch == '\'' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '\'';
  }
  return out;
}

std::string Scrub(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

std::string CleanLibpqMessage(std::string_view message) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= message.size()) {
    const std::size_t end = std::min(message.find('\n', start), message.size());
    std::string_view line = Trim(message.substr(start, end - start));
    start = end + 1;
    if (line.starts_with("connection to server") || line.starts_with("could not connect")) {
      const std::size_t failed = line.find("failed: ");
      if (failed != std::string_view::npos) line = Trim(line.substr(failed + 8));
    }
    for (std::string_view prefix : {"FATAL:", "ERROR:", "WARNING:"}) {
      if (line.starts_with(prefix)) line = Trim(line.substr(prefix.size()));
    }
    if (line.empty()) continue;
    if (std::find(lines.begin(), lines.end(), line) != lines.end()) continue;
    lines.emplace_back(line);
  }
  return fmt::format("{}", fmt::join(lines, "; "));
}

Result<std::unique_ptr<Connection>> Connection::Open(
    const std::string& dsn, const std::vector<std::pair<std::string, std::string>>& overrides,
    const StopCondition& stop) {
  Result<ConnInfo> info = ConnInfo::Parse(dsn);
  if (!info.ok()) return info.status();
  std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout;
  if (const std::string text = info->Get("connect_timeout"); !text.empty()) {
    connect_timeout = std::chrono::seconds(std::max(2, std::atoi(text.c_str())));
  }
  std::vector<const char*> keywords = {"dbname"};
  std::vector<const char*> values = {dsn.c_str()};
  for (const auto& [key, value] : overrides) {
    keywords.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectStartParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (raw == nullptr) return Status::IOError("postgres: out of memory");
  std::unique_ptr<Connection> conn(new Connection(raw, info->Get("password")));
  const auto give_up = Clock::now() + connect_timeout;
  PostgresPollingStatusType polling = PGRES_POLLING_WRITING;
  while (PQstatus(raw) != CONNECTION_BAD && polling != PGRES_POLLING_OK &&
         polling != PGRES_POLLING_FAILED) {
    if (Status s = stop.Check(); !s.ok()) {
      return s.WithContext(conn->Describe() + ": connecting");
    }
    if (Clock::now() >= give_up) {
      return Status::Unavailable(fmt::format("{}: cannot connect: no answer within {}s",
                                             conn->Describe(), connect_timeout.count() / 1000));
    }
    PollSlice(PQsocket(raw), polling == PGRES_POLLING_READING ? POLLIN : POLLOUT);
    polling = PQconnectPoll(raw);
  }
  conn->description_ = fmt::format("postgres {}:{}/{} user={}", PQhost(raw), PQport(raw),
                                   PQdb(raw), PQuser(raw));
  if (PQstatus(raw) == CONNECTION_OK) {
    PQsetNoticeReceiver(raw, &Connection::OnNotice, conn.get());
    return conn;
  }
  const std::string message = conn->ScrubSecret(CleanLibpqMessage(PQerrorMessage(raw)));
  if (message.find("authentication failed") != std::string::npos ||
      message.find("no password supplied") != std::string::npos ||
      message.find("not permitted to log in") != std::string::npos ||
      message.find("pg_hba.conf") != std::string::npos) {
    return Status::FailedPrecondition(fmt::format("{}: {}", conn->Describe(), message));
  }
  if (message.find("does not exist") != std::string::npos) {
    return Status::NotFound(fmt::format("{}: {}", conn->Describe(), message));
  }
  return Status::Unavailable(fmt::format("{}: cannot connect: {}", conn->Describe(), message));
}

Connection::Connection(PGconn* conn, std::string password)
    : conn_(conn), password_(std::move(password)) {
  description_ = fmt::format("postgres {}:{}/{} user={}", PQhost(conn), PQport(conn), PQdb(conn),
                             PQuser(conn));
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::in_transaction() const {
  const PGTransactionStatusType status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

void Connection::OnNotice(void* self, const PGresult* result) {
  auto* conn = static_cast<Connection*>(self);
  if (conn->notices_.size() >= kMaxNotices) return;
  conn->notices_.push_back(conn->ScrubSecret(fmt::format(
      "{}: {}", Field(result, PG_DIAG_SEVERITY), Field(result, PG_DIAG_MESSAGE_PRIMARY))));
}

std::vector<std::string> Connection::TakeNotices() { return std::exchange(notices_, {}); }

void Connection::Cancel() {
  PGcancel* cancel = PQgetCancel(conn_);
  if (cancel == nullptr) return;
  char error[256];
  PQcancel(cancel, error, sizeof(error));  // failing to cancel leaves the grace period to act
  PQfreeCancel(cancel);
}

Status Connection::AwaitReady(std::string_view what, const StopCondition& stop) {
  std::optional<Clock::time_point> cancel_sent;
  while (true) {
    if (PQconsumeInput(conn_) == 0) return ConnectionError(what);
    if (PQisBusy(conn_) == 0) return Status::Ok();
    if (!cancel_sent.has_value() && stop.Fired()) {
      cancelled_by_us_ = stop.Check();
      Cancel();
      cancel_sent = Clock::now();
    }
    if (cancel_sent.has_value() && Clock::now() - *cancel_sent > kCancelGrace) {
      broken_ = true;
      return cancelled_by_us_->WithContext(
          fmt::format("{}: the server did not answer the cancel request, connection closed",
                      what));
    }
    PollSlice(PQsocket(conn_), POLLIN);
  }
}

Status Connection::ConnectionError(std::string_view what) {
  broken_ = PQstatus(conn_) != CONNECTION_OK || broken_;
  return Status::Unavailable(fmt::format("{}: {}: {}", what, description_,
                                         ScrubSecret(CleanLibpqMessage(PQerrorMessage(conn_)))));
}

Status Connection::ErrorFromResult(const PGresult* result, std::string_view what) const {
  const std::string sqlstate = Field(result, PG_DIAG_SQLSTATE);
  std::string primary = Field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (primary.empty()) primary = CleanLibpqMessage(PQresultErrorMessage(result));
  primary = ScrubSecret(std::move(primary));
  if (sqlstate == "57014" && cancelled_by_us_.has_value()) {
    return cancelled_by_us_->WithContext(fmt::format("{}: statement cancelled", what));
  }
  if (sqlstate == "57014" && primary.find("statement timeout") != std::string::npos) {
    return Status::Timeout(fmt::format(
        "{}: the statement ran past statement_timeout ({}) and was cancelled", what,
        statement_timeout_text_.empty() ? "server setting" : statement_timeout_text_));
  }
  if (sqlstate == "55P03" && primary.find("lock timeout") != std::string::npos) {
    return Status::Timeout(fmt::format(
        "{}: waited longer than lock_timeout ({}) for a lock another session holds; the "
        "statement was cancelled",
        what, lock_timeout_text_.empty() ? "server setting" : lock_timeout_text_));
  }
  std::string message = fmt::format("{}: {} (SQLSTATE {})", what, primary, sqlstate);
  if (const std::string detail = Field(result, PG_DIAG_MESSAGE_DETAIL); !detail.empty()) {
    message = fmt::format("{}: {}; {} (SQLSTATE {})", what, primary, ScrubSecret(detail),
                          sqlstate);
  }
  if (sqlstate == "42P01" || sqlstate == "3D000" || sqlstate == "3F000") {
    return Status::NotFound(std::move(message));
  }
  if (sqlstate.starts_with("08")) return Status::Unavailable(std::move(message));
  if (sqlstate == "42501" || sqlstate.starts_with("28")) {
    return Status::FailedPrecondition(std::move(message));
  }
  if (sqlstate.starts_with("42")) return Status::InvalidArgument(std::move(message));
  if (sqlstate == "23505" || sqlstate.starts_with("23")) {
    return Status::FailedPrecondition(std::move(message));
  }
  return Status::IOError(std::move(message));
}

Result<PgResult> Connection::CollectResults(std::string_view what) {
  PgResult last;
  std::optional<Status> error;
  // The stop condition was already honoured while waiting for the first result; the rest of
  // a cancelled query's results arrive promptly.
  const StopCondition never(nullptr, std::chrono::milliseconds(0));
  while (true) {
    if (Status ready = AwaitReady(what, never); !ready.ok()) return ready;
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) break;
    PgResult result(raw);
    switch (PQresultStatus(raw)) {
      case PGRES_COPY_IN:
        PQputCopyEnd(conn_, "COPY FROM STDIN is not supported in a backout sql step");
        continue;
      case PGRES_COPY_OUT:
      case PGRES_COPY_BOTH:
        // Reads the data away; a script's COPY TO STDOUT has nowhere to go.
        for (char* buffer = nullptr; PQgetCopyData(conn_, &buffer, 0) > 0;) PQfreemem(buffer);
        continue;
      case PGRES_FATAL_ERROR:
      case PGRES_BAD_RESPONSE:
      case PGRES_NONFATAL_ERROR:
        if (!error.has_value()) error = ErrorFromResult(raw, what);
        continue;
      default:
        last = std::move(result);
    }
  }
  if (error.has_value()) return *error;
  if (PQstatus(conn_) != CONNECTION_OK) return ConnectionError(what);
  return last;
}

Result<PgResult> Connection::Exec(std::string_view sql, std::string_view what,
                                  const StopCondition& stop) {
  cancelled_by_us_.reset();
  const std::string text(sql);
  if (PQsendQuery(conn_, text.c_str()) == 0) return ConnectionError(what);
  BACKOUT_RETURN_IF_ERROR(AwaitReady(what, stop));
  return CollectResults(what);
}

Result<PgResult> Connection::ExecParams(std::string_view sql,
                                        const std::vector<std::optional<std::string>>& params,
                                        std::string_view what, const StopCondition& stop) {
  cancelled_by_us_.reset();
  const std::string text(sql);
  std::vector<const char*> values;
  for (const auto& param : params) values.push_back(param.has_value() ? param->c_str() : nullptr);
  if (PQsendQueryParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0) == 0) {
    return ConnectionError(what);
  }
  BACKOUT_RETURN_IF_ERROR(AwaitReady(what, stop));
  return CollectResults(what);
}

Status Connection::StartCopy(std::string_view copy_sql, ExecStatusType copy_mode,
                             std::string_view what, const StopCondition& stop) {
  cancelled_by_us_.reset();
  const std::string text(copy_sql);
  if (PQsendQuery(conn_, text.c_str()) == 0) return ConnectionError(what);
  BACKOUT_RETURN_IF_ERROR(AwaitReady(what, stop));
  PgResult start(PQgetResult(conn_));
  if (start == nullptr) return ConnectionError(what);
  if (PQresultStatus(start.get()) == copy_mode) return Status::Ok();
  Status error = ErrorFromResult(start.get(), what);
  start.reset();
  (void)CollectResults(what);  // drains what is left of the query
  return error;
}

Result<std::int64_t> Connection::CopyOut(std::string_view copy_sql,
                                         const std::function<Status(std::string_view)>& sink,
                                         std::string_view what, const StopCondition& stop) {
  BACKOUT_RETURN_IF_ERROR(StartCopy(copy_sql, PGRES_COPY_OUT, what, stop));
  std::optional<Status> sink_error;
  std::optional<Clock::time_point> cancel_sent;
  while (true) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(conn_, &buffer, /*async=*/1);
    if (n > 0) {
      if (!sink_error.has_value()) {
        Status s = sink(std::string_view(buffer, static_cast<std::size_t>(n)));
        if (!s.ok()) {
          sink_error = std::move(s);
          Cancel();
          cancel_sent = Clock::now();
        }
      }
      PQfreemem(buffer);
      continue;
    }
    if (n == -1) break;
    if (n == -2) return ConnectionError(what);
    if (!cancel_sent.has_value() && stop.Fired()) {
      cancelled_by_us_ = stop.Check();
      Cancel();
      cancel_sent = Clock::now();
    }
    if (cancel_sent.has_value() && Clock::now() - *cancel_sent > kCancelGrace) {
      broken_ = true;
      return sink_error.value_or(cancelled_by_us_.value_or(Status::Cancelled("cancelled")));
    }
    PollSlice(PQsocket(conn_), POLLIN);
    if (PQconsumeInput(conn_) == 0) return ConnectionError(what);
  }
  Result<PgResult> end = CollectResults(what);
  if (sink_error.has_value()) return *sink_error;
  if (!end.ok()) return end.status();
  return std::strtoll(PQcmdTuples(end->get()), nullptr, 10);
}

Result<std::int64_t> Connection::CopyIn(std::string_view copy_sql,
                                        const std::function<Result<std::string_view>()>& source,
                                        std::string_view what, const StopCondition& stop) {
  BACKOUT_RETURN_IF_ERROR(StartCopy(copy_sql, PGRES_COPY_IN, what, stop));
  std::optional<Status> abort;
  while (true) {
    if (Status s = stop.Check(); !s.ok()) {
      abort = std::move(s);
      break;
    }
    Result<std::string_view> piece = source();
    if (!piece.ok()) {
      abort = piece.status();
      break;
    }
    if (piece->empty()) break;
    if (PQputCopyData(conn_, piece->data(), static_cast<int>(piece->size())) != 1) {
      return ConnectionError(what);
    }
  }
  if (PQputCopyEnd(conn_, abort.has_value() ? "aborted by backout" : nullptr) != 1) {
    return ConnectionError(what);
  }
  Result<PgResult> end = CollectResults(what);
  if (abort.has_value()) return abort->WithContext(what);
  if (!end.ok()) return end.status();
  return std::strtoll(PQcmdTuples(end->get()), nullptr, 10);
}

void Connection::RollbackQuietly() {
  if (broken() || !in_transaction()) return;
  const StopCondition never(nullptr, std::chrono::milliseconds(0));
  (void)Exec("ROLLBACK", "rollback", never);
}

std::string QuoteIdentifier(std::string_view name) { return QuoteByDoubling(name, '"'); }

std::string QuoteLiteral(std::string_view text) { return QuoteByDoubling(text, '\''); }

std::optional<std::string> Value(const PGresult* result, int row, int column) {
  if (PQgetisnull(result, row, column) != 0) return std::nullopt;
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

}  // namespace backout::adapters::postgres
