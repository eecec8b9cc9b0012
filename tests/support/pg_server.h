// A private PostgreSQL server for tests: the real server binaries of the machine
// (/usr/lib/postgresql/*/bin, or pg_config --bindir), a fresh cluster made by initdb in a
// temporary directory, listening on a unix socket in a short directory under /tmp and on
// 127.0.0.1 on a free port, with password (SCRAM) authentication for every role so that a
// wrong password is refused for real.
//
// Roles:
//   postgres      superuser, used by the helpers below (Psql, CreateDatabase)
//   backout_test  the role tests give the adapter: LOGIN CREATEDB, not a superuser; owner
//                 of the databases CreateDatabase makes
//
// initdb and the server refuse to run as root. When the tests run as root, every server
// program runs as the `postgres` OS user (runuser), which the Debian `postgresql` package
// creates, and the cluster's directory belongs to that user; otherwise they run as the
// current user.
//
// Lifetime: the constructor starts the server (pg_ctl start -w) and throws
// std::runtime_error with the server's log when it cannot; the destructor stops it
// (pg_ctl stop -m fast) and removes the directory. A test process that dies without running
// destructors leaves the server running on its socket in /tmp.
//
// Thread safety: none; tests use it from their main thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace backout::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (nobody listens on it).
int FreeTcpPort();

class PgServer {
 public:
  static constexpr const char* kTestRole = "backout_test";
  static constexpr const char* kTestPassword = "Pw-backout-test-7f3a9c";

  PgServer();
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // The server of this test process, started on first use and stopped at exit.
  static PgServer& Shared();

  // A libpq key=value conninfo for `db` as kTestRole with its password, over the unix socket.
  std::string dsn(const std::string& db) const;
  // The same over TCP to 127.0.0.1.
  std::string tcp_dsn(const std::string& db) const;

  const std::filesystem::path& socket_dir() const { return socket_dir_; }
  int port() const { return port_; }
  const std::filesystem::path& bin_dir() const { return bin_dir_; }

  // Runs `sql` with psql as the superuser in `db` (stopping at the first error) and returns
  // its unaligned, tuples-only output ("-XAtq", fields separated by '|'). Throws
  // std::runtime_error with psql's messages when it fails.
  std::string Psql(const std::string& sql, const std::string& db = "postgres") const;

  // Drops `db` if it exists (WITH (FORCE)) and creates it empty, owned by kTestRole.
  void CreateDatabase(const std::string& db) const;
  // CreateDatabase of a database named after the running test: `prefix`, then the test's name
  // in lower case, cut to 40 characters. Returns the name.
  std::string CreateTestDatabase(const std::string& prefix) const;

  // A picture of the tables of `schema` in `db`, by plain SQL (nothing of backout's): per
  // table its row count and the md5 of its rows' text in sorted order, then sorted lines
  // describing the schema (RLS flags, columns in order without dropped ones, constraints,
  // indexes, policies, triggers). Equal pictures: equal data and equal schema.
  std::string Snapshot(const std::string& db, const std::string& schema = "public") const;

  // Stops the server (pg_ctl stop -m fast: sessions are terminated) and starts it again on
  // the same socket and port, for tests of a server that goes away under a run.
  void Stop();
  void Start();

 private:
  // Runs a server program (a name in bin_dir_) as the cluster's OS user; throws on failure.
  std::string RunServerProgram(const std::string& program,
                               const std::vector<std::string>& args) const;
  std::string ServerLog() const;

  std::filesystem::path root_;        // the cluster's private directory, removed at the end
  std::filesystem::path socket_dir_;  // short, so the socket path fits sun_path
  std::filesystem::path bin_dir_;
  std::string options_;  // the server's command-line options (pg_ctl -o)
  int port_ = 0;
  bool started_ = false;
};

}  // namespace backout::testing
