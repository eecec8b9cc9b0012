// Internal to the SQLite adapter: the vocabulary of actions and verify checks, and the checking
// of a target's config and an action's parameters without touching any database
// (docs/adapters/sqlite.md lists every parameter).
//
// Run() checks again with References::kResolved before doing anything, so the action code may
// read parameters with nlohmann::json's typed accessors without further type checks.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/params.h"

namespace backout::adapters::sqlite {

// In the order of the actions of SqliteVocabulary().
enum class Action { kSql, kBackup, kRestore, kBaseline, kVerify, kQuery };
std::optional<Action> ParseAction(std::string_view name);

enum class CheckKind { kTablePresent, kTableAbsent, kRowCount, kChecksum, kIntegrity, kQuery };
std::optional<CheckKind> ParseCheckKind(std::string_view name);

// kUnresolved at plan time, kResolved when the step runs (adapters/common/params.h).
using References = common::References;

// Every problem with `action` (unknown), the target's config and the action's params.
std::vector<ParamError> ValidateInvocation(std::string_view action, const nlohmann::json& target,
                                           const nlohmann::json& params, References references);

// Integer parameters (busy_timeout, row_count's equals) may also be written as a string of
// decimal digits, which is what expanding `${VAR}` produces.
using common::AsInteger;

}  // namespace backout::adapters::sqlite
