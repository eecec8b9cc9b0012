#include "adapters/postgres/postgres_adapter.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/common/run.h"
#include "adapters/postgres/actions.h"
#include "adapters/postgres/client_programs.h"
#include "adapters/postgres/connection.h"
#include "adapters/postgres/params.h"
#include "adapters/postgres/preflight.h"
#include "base/time.h"

namespace backout::adapters {
namespace {

using common::FromResult;
using nlohmann::json;
using postgres::ActionContext;
using postgres::Connection;
using postgres::ConnInfo;
using postgres::PgResult;
using postgres::References;
using postgres::StopCondition;

Outcome Dispatch(postgres::Action action, const ActionContext& context) {
  switch (action) {
    case postgres::Action::kSql:
      return FromResult(postgres::RunSql(context));
    case postgres::Action::kBackup:
      return FromResult(postgres::RunBackup(context));
    case postgres::Action::kRestore:
      return FromResult(postgres::RunRestore(context));
    case postgres::Action::kBaseline:
      return FromResult(postgres::RunBaseline(context));
    case postgres::Action::kVerify:
      return postgres::RunVerify(context);
    case postgres::Action::kQuery:
      return postgres::RunQuery(context);
  }
  return Outcome{Status::InvalidArgument("unknown postgres action")};  // unreachable: validated
}

const std::string& DsnOf(const json& target) {
  return target.at("dsn").get_ref<const std::string&>();
}

// Scratch names come from the engine; checked again because they go into DROP DATABASE.
Status CheckScratchName(const std::string& name) {
  const bool valid = !name.empty() && name.size() <= 48 &&
                     std::all_of(name.begin(), name.end(), [](char ch) {
                       return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
                     });
  if (valid) return Status::Ok();
  return Status::InvalidArgument(fmt::format("rehearsal copy name '{}' is not [a-z0-9_]{{1,48}}",
                                             name));
}

class PostgresAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return PostgresVocabulary(); }
  nlohmann::json Describe(const DescribeRequest& r) const override { return DescribePostgresAction(r); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return postgres::ValidateInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunValidated(invocation, postgres::ValidateInvocation,
                                [&] { return RunAction(invocation); });
  }

  // The lock is the connection's: taken when the connection is opened, and held as long as
  // the adapter keeps it. A cached connection that broke is replaced here, so the lock is
  // taken again before the step rather than inside it.
  Status Lock(const LockRequest& request) override {
    const std::string& dsn = DsnOf(request.target);
    const StopCondition stop(request.cancel, std::chrono::milliseconds(0));
    return Acquire(dsn, request.run_id, stop, request.same_run_wait).status();
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return postgres::Preflight(request);
  }

  bool CanCopyForRehearsal() const override { return true; }

  Result<json> MakeRehearsalCopy(const json& target, const RehearsalScratch& scratch) override;
  Status DropRehearsalCopy(const json& copy, const RehearsalScratch& scratch) override;

 private:
  Outcome RunAction(const Invocation& invocation) {
    const StopCondition stop(invocation.cancel, invocation.timeout);
    std::optional<std::chrono::milliseconds> lock_timeout =
        postgres::DurationParam(invocation.params, "lock_timeout");
    if (!lock_timeout.has_value()) {
      lock_timeout = postgres::DurationParam(invocation.target, "lock_timeout");
    }
    Result<Connection*> conn = Prepare(invocation, stop, lock_timeout);
    if (!conn.ok()) return Outcome{conn.status()};
    const ActionContext context{invocation, invocation.params, **conn, stop, lock_timeout};
    Outcome outcome = Dispatch(*postgres::ParseAction(invocation.action), context);
    // A failed action may leave its transaction open; the next step starts clean.
    (*conn)->RollbackQuietly();
    (*conn)->TakeNotices();
    if ((*conn)->broken()) connections_.erase(DsnOf(invocation.target));
    return outcome;
  }

