#include "tests/support/pg_server.h"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "tests/support/process.h"

namespace backout::testing {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSuperuserPassword = "Pw-superuser-2b81e0";

// The newest installed server: /usr/lib/postgresql/<major>/bin holding initdb.
fs::path FindBinDir() {
  fs::path best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string name = entry.path().filename().string();
    const int major = std::atoi(name.c_str());
    if (major > best_major && fs::exists(entry.path() / "bin" / "initdb", ec)) {
      best_major = major;
      best = entry.path() / "bin";
    }
  }
  if (best.empty()) {
    throw std::runtime_error(
        "no PostgreSQL server found under /usr/lib/postgresql/*/bin (install the Debian "
        "package postgresql; scripts/setup.sh does)");
  }
  return best;
}

bool RunningAsRoot() { return ::geteuid() == 0; }

fs::path FindRunuser() {
  for (const char* candidate : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  throw std::runtime_error("running as root needs runuser (util-linux) to start PostgreSQL");
}

}  // namespace

int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

PgServer::PgServer() : bin_dir_(FindBinDir()) {
  // Short on purpose: the socket path "<dir>/.s.PGSQL.<port>" must fit in 107 bytes.
  std::string tmpl = "/tmp/bkpg-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  socket_dir_ = root_;
  if (RunningAsRoot()) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      throw std::runtime_error(
          "running as root needs the OS user 'postgres' (the Debian postgresql package "
          "creates it) to own the test cluster");
    }
    if (::chown(root_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("chown of the test cluster directory failed");
    }
  }
  const fs::path pwfile = root_ / "pwfile";
  WriteFile(pwfile, std::string(kSuperuserPassword) + "\n");
  if (RunningAsRoot()) {
    const passwd* pw = ::getpwnam("postgres");
    if (::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("chown of the password file failed");
    }
  }
  RunServerProgram("initdb", {"-D", (root_ / "data").string(), "-U", "postgres",
                              "--pwfile=" + pwfile.string(), "-A", "scram-sha-256", "-E", "UTF8",
                              "--locale=C", "--no-sync"});
  fs::remove(pwfile);
  port_ = FreeTcpPort();
  // Durability settings off: a test that stops the server stops it cleanly, and fsyncs
  // would only slow the tests.
  options_ = "-k " + socket_dir_.string() + " -p " + std::to_string(port_) +
             " -c listen_addresses=127.0.0.1 -c fsync=off"
             " -c synchronous_commit=off -c full_page_writes=off"
             " -c max_connections=60";
  Start();
  Psql(std::string("CREATE ROLE ") + kTestRole + " LOGIN CREATEDB PASSWORD '" + kTestPassword +
       "'");
}

void PgServer::Start() {
  try {
    RunServerProgram("pg_ctl", {"-D", (root_ / "data").string(), "-l", (root_ / "log").string(),
                                "-w", "-t", "60", "-o", options_, "start"});
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) + "\nserver log:\n" + ServerLog());
  }
  started_ = true;
}

void PgServer::Stop() {
  RunServerProgram("pg_ctl", {"-D", (root_ / "data").string(), "-m", "fast", "-w", "stop"});
  started_ = false;
}

