// Internal to the file adapter: the vocabulary of `file` operations, and the checking of a
// target's config and an action's params without touching any file (docs/adapters/file.md
// lists every parameter).
//
// Run() checks again with References::kResolved before doing anything, so the action code
// may read parameters with nlohmann::json's typed accessors without further type checks.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/common/params.h"

namespace backout::adapters::file {

// The operations of the `file` action (its params hold exactly one of them as a key).
enum class Operation { kCopy, kRestore, kSetEnv, kUnsetEnv };
std::string_view OperationName(Operation operation);
// The operation a validated `file` action's params hold.
Operation OperationOf(const nlohmann::json& params);

// kUnresolved at plan time, kResolved when the step runs (adapters/common/params.h).
using References = common::References;

// Every problem with a `file` target's config and its action (only `file` exists).
std::vector<ParamError> ValidateFileInvocation(std::string_view action,
                                               const nlohmann::json& target,
                                               const nlohmann::json& params,
                                               References references);

// A string that is not empty and holds no NUL (which no path or env file can hold); else
// reports what is wrong and returns false. The json_store adapter checks its paths and
// collection names with it too.
bool Word(common::Checker& checker, const nlohmann::json& value, const std::string& pointer);

// A count written as a JSON number or as a string of decimal digits (what expanding `${VAR}`
// produces). nullopt for anything else, negative numbers included.
using common::AsCount;

}  // namespace backout::adapters::file