  // The target's connection, locked and set up for this step. A cached connection that
  // turns out to be dead is replaced once.
  Result<Connection*> Prepare(const Invocation& invocation, const StopCondition& stop,
                              std::optional<std::chrono::milliseconds> lock_timeout) {
    const std::string& dsn = DsnOf(invocation.target);
    for (int attempt = 0;; ++attempt) {
      Result<Connection*> conn = Acquire(dsn, invocation.run_id, stop);
      if (!conn.ok()) return conn.status();
      std::string setup = "RESET ALL;";
      const std::optional<std::chrono::milliseconds> remaining = stop.Remaining();
      setup += fmt::format(" SET statement_timeout = {};",
                           remaining.has_value() ? std::max<std::int64_t>(remaining->count(), 1)
                                                 : 0);
      (*conn)->set_statement_timeout_text(
          invocation.timeout.count() > 0 ? FormatDuration(invocation.timeout) : "");
      (*conn)->set_lock_timeout_text(lock_timeout.has_value() ? FormatDuration(*lock_timeout)
                                                              : "");
      if (lock_timeout.has_value()) {
        setup += fmt::format(" SET lock_timeout = {};", lock_timeout->count());
      }
      if (const auto schema = invocation.target.find("schema"); schema != invocation.target.end()) {
        const std::string& name = schema->get_ref<const std::string&>();
        setup += fmt::format(" SET search_path = {}{};", postgres::QuoteIdentifier(name),
                             name == "public" ? "" : ", public");
      }
      Result<PgResult> done = (*conn)->Exec(setup, "preparing the session", stop);
      if (done.ok()) return *conn;
      if (!(*conn)->broken() || attempt > 0) return done.status();
      connections_.erase(dsn);  // died since the last step (server restart, idle timeout)
    }
  }

  // The cached connection for `dsn`, or a new one holding the advisory lock.
  Result<Connection*> Acquire(const std::string& dsn, const std::string& run_id,
                              const StopCondition& stop,
                              std::chrono::milliseconds same_run_wait = kSameRunWait) {
    auto it = connections_.find(dsn);
    if (it != connections_.end() && !it->second->broken()) return it->second.get();
    if (it != connections_.end()) connections_.erase(it);
    const std::string application_name = fmt::format("backout run {}", run_id);
    Result<std::unique_ptr<Connection>> opened =
        Connection::Open(dsn, {{"application_name", application_name}}, stop);
    if (!opened.ok()) return opened.status();
    BACKOUT_RETURN_IF_ERROR(TakeAdvisoryLock(**opened, application_name, stop, same_run_wait));
    Connection* conn = opened->get();
    connections_[dsn] = std::move(opened).value();
    return conn;
  }

