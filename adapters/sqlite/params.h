// Internal to the SQLite adapter: the vocabulary of actions and verify checks, and the checking
// of a target's config and an action's parameters without touching any database
// (docs/adapters/sqlite.md lists every parameter).
//
// Run() checks again with References::kResolved before doing anything, so the action code may
// read parameters with nlohmann::json's typed accessors without further type checks.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"

namespace backout::adapters::sqlite {

enum class Action { kSql, kBackup, kRestore, kBaseline, kVerify, kQuery };
std::optional<Action> ParseAction(std::string_view name);

enum class CheckKind { kTablePresent, kTableAbsent, kRowCount, kChecksum, kIntegrity, kQuery };
std::optional<CheckKind> ParseCheckKind(std::string_view name);

enum class References {
  // Plan time: a string holding "${" stands for a value known only at run time (an
  // environment variable, an earlier step's output) and is accepted wherever a value goes.
  kUnresolved,
  // Run time: every reference has been expanded; each value must have its final type.
  kResolved,
};

// Every problem with `action` (unknown), the target's config and the action's params.
std::vector<ParamError> ValidateInvocation(std::string_view action, const nlohmann::json& target,
                                           const nlohmann::json& params, References references);

// Integer parameters (busy_timeout, row_count's equals) may also be written as a string of
// decimal digits, which is what expanding `${VAR}` produces. nullopt for anything else.
std::optional<std::int64_t> AsInteger(const nlohmann::json& value);

}  // namespace backout::adapters::sqlite
