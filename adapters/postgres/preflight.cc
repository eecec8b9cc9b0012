// Preflight for the PostgreSQL adapter (preflight.h): one read-only session per step, and the
// files the step reads and writes.
#include "adapters/postgres/preflight.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "adapters/common/files.h"
#include "adapters/common/preflight.h"
#include "adapters/common/subprocess.h"
#include "adapters/postgres/actions.h"
#include "adapters/postgres/backup_format.h"
#include "adapters/postgres/client_programs.h"
#include "adapters/postgres/connection.h"
#include "adapters/postgres/content.h"
#include "adapters/postgres/params.h"

namespace backout::adapters::postgres {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The table names of `params[key]` known now (a whole list from `${steps...}` gives none).
std::vector<std::string> KnownTables(const json& params, std::string_view key) {
  std::vector<std::string> names;
  const auto it = params.find(key);
  if (it == params.end() || !it->is_array()) return names;
  for (const json& name : *it) {
    if (name.is_string() && !common::KnownOnlyAtRunTime(name.get_ref<const std::string&>())) {
      names.push_back(name.get<std::string>());
    }
  }
  return names;
}

// The server's major version from PQserverVersion (160004 -> 16; 90624 -> 9).
int MajorOf(int server_version) {
  return server_version >= 100000 ? server_version / 10000 : server_version / 100 / 100;
}

// The "16.4" of "pg_dump (PostgreSQL) 16.4 (Debian 16.4-1)"; nullopt when there is none.
std::optional<std::string> VersionIn(std::string_view output) {
  const std::size_t at = output.find(") ");
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t end = at + 2;
  while (end < output.size() &&
         (std::isdigit(static_cast<unsigned char>(output[end])) != 0 || output[end] == '.')) {
    ++end;
  }
  if (end == at + 2) return std::nullopt;
  return std::string(output.substr(at + 2, end - at - 2));
}

// What the checks of one step share: the step, as an ActionContext on the preflight session,
// so that the adapter's own table lookups serve.
class StepCheck {
 public:
  StepCheck(const PreflightRequest& request, Connection& conn, const StopCondition& stop)
      : invocation_(MakeInvocation(request)),
        conn_(conn),
        context_{invocation_, invocation_.params, conn, stop, std::nullopt} {}

  const ActionContext& context() const { return context_; }
  Connection& conn() const { return conn_; }
  const json& params() const { return invocation_.params; }
  int server_version() const { return PQserverVersion(conn_.handle()); }
  std::string user() const { return PQuser(conn_.handle()); }

  // The first value of `sql` as text ("" for NULL), or why it could not be read.
  Result<std::string> Scalar(std::string_view sql, std::vector<std::optional<std::string>> args,
                             std::string_view what) const {
    Result<PgResult> result = context_.Query(sql, args, what);
    if (!result.ok()) return result.status();
    if (PQntuples(result->get()) == 0) return std::string();
    return Value(result->get(), 0, 0).value_or("");
  }

 private:
  static Invocation MakeInvocation(const PreflightRequest& request) {
    Invocation invocation;
    invocation.action = request.action;
    invocation.target = request.target;
    invocation.params = request.params;
    invocation.base_dir = request.base_dir;
    invocation.cancel = request.cancel;
    invocation.env = request.env;
    return invocation;
  }

