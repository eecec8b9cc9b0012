// Preflight for the DynamoDB adapter (Preflight in actions.h): the credentials and the endpoint,
// by describing every table the step names (DescribeTable only: nothing is written), the
// files it reads and where it writes. docs/adapters/dynamodb.md ("Preflight") lists the checks.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/common/preflight.h"
#include "adapters/dynamodb/actions.h"
#include "adapters/dynamodb/client.h"
#include "adapters/dynamodb/params.h"

namespace backout::adapters::dynamodb {
namespace {

using nlohmann::json;

// How long preflight gives DynamoDB for one step, and how often it sends a throttled call.
constexpr std::chrono::seconds kPreflightDeadline{20};
constexpr int kPreflightTries = 3;

bool KnownNow(const json& value) {
  return value.is_string() && !common::KnownOnlyAtRunTime(value.get_ref<const std::string&>());
}

// A table the step names, and whether the step needs it to exist (a delete_table or a
// verify takes its absence as an answer).
struct NamedTable {
  std::string name;
  bool must_exist;
};

void AddNames(const json& value, bool must_exist, std::vector<NamedTable>& tables) {
  if (KnownNow(value)) {
    const std::string name = value.get<std::string>();
    for (NamedTable& known : tables) {
      if (known.name == name) {
        known.must_exist = known.must_exist || must_exist;
        return;
      }
    }
    tables.push_back({name, must_exist});
  } else if (value.is_array()) {
    for (const json& name : value) AddNames(name, must_exist, tables);
  }
}

std::vector<NamedTable> TablesOf(Action action, const json& params) {
  std::vector<NamedTable> tables;
  switch (action) {
    case Action::kBaseline:
    case Action::kExport:
      AddNames(params.at("tables"), true, tables);
      break;
    case Action::kImport:
    case Action::kUpdateBilling:
      AddNames(params.at("table"), true, tables);
      break;
    case Action::kDeleteTable:
      AddNames(params.at("tables"), false, tables);
      break;
    case Action::kVerify:
      if (!params.at("checks").is_array()) break;
      for (const json& check : params.at("checks")) {
        if (!check.is_object()) continue;
        for (const auto& [kind, spec] : check.items()) {
          AddNames(spec.is_object() ? spec.value("table", json()) : spec, false, tables);
        }
      }
      break;
  }
  return tables;
}

PreflightFinding Finding(std::string check, Status status) {
  return PreflightFinding{.check = std::move(check), .status = std::move(status)};
}

// Preflight() once the request's params are known to be valid.
std::vector<PreflightFinding> CheckStep(const PreflightRequest& request) {
  std::vector<PreflightFinding> findings;
  for (const char* key : {"endpoint", "region"}) {
    if (request.target.contains(key) && !common::KnownString(request.target, key)) {
      return findings;  // depends on an earlier step: checked when it runs
    }
  }
  const Action action = *ParseAction(request.action);
  const json& params = request.params;
  const std::optional<std::string> from = common::KnownString(params, "from");
  if (action == Action::kImport && from.has_value()) {
    findings.push_back(common::CheckRestoreSource(request.base_dir, *from,
                                                  common::KnownString(params, "sha256")));
  }
  Result<ClientConfig> config = ClientConfigFor(request.target, *request.env, nullptr);
  if (!config.ok()) {
    findings.push_back(Finding("credentials", config.status()));
    return findings;
  }
  config->retry.max_tries = std::min(config->retry.max_tries, kPreflightTries);
  const Deadline deadline(request.cancel, kPreflightDeadline);
  const Client client(std::move(config).value(), deadline);
  std::uint64_t bytes = 0;
  bool answered = false;
  for (const NamedTable& table : TablesOf(action, params)) {
    Result<std::optional<json>> described = DescribeTable(client, table.name);
    if (!described.ok()) {
      // Unreachable, credentials refused, throttled, cancelled: the same for every table.
      findings.push_back(Finding("DynamoDB reachable and accepting the credentials",
                                 described.status().WithContext("preflight")));
      return findings;
    }
    if (!answered) {
      findings.push_back(Finding("DynamoDB reachable and accepting the credentials", Status::Ok()));
      answered = true;
    }
    if (!described->has_value()) {
      findings.push_back(
          table.must_exist
              ? Finding(fmt::format("table {}", table.name),
                        Status::NotFound(fmt::format("table {} does not exist", table.name)))
              : Finding(fmt::format("table {} (absent now)", table.name), Status::Ok()));
      continue;
    }
    const json& found = **described;
    bytes += found.value("TableSizeBytes", std::uint64_t{0});
    findings.push_back(Finding(
        fmt::format("table {} ({})", table.name, found.value("TableStatus", "status unknown")),
        Status::Ok()));
  }
  if (action == Action::kExport) {
    if (std::optional<std::string> to = common::KnownString(params, "to")) {
      // `to` is always a folder of one file per table.
      findings.push_back(common::CheckBackupDestination(
          request.base_dir, to->ends_with('/') ? *to : *to + "/", bytes));
    }
  }
  return findings;
}

}  // namespace

std::vector<PreflightFinding> Preflight(const PreflightRequest& request) {
  return common::PreflightValidated(request, ValidateInvocation,
                                    [&] { return CheckStep(request); });
}

}  // namespace backout::adapters::dynamodb
