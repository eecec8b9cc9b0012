#include "adapters/sqlite/connection.h"

#include <fmt/format.h>

#include <algorithm>
#include <thread>
#include <utility>


namespace backout::adapters::sqlite {
namespace {

// How many virtual-machine instructions SQLite runs between stop checks: small enough that
// a cancel is noticed within about a millisecond, large enough to cost nothing measurable.
constexpr int kInstructionsPerStopCheck = 1000;

// How long to sleep between attempts to take a lock another connection holds. Short, so a
// cancel or the end of busy_timeout is noticed promptly.
constexpr std::chrono::milliseconds kLockPollInterval{10};

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const std::filesystem::path& path,
                                                     AccessMode mode,
                                                     std::chrono::milliseconds busy_timeout,
                                                     const StopCondition& stop) {
  // SQLite would refuse a missing file too (no SQLITE_OPEN_CREATE), but only with "unable to
  // open database file"; a missing database deserves a message that says so.
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) {
      return Status::IOError(
          fmt::format("sqlite database {} cannot be checked: {}", path.string(), ec.message()));
    }
    return Status::NotFound(fmt::format("sqlite database {} does not exist", path.string()));
  }
  const int flags = mode == AccessMode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::IOError(
        fmt::format("sqlite database {} cannot be opened: {}", path.string(), message));
  }
  return std::unique_ptr<Connection>(new Connection(db, path, busy_timeout, stop));
}

Connection::Connection(sqlite3* db, std::filesystem::path path,
                       std::chrono::milliseconds busy_timeout, const StopCondition& stop)
    : db_(db), path_(std::move(path)), busy_timeout_(busy_timeout), stop_(stop) {
  sqlite3_busy_handler(db_, &Connection::OnBusy, this);
  sqlite3_progress_handler(db_, kInstructionsPerStopCheck, &Connection::OnProgress, this);
}

Connection::~Connection() { sqlite3_close_v2(db_); }

Status Connection::Exec(const std::string& sql, std::string_view what) {
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, what);
  return Status::Ok();
}

Result<Statement> Connection::Prepare(std::string_view sql, std::string_view what,
                                      std::string_view* rest) {
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  Statement statement(raw);
  if (rc != SQLITE_OK) return Error(rc, what);
  if (rest != nullptr) *rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  return statement;
}

Result<bool> Connection::Step(sqlite3_stmt* statement, std::string_view what) {
  const int rc = sqlite3_step(statement);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc, what);
}

Status Connection::BeginSnapshot(std::string_view what) {
  // A plain BEGIN takes no lock until the first read; the SELECT takes it now.
  return Exec("BEGIN; SELECT count(*) FROM sqlite_schema;", what);
}

void Connection::Rollback() {
  if (sqlite3_get_autocommit(db_) != 0) return;  // SQLite already rolled back on the error
  sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  // A failed ROLLBACK leaves nothing better to do: closing the connection rolls back too.
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_progress_handler(db_, kInstructionsPerStopCheck, &Connection::OnProgress, this);
}

Status Connection::Error(int rc, std::string_view what) const {
  const int primary = rc & 0xff;
  // The progress handler turns a stop into SQLITE_INTERRUPT, the busy handler into
  // SQLITE_BUSY; report why we stopped rather than the symptom.
  if ((primary == SQLITE_INTERRUPT || primary == SQLITE_BUSY) && stop_.Fired()) {
    return stop_.Check().WithContext(what);
  }
  if (primary == SQLITE_BUSY) return Locked(what);
  return Status::IOError(fmt::format("{}: {}", what, sqlite3_errmsg(db_)));
}

Status Connection::Locked(std::string_view what) const {
  return Status::Unavailable(
      fmt::format("{}: sqlite database {} is locked by another connection (waited {} ms)", what,
                  path_.string(), busy_timeout_.count()));
}

int Connection::OnBusy(void* self, int attempts) {
  auto* connection = static_cast<Connection*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (attempts == 0) connection->busy_since_ = now;
  if (connection->stop_.Fired()) return 0;
  const auto waited = now - connection->busy_since_;
  if (waited >= connection->busy_timeout_) return 0;
  std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
      kLockPollInterval, connection->busy_timeout_ - waited));
  return 1;  // try again
}

int Connection::OnProgress(void* self) {
  return static_cast<Connection*>(self)->stop_.Fired() ? 1 : 0;
}

}  // namespace backout::adapters::sqlite