  Invocation invocation_;
  Connection& conn_;
  ActionContext context_;
};

PreflightFinding Finding(std::string check, Status status) {
  return PreflightFinding{.check = std::move(check), .status = std::move(status)};
}

// `privileges` ("TRUNCATE,INSERT") on the table `name` for the session's role. A table that
// does not exist now cannot be judged (an earlier step may create it): the finding says so and
// is OK; the step itself reports a table still missing when it runs.
PreflightFinding CheckPrivileges(const StepCheck& step, const std::string& name,
                                 const std::string& privileges) {
  std::string shown = privileges;
  for (char& ch : shown) {
    if (ch == ',') ch = '/';
  }
  std::string check = fmt::format("privilege {} on table {}", shown, name);
  Result<PgResult> answer = step.context().Query(
      "SELECT t.r IS NULL, coalesce(string_agg(u.p, ', ' ORDER BY u.n) "
      "FILTER (WHERE NOT has_table_privilege(t.r, u.p)), '') "
      "FROM (SELECT to_regclass($1) AS r) t, "
      "unnest(string_to_array($2, ',')) WITH ORDINALITY AS u(p, n) GROUP BY t.r",
      {name, privileges}, fmt::format("checking the privileges on table '{}'", name));
  if (!answer.ok()) return Finding(std::move(check), answer.status());
  if (Value(answer->get(), 0, 0) == "t") {
    check += " (the table does not exist now; checked when the step runs)";
    return Finding(std::move(check), Status::Ok());
  }
  const std::string missing = Value(answer->get(), 0, 1).value_or("");
  if (missing.empty()) return Finding(std::move(check), Status::Ok());
  return Finding(std::move(check),
                 Status::FailedPrecondition(fmt::format(
                     "role {} lacks {} on table {}: the step would fail with \"permission "
                     "denied\"; GRANT {} ON {} TO {} first",
                     step.user(), missing, name, missing, name, step.user())));
}

// Steps that write must find a server that takes writes: not a standby, and not read-only by
// default for this role or database. Reads the setting before the preflight session turns it
// on for itself.
PreflightFinding CheckWritable(const StepCheck& step, const std::string& default_read_only) {
  std::string check = "server accepts writes";
  Result<std::string> recovery = step.Scalar("SELECT pg_is_in_recovery()", {}, "preflight");
  if (!recovery.ok()) return Finding(std::move(check), recovery.status());
  if (*recovery == "t") {
    return Finding(std::move(check),
                   Status::FailedPrecondition(fmt::format(
                       "{} is a standby (in recovery): it accepts no writes; point the target "
                       "at the primary",
                       step.conn().Describe())));
  }
  if (default_read_only == "on") {
    return Finding(std::move(check),
                   Status::FailedPrecondition(fmt::format(
                       "{}: default_transaction_read_only is on for this role or database, so "
                       "every write of the step would fail",
                       step.conn().Describe())));
  }
  return Finding(std::move(check), Status::Ok());
}

// About as many bytes as a backup of `tables` (or, with none, of the database) takes: their
// size on disk now. A table that does not exist counts nothing.
Result<std::uint64_t> BytesToBackUp(const StepCheck& step, const std::vector<std::string>& tables) {
  if (tables.empty()) {
    Result<std::string> bytes = step.Scalar("SELECT pg_database_size(current_database())", {},
                                            "preflight: the database's size");
    if (!bytes.ok()) return bytes.status();
    return static_cast<std::uint64_t>(std::strtoull(bytes->c_str(), nullptr, 10));
  }
  std::uint64_t total = 0;
  for (const std::string& name : tables) {
    Result<std::string> bytes =
        step.Scalar("SELECT coalesce(pg_total_relation_size(to_regclass($1)), 0)", {name},
                    fmt::format("preflight: the size of table '{}'", name));
    if (!bytes.ok()) return bytes.status();
    total += static_cast<std::uint64_t>(std::strtoull(bytes->c_str(), nullptr, 10));
  }
  return total;
}

// pg_dump reads every table of the database: each one this role may not read fails it.
PreflightFinding CheckReadsEverything(const StepCheck& step) {
  std::string check = "privilege SELECT on every table (pg_dump)";
  Result<PgResult> unreadable = step.context().Query(
      "SELECT c.oid::regclass::text FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'p', 'm', 'S') "
      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
      "AND NOT has_table_privilege(c.oid, 'SELECT') ORDER BY 1 LIMIT 6",
      {}, "preflight: the tables pg_dump reads");
  if (!unreadable.ok()) return Finding(std::move(check), unreadable.status());
  const int count = PQntuples(unreadable->get());
  if (count == 0) return Finding(std::move(check), Status::Ok());
  std::vector<std::string> names;
  for (int i = 0; i < count && i < 5; ++i) names.push_back(*Value(unreadable->get(), i, 0));
  return Finding(std::move(check),
                 Status::FailedPrecondition(fmt::format(
                     "role {} may not read {}{}: pg_dump would fail with \"permission denied\"",
                     step.user(), fmt::join(names, ", "), count > 5 ? " and more" : "")));
}

void AddBackupFindings(const StepCheck& step, const PreflightRequest& request,
                       std::vector<PreflightFinding>& findings) {
  const json& params = step.params();
  const std::vector<std::string> tables = KnownTables(params, "tables");
  if (params.contains("tables")) {
    for (const std::string& name : tables) {
      findings.push_back(CheckPrivileges(step, name, "SELECT"));
    }
  } else {
    if (params.contains("full")) findings.push_back(CheckReadsEverything(step));
    findings.push_back(CheckClientProgram("pg_dump", FindClientProgram("pg_dump"),
                                          step.server_version(), request.cancel));
  }
  const std::optional<std::string> to = common::KnownString(params, "to");
  if (!to.has_value()) return;
  // A schema-only dump is small; a data backup about as large as what it copies.
  std::uint64_t needed = 0;
  if (!params.contains("schema_only")) {
    Result<std::uint64_t> bytes = BytesToBackUp(step, tables);
    if (!bytes.ok()) {
      findings.push_back(Finding(fmt::format("backup destination {}", *to), bytes.status()));
      return;
    }
    needed = *bytes;
  }
  findings.push_back(common::CheckBackupDestination(request.base_dir, *to, needed));
}

// The tables a restore names are all in its tables file.
PreflightFinding CheckFileHoldsTables(const fs::path& path, const std::string& from,
                                      const std::vector<std::string>& tables) {
  std::string check = fmt::format("restore source {} holds the tables", from);
  TablesFileReader reader;
  if (Status opened = reader.Open(path); !opened.ok()) {
    return Finding(std::move(check), opened.WithContext(fmt::format("restore source {}", from)));
  }
  std::vector<std::string> held;
  for (const TablesFileTable& table : reader.header().tables) held.push_back(table.name);
  for (const std::string& name : tables) {
    if (std::find(held.begin(), held.end(), name) == held.end()) {
      return Finding(std::move(check),
                     Status::NotFound(fmt::format("restore source {} holds no table '{}' (it "
                                                  "holds: {})",
                                                  from, name, fmt::join(held, ", "))));
    }
  }
  return Finding(std::move(check), Status::Ok());
}

// The tables a pg_dump archive defines (`pg_restore --list`: "ID; CLASS OID TABLE SCHEMA NAME
// OWNER"), as "schema\nname" pairs. Names holding spaces cannot be told apart in the list and
// are left out.
Result<std::vector<std::pair<std::string, std::string>>> ArchiveTables(
    const fs::path& pg_restore, const fs::path& archive, const std::atomic<bool>* cancel) {
  SubprocessOptions options;
  options.argv = {pg_restore.string(), "--list", archive.string()};
  options.timeout = std::chrono::seconds(60);
  options.cancel = cancel;
  options.tail_capacity = 64u << 20;
  Result<SubprocessResult> ran = RunSubprocess(options);
  if (!ran.ok()) return ran.status();
  if (ran->stopped == StopReason::kCancel) {
    return Status::Cancelled("pg_restore: stopped by signal");
  }
  if (ran->exit_code != 0) {
    return Status::InvalidArgument(fmt::format("pg_restore --list cannot read it: {}",
                                               CleanLibpqMessage(ran->output_tail)));
  }
  std::vector<std::pair<std::string, std::string>> tables;
  std::istringstream lines(ran->output_tail);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.front() == ';') continue;
    std::istringstream words(line);
    std::vector<std::string> word;
    for (std::string w; words >> w;) word.push_back(w);
    if (word.size() == 7 && word[3] == "TABLE") tables.emplace_back(word[4], word[5]);
  }
  return tables;
}