  // Tries pg_try_advisory_lock until it is had, or until a holder that is not going away is
  // found. Three holders are going away and are waited for, up to `same_run_wait`: a
  // connection of this same run whose runner was killed (the server has not noticed yet, or
  // is still rolling back the step that was under way; only one process drives a run, the
  // journal's runner lock, so it is stale and is ended), a backend that is exiting (its
  // pg_stat_activity row already gone), and a holder that is gone by the time it is looked
  // up (its session was closing when the lock was tried).
  Status TakeAdvisoryLock(Connection& conn, const std::string& application_name,
                          const StopCondition& stop, std::chrono::milliseconds same_run_wait) {
    const auto give_up = std::chrono::steady_clock::now() + same_run_wait;
    for (;;) {
      Result<PgResult> taken = conn.Exec(
          fmt::format("SELECT pg_try_advisory_lock(({}::bigint << 32) | d.oid::bigint), d.oid "
                      "FROM pg_database d WHERE d.datname = current_database()",
                      kAdvisoryLockNamespace),
          fmt::format("{}: taking the runner's advisory lock", conn.Describe()), stop);
      if (!taken.ok()) return taken.status();
      if (*postgres::Value(taken->get(), 0, 0) == "t") return Status::Ok();
      const std::string database_oid = *postgres::Value(taken->get(), 0, 1);
      Result<PgResult> holders = conn.ExecParams(
          fmt::format("SELECT l.pid, coalesce(a.application_name, ''), "
                      "coalesce(host(a.client_addr), 'local socket'), coalesce(a.usename, '?'), "
                      "coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?'), a.pid IS NULL "
                      "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
                      "WHERE l.locktype = 'advisory' AND l.granted AND l.database = $1::oid "
                      "AND l.classid = {}::oid AND l.objid = $1::oid AND l.objsubid = 1",
                      kAdvisoryLockNamespace),
          {database_oid}, fmt::format("{}: finding the advisory lock's holder", conn.Describe()),
          stop);
      if (!holders.ok()) return holders.status();
      const bool may_wait = std::chrono::steady_clock::now() < give_up;
      std::string holder = fmt::format(
          "a session that kept ending as it was looked up, for {}", FormatDuration(same_run_wait));
      if (PQntuples(holders->get()) == 0) {
        if (may_wait) {
          BACKOUT_RETURN_IF_ERROR(stop.Sleep(std::chrono::milliseconds(20)));
          continue;
        }
      } else {
        const PGresult* r = holders->get();
        const std::string pid = *postgres::Value(r, 0, 0);
        for (const auto& [dsn, own] : connections_) {
          // One of this adapter's own connections (another DSN for the same database).
          if (std::to_string(PQbackendPID(own->handle())) == pid) return Status::Ok();
        }
        const bool same_run = *postgres::Value(r, 0, 1) == application_name;
        // No pg_stat_activity row: a backend that is exiting (its row is cleared before its
        // locks are released), as the killed runner's is; it is waited for like a holder
        // that is already gone.
        if (*postgres::Value(r, 0, 5) == "t" && may_wait) {
          BACKOUT_RETURN_IF_ERROR(stop.Sleep(std::chrono::milliseconds(20)));
          continue;
        }
        if (same_run && may_wait) {
          Result<PgResult> ended = conn.ExecParams(
              "SELECT pg_terminate_backend($1::int)", {pid},
              fmt::format("{}: ending this run's stale connection", conn.Describe()), stop);
          if (!ended.ok()) return ended.status();
          BACKOUT_RETURN_IF_ERROR(stop.Sleep(std::chrono::milliseconds(50)));
          continue;
        }
        holder = fmt::format(
            "pid {}, application_name '{}', client {}, user {}, connected since {}{}", pid,
            *postgres::Value(r, 0, 1), *postgres::Value(r, 0, 2), *postgres::Value(r, 0, 3),
            *postgres::Value(r, 0, 4),
            same_run ? fmt::format("; a session of this run that did not end within {}",
                                   FormatDuration(same_run_wait))
                     : "");
      }
      return Status::Locked(fmt::format(
          "{}: another backout runner is working on database {} ({}); wait for it to finish, "
          "or stop it first",
          conn.Describe(), PQdb(conn.handle()), holder));
    }
  }

  // A connection to the server's maintenance database (postgres, else template1) with the
  // credentials of `dsn`, for CREATE and DROP DATABASE.
  static Result<std::unique_ptr<Connection>> OpenMaintenance(const std::string& dsn,
                                                             const StopCondition& stop) {
    Result<std::unique_ptr<Connection>> conn = Status::Unavailable("");
    for (const char* db : {"postgres", "template1"}) {
      conn = Connection::Open(dsn, {{"dbname", db}, {"application_name", "backout rehearsal"}},
                              stop);
      if (conn.ok() || conn.status().code() != Code::kNotFound) break;
    }
    return conn;
  }

  // How long a step that has to reconnect in the middle of a run (Prepare) waits for a
  // stale session of its own run; the engine passes its own bound to Lock.
  static constexpr std::chrono::milliseconds kSameRunWait{30000};

  std::map<std::string, std::unique_ptr<Connection>> connections_;  // by expanded DSN
};

