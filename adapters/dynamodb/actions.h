// Internal to the DynamoDB adapter: the six actions. Each runs with params already checked
// by ValidateInvocation(References::kResolved), so it reads them without further type
// checks. docs/adapters/dynamodb.md describes what each does, its outputs and its crash
// behaviour.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "adapters/dynamodb/client.h"
#include "base/status.h"

namespace backout::adapters::dynamodb {

// What every action works with.
struct ActionContext {
  // `invocation` and `client` must outlive the context.
  ActionContext(const Invocation& invocation, const Client& client);

  // `path` (from the plan) made absolute against the plan's directory.
  std::filesystem::path Resolve(const std::string& path) const;

  const std::string& Param(const char* key) const {
    return params.at(key).get_ref<const std::string&>();
  }

  void Progress(std::string_view text) const {
    if (invocation.progress) invocation.progress(text);
  }

  const Invocation& invocation;
  const nlohmann::json& params;
  const Client& client;
  std::optional<std::int64_t> page_size;  // a Scan's Limit; none: DynamoDB's 1 MB pages
};

// Calls `on_page` with every page of a strongly consistent Scan of `table`; `request` holds
// the Scan's other fields (Select, ...). Stops at the first error, from DynamoDB, the
// deadline, or `on_page`.
Status ScanPages(const ActionContext& context, const std::string& table, nlohmann::json request,
                 const std::function<Status(const nlohmann::json& page)>& on_page);

// The number of items in `table` (a paginated Scan with Select COUNT). kNotFound when the
// table does not exist.
Result<std::int64_t> CountItems(const ActionContext& context, const std::string& table);

// Each returns the action's outputs.
Result<nlohmann::json> RunBaseline(const ActionContext& context);
Result<nlohmann::json> RunExport(const ActionContext& context);
Result<nlohmann::json> RunImport(const ActionContext& context);
Result<nlohmann::json> RunDeleteTable(const ActionContext& context);
Result<nlohmann::json> RunUpdateBilling(const ActionContext& context);

// Fills outputs on failure too: every check's result.
Outcome RunVerify(const ActionContext& context);

// Adapter::Preflight (preflight.cc): the endpoint and credentials, every table the step needs
// described (DescribeTable), import sources and export destinations. Writes nothing.
std::vector<PreflightFinding> Preflight(const PreflightRequest& request);

}  // namespace backout::adapters::dynamodb