// `pg_restore --clean` drops every table of the archive that exists before it creates it again,
// and only a member of a table's owner role may drop it.
PreflightFinding CheckOwnsArchiveTables(const StepCheck& step, const fs::path& pg_restore,
                                        const fs::path& archive, const std::string& from,
                                        const std::atomic<bool>* cancel) {
  std::string check = fmt::format("ownership of the tables {} replaces", from);
  Result<std::vector<std::pair<std::string, std::string>>> tables =
      ArchiveTables(pg_restore, archive, cancel);
  if (!tables.ok()) {
    Status status = tables.status().WithContext(fmt::format("restore source {}", from));
    return Finding(std::move(check), std::move(status));
  }
  std::string schemas;
  std::string names;
  for (const auto& [schema, name] : *tables) {
    schemas += schema + "\n";
    names += name + "\n";
  }
  Result<PgResult> foreign = step.context().Query(
      "SELECT format('%I.%I', n.nspname, c.relname), pg_get_userbyid(c.relowner) "
      "FROM unnest(string_to_array($1, E'\\n'), string_to_array($2, E'\\n')) AS w(s, r) "
      "JOIN pg_namespace n ON n.nspname = w.s "
      "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.r "
      "WHERE NOT pg_has_role(c.relowner, 'USAGE') ORDER BY 1 LIMIT 6",
      {schemas, names}, "preflight: the owners of the archive's tables");
  if (!foreign.ok()) return Finding(std::move(check), foreign.status());
  const int count = PQntuples(foreign->get());
  if (count == 0) return Finding(std::move(check), Status::Ok());
  std::vector<std::string> owned;
  for (int i = 0; i < count && i < 5; ++i) {
    owned.push_back(fmt::format("{} (owner {})", *Value(foreign->get(), i, 0),
                                *Value(foreign->get(), i, 1)));
  }
  return Finding(std::move(check),
                 Status::FailedPrecondition(fmt::format(
                     "role {} does not own {}{}: pg_restore --clean would fail to drop it; run "
                     "the restore as the owner",
                     step.user(), fmt::join(owned, ", "), count > 5 ? " and more" : "")));
}

