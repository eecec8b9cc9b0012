// Internal to the json_store adapter: its actions and verify checks, and the checking of a
// target's config and an action's params without touching any file (docs/adapters/file.md,
// "json_store", lists every parameter).
//
// Run() checks again with References::kResolved before doing anything, so the action code
// may read parameters with nlohmann::json's typed accessors without further type checks.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/params.h"

namespace backout::adapters::json_store {

// In the order of the actions of JsonStoreVocabulary().
enum class Action { kBackup, kRestore, kBaseline, kVerify };
std::optional<Action> ParseAction(std::string_view name);

enum class Check { kRecordCount, kChecksum, kCollectionPresent, kCollectionAbsent, kValidJson };
std::optional<Check> ParseCheck(std::string_view name);

// kUnresolved at plan time, kResolved when the step runs (adapters/common/params.h).
using References = common::References;

// Every problem with a `json_store` target's config and one of its actions.
std::vector<ParamError> ValidateInvocation(std::string_view action, const nlohmann::json& target,
                                           const nlohmann::json& params, References references);

}  // namespace backout::adapters::json_store
