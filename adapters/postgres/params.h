// Internal to the PostgreSQL adapter: the vocabulary of actions and verify checks, and the
// checking of a target's config and an action's parameters without touching any server
// (docs/adapters/postgres.md lists every parameter).
//
// Run() checks again with References::kResolved before doing anything, so the action code may
// read parameters with nlohmann::json's typed accessors without further type checks.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/params.h"

namespace backout::adapters::postgres {

// In the order of the actions of PostgresVocabulary().
enum class Action { kSql, kBackup, kRestore, kBaseline, kVerify, kQuery };
std::optional<Action> ParseAction(std::string_view name);

enum class CheckKind {
  kTablePresent,
  kTableAbsent,
  kRowCount,
  kChecksum,
  kSchema,
  kFkValid,
  kRlsEnabled,
  kQuery
};
std::optional<CheckKind> ParseCheckKind(std::string_view name);

// kUnresolved at plan time, kResolved when the step runs (adapters/common/params.h).
using References = common::References;

// Every problem with `action` (unknown), the target's config and the action's params.
std::vector<ParamError> ValidateInvocation(std::string_view action, const nlohmann::json& target,
                                           const nlohmann::json& params, References references);

// A validated duration parameter (lock_timeout), or nullopt when absent.
std::optional<std::chrono::milliseconds> DurationParam(const nlohmann::json& object,
                                                       std::string_view key);

// A validated integer (row_count's equals), which may be written as a string of digits.
using common::AsInteger;

// The lengths of the digests this adapter writes, in lowercase hex digits.
constexpr std::size_t kChecksumHexDigits = 16;     // a table's content checksum (64 bits)
constexpr std::size_t kFingerprintHexDigits = 64;  // a schema fingerprint (SHA-256)

}  // namespace backout::adapters::postgres