void AddRestoreFindings(const StepCheck& step, const PreflightRequest& request,
                        std::vector<PreflightFinding>& findings) {
  const json& params = step.params();
  const std::optional<std::string> from = common::KnownString(params, "from");
  const std::vector<std::string> tables = KnownTables(params, "tables");
  bool readable = false;
  if (from.has_value()) {
    std::optional<std::string> sha256 = common::KnownString(params, "sha256");
    PreflightFinding source = common::CheckRestoreSource(request.base_dir, *from, sha256);
    readable = source.status.ok();
    findings.push_back(std::move(source));
  }
  if (params.contains("tables")) {
    if (readable) {
      findings.push_back(
          CheckFileHoldsTables(common::ResolvePath(request.base_dir, *from), *from, tables));
    }
    // TRUNCATE, then COPY ... FROM (INSERT); the indexes are rebuilt only where the role owns
    // the table, so ownership is not needed.
    for (const std::string& name : tables) {
      findings.push_back(CheckPrivileges(step, name, "TRUNCATE,INSERT"));
    }
    return;
  }
  const Result<fs::path> pg_restore = FindClientProgram("pg_restore");
  PreflightFinding program =
      CheckClientProgram("pg_restore", pg_restore, step.server_version(), request.cancel);
  const bool usable = program.status.ok();
  findings.push_back(std::move(program));
  if (readable && usable) {
    findings.push_back(CheckOwnsArchiveTables(step, *pg_restore,
                                              common::ResolvePath(request.base_dir, *from),
                                              *from, request.cancel));
  }
}

// A `file:` script the step reads.
PreflightFinding CheckScriptFile(const fs::path& base_dir, const std::string& file) {
  std::string check = fmt::format("script file {}", file);
  const fs::path path = common::ResolvePath(base_dir, file);
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    return Finding(std::move(check),
                   Status::NotFound(fmt::format("script file {} does not exist", file)));
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return Finding(std::move(check), common::ErrnoError("script file", path));
  }
  return Finding(std::move(check), Status::Ok());
}

// The connection string for preflight: the plan's, with a connect timeout of at most
// kPreflightConnectTimeout.
Result<std::string> PreflightDsn(const std::string& dsn) {
  Result<ConnInfo> info = ConnInfo::Parse(dsn);
  if (!info.ok()) return info.status();
  const std::string given = info->Get("connect_timeout");
  const long seconds = given.empty() ? 0 : std::atol(given.c_str());
  if (seconds > 0 && seconds <= kPreflightConnectTimeout.count()) return dsn;
  return info->With("connect_timeout", std::to_string(kPreflightConnectTimeout.count()))
      .ToString();
}

