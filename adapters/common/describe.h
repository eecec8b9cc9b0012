// The shape of an action's description (adapter.h: Adapter::Describe; the JSON is documented
// in docs/plan-preview.md), built the same way by every adapter:
//   {"effect": "reads_only" | "changes_target" | "calls_out",
//    "idempotent": bool,                  // by the vocabulary, before the plan's `idempotent:`
//    "locks": [string],                   // beyond the target's runner lock
//    "details": [{"label": string, "value": any JSON}]}   // in the order a reviewer reads
// Values are as the plan wrote them (`${...}` unexpanded), plus what can be read now from the
// files the plan names. Nothing here connects to a target or changes anything.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"

namespace backout::adapters::common {

inline constexpr std::string_view kReadsOnly = "reads_only";
inline constexpr std::string_view kChangesTarget = "changes_target";
inline constexpr std::string_view kCallsOut = "calls_out";

// A description with the effect the vocabulary declares for `action` (read_only:
// reads_only, else changes_target), its idempotent flag, no locks and no details.
nlohmann::json ActionDescription(const AdapterVocabulary& vocabulary, std::string_view action);

void AddDetail(nlohmann::json& description, std::string_view label, nlohmann::json value);
void AddLock(nlohmann::json& description, std::string lock);

// The parameter `name` as written, under `label` (the name when empty); nothing when absent.
void AddParam(nlohmann::json& description, const DescribeRequest& request, std::string_view name,
              std::string_view label = "");

// The NAMES of the mapping `name` ("env", "headers"), from the target's config and the
// action's parameters together, sorted, under `label`; nothing when neither has one. Only
// the names: the values may be secrets.
void AddMappingNames(nlohmann::json& description, const DescribeRequest& request,
                     std::string_view name, std::string_view label);

// Every parameter as written except `target`, in name order (the default description).
void AddAllParams(nlohmann::json& description, const DescribeRequest& request);

// A SQL action's statements: `script` as written (label "sql"), or the `file:` script's path
// (label "file") and its content read now (label "sql"), or why it cannot be read now.
void AddSqlStatements(nlohmann::json& description, const DescribeRequest& request);

// A file the action reads (a restore source), as the plan wrote it (`written`) and with its
// `${VAR}`s expanded (`expanded`, resolved against `base_dir`):
//   {"path": written, "bytes": n, "sha256": hex}        when it can be read now
//   {"path": written, "known_at_run_time": true}        when it names a `${steps...}` output
//   {"path": written, "unreadable": why}                otherwise ("no such file (yet)": a
//                                                       file an earlier step writes)
// plus, with `expected_sha256` (the plan's `sha256:`), "expected_sha256" and, when the file was
// read, "sha256_matches".
nlohmann::json SourceFile(const std::filesystem::path& base_dir, const std::string& written,
                          const std::string& expanded,
                          const std::optional<std::string>& expected_sha256);

// SourceFile of the string parameter `name` ("from"), with the parameter `sha256` as the
// expected digest; added under `label`. Nothing when the parameter is absent.
void AddSourceFile(nlohmann::json& description, const DescribeRequest& request,
                   std::string_view name, std::string_view label);

// The `checks` of a verify, one detail ("check") each, as written: each names its expected
// value (`equals: baseline` compares with the latest earlier baseline step on the target).
void AddVerifyChecks(nlohmann::json& description, const DescribeRequest& request);

// The SQL adapters' shared `query` (vocabulary.h: SqlQueryAction): its sql and expected value.
void AddSqlQuery(nlohmann::json& description, const DescribeRequest& request);

}  // namespace backout::adapters::common