Result<json> PostgresAdapter::MakeRehearsalCopy(const json& target,
                                                const RehearsalScratch& scratch) {
  BACKOUT_RETURN_IF_ERROR(CheckScratchName(scratch.name));
  const std::string& dsn = DsnOf(target);
  Result<ConnInfo> info = ConnInfo::Parse(dsn);
  if (!info.ok()) return info.status();
  json copy = target;
  copy["dsn"] = info->With("dbname", scratch.name).ToString();
  const StopCondition stop(scratch.cancel, std::chrono::milliseconds(0));
  auto progress = [&](const std::string& text) {
    if (scratch.progress) scratch.progress(text);
  };
  std::string source;
  {
    // Which database the DSN names (it may leave dbname to libpq's defaults). Closed at once:
    // CREATE DATABASE ... TEMPLATE needs the source free of sessions.
    Result<std::unique_ptr<Connection>> probe =
        Connection::Open(dsn, {{"application_name", "backout rehearsal"}}, stop);
    if (!probe.ok()) return probe.status().WithContext("rehearsal copy");
    source = PQdb((*probe)->handle());
  }
  Result<std::unique_ptr<Connection>> admin = OpenMaintenance(dsn, stop);
  if (!admin.ok()) return admin.status().WithContext("rehearsal copy");
  Connection& server = **admin;
  Result<PgResult> exists = server.ExecParams("SELECT 1 FROM pg_database WHERE datname = $1",
                                               {scratch.name}, "rehearsal copy", stop);
  if (!exists.ok()) return exists.status();
  if (PQntuples(exists->get()) > 0) return copy;  // made by an earlier run of this rehearsal
  // Built under a temporary name and renamed when complete: a copy is never seen half made.
  const std::string temp = scratch.name + "_partial";
  const std::string temp_sql = postgres::QuoteIdentifier(temp);
  BACKOUT_RETURN_IF_ERROR(
      server.Exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", temp_sql),
                  "rehearsal copy: removing a partial copy", stop)
          .status());
  progress(fmt::format("cloning database {} as {}", source, scratch.name));
  Result<PgResult> cloned =
      server.Exec(fmt::format("CREATE DATABASE {} TEMPLATE {}", temp_sql,
                              postgres::QuoteIdentifier(source)),
                  "rehearsal copy: CREATE DATABASE ... TEMPLATE", stop);
  if (!cloned.ok()) {
    // Another session is connected to the source (SQLSTATE 55006), or this role may not use
    // it as a template: copy it through pg_dump and pg_restore instead.
    if (cloned.status().code() == Code::kCancelled) return cloned.status();
    progress(fmt::format("database {} is in use; copying it with pg_dump", source));
    BACKOUT_RETURN_IF_ERROR(server.Exec(fmt::format("CREATE DATABASE {}", temp_sql),
                                        "rehearsal copy: CREATE DATABASE", stop)
                                .status());
    const std::filesystem::path dump = scratch.dir / (scratch.name + ".dump");
    postgres::ClientCall call;
    call.connection = *info;
    call.application_name = "backout rehearsal pg_dump";
    call.cancel = scratch.cancel;
    call.program = "pg_dump";
    call.args = {"--format=custom", "--file=" + dump.string()};
    Status status = postgres::RunClientProgram(call).status();
    if (status.ok()) {
      call.program = "pg_restore";
      call.application_name = "backout rehearsal pg_restore";
      call.connection = info->With("dbname", temp);
      call.args = {"--exit-on-error", dump.string()};
      status = postgres::RunClientProgram(call).status();
    }
    std::error_code ignored;
    std::filesystem::remove(dump, ignored);
    if (!status.ok()) {
      (void)server.Exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", temp_sql),
                        "rehearsal copy: cleaning up", StopCondition(nullptr, {}));
      return status.WithContext("rehearsal copy");
    }
  }
  BACKOUT_RETURN_IF_ERROR(server
                              .Exec(fmt::format("ALTER DATABASE {} RENAME TO {}", temp_sql,
                                                postgres::QuoteIdentifier(scratch.name)),
                                    "rehearsal copy: renaming the finished copy", stop)
                              .status());
  return copy;
}

Status PostgresAdapter::DropRehearsalCopy(const json& copy, const RehearsalScratch& scratch) {
  BACKOUT_RETURN_IF_ERROR(CheckScratchName(scratch.name));
  connections_.erase(DsnOf(copy));  // our own session would keep the database busy
  const StopCondition stop(scratch.cancel, std::chrono::milliseconds(0));
  Result<std::unique_ptr<Connection>> admin = OpenMaintenance(DsnOf(copy), stop);
  if (!admin.ok()) return admin.status().WithContext("dropping the rehearsal copy");
  for (const std::string& name : {scratch.name, scratch.name + "_partial"}) {
    BACKOUT_RETURN_IF_ERROR(
        (*admin)
            ->Exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)",
                               postgres::QuoteIdentifier(name)),
                   "dropping the rehearsal copy", stop)
            .status());
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<Adapter> MakePostgresAdapter() { return std::make_unique<PostgresAdapter>(); }

}  // namespace backout::adapters