// Preflight() once the request's params are known to be valid.
std::vector<PreflightFinding> CheckStep(const PreflightRequest& request) {
  std::vector<PreflightFinding> findings;
  const std::optional<std::string> dsn = common::KnownString(request.target, "dsn");
  if (!dsn.has_value()) return findings;  // depends on an earlier step: checked when it runs
  const Action action = *ParseAction(request.action);
  if (action == Action::kSql) {
    if (std::optional<std::string> file = common::KnownString(request.params, "file")) {
      findings.push_back(CheckScriptFile(request.base_dir, *file));
    }
  }
  const StopCondition stop(request.cancel, std::chrono::milliseconds(0));
  Result<std::string> preflight_dsn = PreflightDsn(*dsn);
  if (!preflight_dsn.ok()) {
    findings.push_back(Finding("connect", preflight_dsn.status()));
    return findings;
  }
  Result<std::unique_ptr<Connection>> opened =
      Connection::Open(*preflight_dsn, {{"application_name", "backout preflight"}}, stop);
  if (!opened.ok()) {
    findings.push_back(Finding("connect", opened.status()));
    return findings;
  }
  Connection& conn = **opened;
  findings.push_back(Finding(
      fmt::format("connect ({}, server {})", conn.Describe(),
                  PQparameterStatus(conn.handle(), "server_version")),
      Status::Ok()));
  // The role's and database's own default, read before this session makes itself read-only.
  Result<PgResult> shown = conn.Exec("SHOW default_transaction_read_only", "preflight", stop);
  if (!shown.ok()) {
    findings.push_back(Finding("preparing the preflight session", shown.status()));
    return findings;
  }
  const std::string default_read_only = Value(shown->get(), 0, 0).value_or("");
  std::string setup = fmt::format(
      "SET default_transaction_read_only = on; SET lock_timeout = {}; "
      "SET statement_timeout = 30000;",
      std::chrono::milliseconds(kPreflightLockTimeout).count());
  if (std::optional<std::string> schema = common::KnownString(request.target, "schema")) {
    setup += fmt::format(" SET search_path = {}{};", QuoteIdentifier(*schema),
                         *schema == "public" ? "" : ", public");
  }
  if (Status prepared = conn.Exec(setup, "preflight: preparing the session", stop).status();
      !prepared.ok()) {
    findings.push_back(Finding("preparing the preflight session", prepared));
    return findings;
  }
  const StepCheck step(request, conn, stop);
  switch (action) {
    case Action::kSql:
      findings.push_back(CheckWritable(step, default_read_only));
      break;
    case Action::kRestore:
      findings.push_back(CheckWritable(step, default_read_only));
      AddRestoreFindings(step, request, findings);
      break;
    case Action::kBackup:
      AddBackupFindings(step, request, findings);
      break;
    case Action::kBaseline:
      for (const std::string& name : KnownTables(request.params, "tables")) {
        findings.push_back(CheckPrivileges(step, name, "SELECT"));
      }
      break;
    case Action::kVerify:
    case Action::kQuery:
      break;  // reads only, and what it reads may be made by earlier steps
  }
  conn.RollbackQuietly();
  return findings;
}

}  // namespace

PreflightFinding CheckClientProgram(std::string_view name, const Result<fs::path>& program,
                                    int server_version, const std::atomic<bool>* cancel) {
  std::string check = std::string(name);
  if (!program.ok()) return Finding(std::move(check), program.status());
  check = fmt::format("{} {}", name, program->string());
  SubprocessOptions options;
  options.argv = {program->string(), "--version"};
  options.timeout = std::chrono::seconds(10);
  options.cancel = cancel;
  Result<SubprocessResult> ran = RunSubprocess(options);
  if (!ran.ok()) {
    Status status = ran.status().WithContext(check);
    return Finding(std::move(check), std::move(status));
  }
  if (ran->stopped == StopReason::kCancel) {
    return Finding(std::move(check), Status::Cancelled(fmt::format("{}: stopped by signal", name)));
  }
  const std::optional<std::string> version = VersionIn(ran->output_tail);
  if (ran->exit_code != 0 || !version.has_value()) {
    return Finding(std::move(check),
                   Status::FailedPrecondition(fmt::format(
                       "{} --version did not answer with a version ({})", check,
                       CleanLibpqMessage(ran->output_tail))));
  }
  const int major = std::atoi(version->c_str());
  const int server_major = MajorOf(server_version);
  check = fmt::format("{} {} ({})", name, *version, program->string());
  if (major < server_major) {
    return Finding(std::move(check),
                   Status::FailedPrecondition(fmt::format(
                       "{} is version {}, older than the server (major version {}): it refuses "
                       "to work with a newer server; install postgresql-client-{}",
                       program->string(), *version, server_major, server_major)));
  }
  return Finding(std::move(check), Status::Ok());
}

std::vector<PreflightFinding> Preflight(const PreflightRequest& request) {
  return common::PreflightValidated(request, ValidateInvocation,
                                    [&] { return CheckStep(request); });
}

}  // namespace backout::adapters::postgres