PgServer::~PgServer() {
  if (started_) {
    try {
      Stop();
    } catch (const std::runtime_error&) {
      // Nothing more to do at teardown; the directory removal below still runs.
    }
  }
  if (std::getenv("BACKOUT_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

PgServer& PgServer::Shared() {
  static PgServer server;
  return server;
}

std::string PgServer::dsn(const std::string& db) const {
  return "host=" + socket_dir_.string() + " port=" + std::to_string(port_) + " dbname=" + db +
         " user=" + kTestRole + " password=" + kTestPassword;
}

std::string PgServer::tcp_dsn(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " dbname=" + db + " user=" +
         kTestRole + " password=" + kTestPassword;
}

std::string PgServer::RunServerProgram(const std::string& program,
                                       const std::vector<std::string>& args) const {
  ProcessSpec spec;
  if (RunningAsRoot()) {
    spec.argv = {FindRunuser().string(), "-u", "postgres", "--"};
  }
  spec.argv.push_back((bin_dir_ / program).string());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = root_;  // the postgres user may not be allowed into the test's own cwd
  const ProcessResult r = RunProcess(spec);
  if (r.exit_code != 0) throw std::runtime_error(program + " failed: " + Show(r));
  return r.out;
}

std::string PgServer::ServerLog() const { return ReadFile(root_ / "log"); }

std::string PgServer::Psql(const std::string& sql, const std::string& db) const {
  ProcessSpec spec;
  spec.argv = {(bin_dir_ / "psql").string(), "-XAtq", "-v", "ON_ERROR_STOP=1",
               "-h", socket_dir_.string(), "-p", std::to_string(port_),
               "-U", "postgres", "-d", db, "-f", "-"};
  spec.env = {{"PGPASSWORD", kSuperuserPassword}, {"PGAPPNAME", "backout-test-psql"}};
  spec.stdin_text = sql;
  const ProcessResult r = RunProcess(spec);
  if (r.exit_code != 0) throw std::runtime_error("psql failed on: " + sql + "\n" + Show(r));
  return r.out;
}

void PgServer::CreateDatabase(const std::string& db) const {
  Psql("DROP DATABASE IF EXISTS \"" + db + "\" WITH (FORCE);\nCREATE DATABASE \"" + db +
       "\" OWNER " + kTestRole + ";");
}

std::string PgServer::CreateTestDatabase(const std::string& prefix) const {
  std::string db = prefix;
  for (char ch : std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    db += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  db = db.substr(0, 40);
  CreateDatabase(db);
  return db;
}

std::string PgServer::Snapshot(const std::string& db, const std::string& schema) const {
  const std::string in_schema =
      "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '" + schema + "'";
  std::string sql;
  std::istringstream tables(Psql("SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c " +
                                 in_schema + " AND c.relkind IN ('r', 'p') ORDER BY 1", db));
  for (std::string table; std::getline(tables, table);) {
    sql += "SELECT format('table %s rows %s md5 %s', '" + table +
           "', count(*), md5(string_agg(t::text, E'\\n' ORDER BY t::text))) FROM " + table +
           " t UNION ALL\n";
  }
  // Whitespace runs as one space: a policy's USING clause prints on several lines.
  sql += "SELECT regexp_replace(line, '\\s+', ' ', 'g') FROM (\n"
         "SELECT format('rls %s enabled %s forced %s', c.relname, c.relrowsecurity, "
         "c.relforcerowsecurity) AS line FROM pg_class c " + in_schema +
         " AND c.relkind IN ('r', 'p')\n"
         "UNION ALL SELECT format('column %s.%s %s %s not_null %s default %s', relname, "
         "row_number() OVER (PARTITION BY attrelid ORDER BY attnum), attname, type, attnotnull, "
         "def) FROM (SELECT c.relname, a.attrelid, a.attnum, a.attname, a.attnotnull, "
         "format_type(a.atttypid, a.atttypmod) AS type, pg_get_expr(d.adbin, d.adrelid) AS def "
         "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON "
         "d.adrelid = a.attrelid AND d.adnum = a.attnum " + in_schema +
         " AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped) cols\n"
         "UNION ALL SELECT format('constraint %s.%s %s', c.relname, k.conname, "
         "pg_get_constraintdef(k.oid)) FROM pg_constraint k JOIN pg_class c ON c.oid = "
         "k.conrelid " + in_schema + "\n"
         "UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE schemaname = '" +
         schema + "'\n"
         "UNION ALL SELECT format('policy %s.%s %s %s %s using %s check %s', tablename, "
         "policyname, permissive, roles, cmd, qual, with_check) FROM pg_policies WHERE "
         "schemaname = '" + schema + "'\n"
         "UNION ALL SELECT format('trigger %s', pg_get_triggerdef(t.oid)) FROM pg_trigger t "
         "JOIN pg_class c ON c.oid = t.tgrelid " + in_schema + " AND NOT t.tgisinternal\n"
         ") description ORDER BY 1";
  return Psql(sql, db);
}

}  // namespace backout::testing
