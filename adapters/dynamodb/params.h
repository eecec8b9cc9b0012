// Internal to the DynamoDB adapter: its actions and verify checks, and the checking of a
// target's config and an action's params without touching DynamoDB
// (docs/adapters/dynamodb.md lists every parameter).
//
// Run() checks again with References::kResolved before doing anything, so the action code
// may read parameters with nlohmann::json's typed accessors without further type checks.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "adapters/common/params.h"

namespace backout::adapters::dynamodb {

// In the order of the actions of DynamoDbVocabulary().
enum class Action { kBaseline, kVerify, kExport, kImport, kDeleteTable, kUpdateBilling };
std::optional<Action> ParseAction(std::string_view name);

enum class CheckKind { kTablePresent, kTableAbsent, kItemCount, kDescribe };
std::optional<CheckKind> ParseCheckKind(std::string_view name);

// kUnresolved at plan time, kResolved when the step runs (adapters/common/params.h).
using References = common::References;

// Every problem with `action` (unknown), the target's config and the action's params.
std::vector<ParamError> ValidateInvocation(std::string_view action, const nlohmann::json& target,
                                           const nlohmann::json& params, References references);

// Counts (page_size, max_tries, item_count's equals, capacities) may also be written as a
// string of decimal digits, which is what expanding `${VAR}` produces. nullopt otherwise.
using common::AsCount;

}  // namespace backout::adapters::dynamodb
