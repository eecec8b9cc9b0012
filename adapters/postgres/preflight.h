// Internal to the PostgreSQL adapter: what preflight (Adapter::Preflight) checks for one step,
// before the run's first effect. docs/adapters/postgres.md ("Preflight") lists the checks.
//
// Nothing here changes the server: the session it opens is read-only
// (default_transaction_read_only), named "backout preflight", takes no advisory lock, gives
// up waiting for a lock after kPreflightLockTimeout and connects with a timeout of at most
// kPreflightConnectTimeout. Findings never hold the DSN or its password.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "base/status.h"

namespace backout::adapters::postgres {

inline constexpr std::chrono::seconds kPreflightConnectTimeout{10};
inline constexpr std::chrono::seconds kPreflightLockTimeout{2};

// Every finding for one step (PreflightRequest): the connection, the server accepting writes,
// the privileges on the tables the step writes or reads, restore sources and backup
// destinations, and pg_dump / pg_restore when the step runs them.
std::vector<PreflightFinding> Preflight(const PreflightRequest& request);

// Whether `program` (a client program such as pg_dump, found by FindClientProgram, or the
// reason it was not) can work with a server of version `server_version` (PQserverVersion:
// 160004 for 16.4): it runs `program --version` and compares major versions, since pg_dump
// refuses servers newer than itself.
PreflightFinding CheckClientProgram(std::string_view name,
                                    const Result<std::filesystem::path>& program,
                                    int server_version, const std::atomic<bool>* cancel);

}  // namespace backout::adapters::postgres
