// Internal to the PostgreSQL adapter: running pg_dump and pg_restore against a target.
//
// Secrecy: the connection goes on the command line as a conninfo WITHOUT the password (argv
// is visible to every user of the machine through /proc); the password reaches the child only
// through PGPASSWORD in its environment. Output quoted in errors is scrubbed of it too.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/postgres/connection.h"
#include "base/status.h"

namespace backout::adapters::postgres {

// A PostgreSQL client program: the newest /usr/lib/postgresql/<major>/bin/NAME (the real
// binaries, newest first, since pg_dump refuses servers newer than itself), else NAME on PATH.
Result<std::filesystem::path> FindClientProgram(std::string_view name);

struct ClientCall {
  std::string program;            // "pg_dump", "pg_restore"
  std::vector<std::string> args;  // the connection is added as --dbname=...
  ConnInfo connection;            // may hold a password; never put on the command line
  std::string application_name;
  std::optional<std::chrono::milliseconds> lock_timeout;  // passed as PGOPTIONS
  const std::atomic<bool>* cancel = nullptr;
  std::chrono::milliseconds timeout{0};  // 0: none
  std::size_t output_capacity = 4096;    // how much of the output to keep
};

// Runs the program to its end. Returns its output (stdout and stderr) when it exits 0;
// otherwise kIOError "<program> failed (exit N): <last lines of output>", kCancelled or
// kTimeout when stopped.
Result<std::string> RunClientProgram(const ClientCall& call);

}  // namespace backout::adapters::postgres
