// baseline, export, import, delete_table and update_billing; verify is in verify.cc.
#include "adapters/dynamodb/actions.h"

#include <fmt/format.h>

#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/common/files.h"
#include "adapters/dynamodb/params.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "base/utf8.h"

namespace backout::adapters::dynamodb {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// BatchWriteItem takes at most 25 requests.
constexpr std::size_t kBatchSize = 25;
// How long delete_table and update_billing wait for a table to settle when the step has no
// timeout of its own. DynamoDB takes seconds to minutes; a step should not hang forever.
constexpr milliseconds kDefaultSettleWait{10 * 60 * 1000};
constexpr milliseconds kFirstPoll{100};
constexpr milliseconds kMaxPoll{2000};

// Polls DescribeTable until `settled` says yes about what it saw (the table, or nullopt
// once it is gone), within the step's deadline or kDefaultSettleWait when there is none.
Status WaitForTable(const ActionContext& context, const std::string& table,
                    const std::function<bool(const std::optional<json>&)>& settled,
                    std::string_view waiting_for) {
  const Deadline& step = context.client.deadline();
  const auto give_up = std::chrono::steady_clock::now() + kDefaultSettleWait;
  milliseconds poll = kFirstPoll;
  while (true) {
    Result<std::optional<json>> seen = DescribeTable(context.client, table);
    if (!seen.ok()) return seen.status();
    if (settled(*seen)) return Status::Ok();
    const std::string status = seen->has_value() ? (*seen)->value("TableStatus", "?") : "gone";
    context.Progress(fmt::format("{}: waiting for {} (now {})", table, waiting_for, status));
    if (std::chrono::steady_clock::now() >= give_up) {
      return Status::Timeout(fmt::format("{}: still not {} after {}s (status {})", table,
                                         waiting_for, kDefaultSettleWait.count() / 1000, status));
    }
    if (Status slept = step.Sleep(poll); !slept.ok()) {
      return slept.WithContext(fmt::format("{}: waiting for {} (status {})", table, waiting_for,
                                           status));
    }
    poll = std::min(poll * 2, kMaxPoll);
  }
}

bool IsActive(const std::optional<json>& table) {
  return table.has_value() && table->value("TableStatus", "") == "ACTIVE";
}

Result<json> ExportTable(const ActionContext& context, const std::string& table,
                         const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / (table + ".jsonl");
  common::StreamedFile file(path, ".tmp-backout");
  BACKOUT_RETURN_IF_ERROR(file.Open());
  std::int64_t items = 0;
  // One line per item in DynamoDB JSON, {"Item": {...}}: the line format of DynamoDB's own
  // exports, which `import` reads back.
  BACKOUT_RETURN_IF_ERROR(ScanPages(context, table, json::object(), [&](const json& page) {
    const auto found = page.find("Items");
    if (found == page.end() || !found->is_array()) return Status::Ok();
    std::string lines;
    for (const json& item : *found) {
      lines += json{{"Item", item}}.dump(-1, ' ', false, json::error_handler_t::replace);
      lines += '\n';
    }
    items += static_cast<std::int64_t>(found->size());
    context.Progress(fmt::format("export {}: {} items", table, items));
    return file.Append(lines);
  }));
  Result<FileDigest> digest = file.Commit();
  if (!digest.ok()) return digest.status();
  return json{{"path", path.string()},
              {"items", items},
              {"bytes", digest->bytes},
              {"sha256", digest->sha256_hex}};
}

// One line of an import file: {"Item": {...}}.
Result<json> ParseImportLine(const std::string& line, std::int64_t number,
                             const std::filesystem::path& path) {
  json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
  const auto item = parsed.is_object() && parsed.size() == 1 ? parsed.find("Item") : parsed.end();
  if (item == parsed.end() || !item->is_object() || item->empty()) {
    return Status::InvalidArgument(
        fmt::format("{} line {}: expected {{\"Item\": {{...}}}} in DynamoDB JSON, as export "
                    "writes it",
                    path.string(), number));
  }
  return std::move(*item);
}

// Calls `on_item` for every item of the import file, in order; blank lines are skipped.
Status ForEachImportItem(const std::filesystem::path& path,
                         const std::function<Status(json item)>& on_item) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::ErrnoError("cannot open", path);
  std::string line;
  for (std::int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Result<json> item = ParseImportLine(line, number, path);
    if (!item.ok()) return item.status();
    BACKOUT_RETURN_IF_ERROR(on_item(std::move(item).value()));
  }
  if (in.bad()) return common::ErrnoError("cannot read", path);
  return Status::Ok();
}

// Writes one batch of put requests, sending again what DynamoDB leaves unprocessed (it
// does so when the table's capacity is exhausted) after a backoff, within the retry policy.
Status WriteBatch(const ActionContext& context, const std::string& table, json requests) {
  const RetryPolicy& retry = context.client.retry();
  for (int tries = 1;; ++tries) {
    Result<json> answer = context.client.Call(
        "BatchWriteItem", {{"RequestItems", {{table, requests}}}});
    if (!answer.ok()) return answer.status();
    json unprocessed = json::array();
    const auto all = answer->find("UnprocessedItems");
    if (all != answer->end() && all->is_object()) unprocessed = all->value(table, json::array());
    if (!unprocessed.is_array() || unprocessed.empty()) return Status::Ok();
    if (tries >= retry.max_tries) {
      return Status::Unavailable(fmt::format(
          "DynamoDB BatchWriteItem: {} items still unprocessed after {} tries (throttled by "
          "DynamoDB)",
          unprocessed.size(), tries));
    }
    requests = unprocessed;
    BACKOUT_RETURN_IF_ERROR(context.client.deadline().Sleep(retry.BackoffAfter(tries)));
  }
}

Status DeleteOne(const ActionContext& context, const std::string& table, bool* was_present) {
  *was_present = true;
  milliseconds poll = kFirstPoll;
  while (true) {
    std::string error;
    Result<json> answer = context.client.Call("DeleteTable", {{"TableName", table}}, &error);
    if (answer.ok()) break;
    if (answer.status().code() == Code::kNotFound) {
      *was_present = false;  // gone already: nothing to do, which makes a re-run safe
      return Status::Ok();
    }
    if (error != "ResourceInUseException") return answer.status();
    // Being created or updated (wait, then delete), or already being deleted (just wait).
    Result<std::optional<json>> seen = DescribeTable(context.client, table);
    if (!seen.ok()) return seen.status();
    if (!seen->has_value()) break;
    if ((*seen)->value("TableStatus", "") == "DELETING") break;
    context.Progress(fmt::format("{}: busy ({}), deleting when it settles", table,
                                 (*seen)->value("TableStatus", "?")));
    BACKOUT_RETURN_IF_ERROR(context.client.deadline().Sleep(poll));
    poll = std::min(poll * 2, kMaxPoll);
  }
  return WaitForTable(context, table, [](const std::optional<json>& t) { return !t.has_value(); },
                      "gone");
}

std::string BillingModeOf(const json& table) {
  const auto summary = table.find("BillingModeSummary");
  if (summary != table.end() && summary->is_object() && summary->contains("BillingMode")) {
    return summary->value("BillingMode", "PROVISIONED");
  }
  return "PROVISIONED";  // DynamoDB leaves the summary out for tables that were never on-demand
}

}  // namespace

ActionContext::ActionContext(const Invocation& invocation_in, const Client& client_in)
    : invocation(invocation_in), params(invocation_in.params), client(client_in) {
  if (const auto it = params.find("page_size"); it != params.end()) page_size = *AsCount(*it);
}

std::filesystem::path ActionContext::Resolve(const std::string& path) const {
  return common::ResolvePath(invocation.base_dir, path);
}

Status ScanPages(const ActionContext& context, const std::string& table, json request,
                 const std::function<Status(const json& page)>& on_page) {
  request["TableName"] = table;
  // A rollback compares figures: a consistent read sees every write acknowledged before it.
  request["ConsistentRead"] = true;
  if (context.page_size.has_value()) request["Limit"] = *context.page_size;
  while (true) {
    Result<json> page = context.client.Call("Scan", request);
    if (!page.ok()) return page.status();
    BACKOUT_RETURN_IF_ERROR(on_page(*page));
    const auto next = page->find("LastEvaluatedKey");
    if (next == page->end() || next->is_null()) return Status::Ok();
    request["ExclusiveStartKey"] = *next;
  }
}

Result<std::int64_t> CountItems(const ActionContext& context, const std::string& table) {
  std::int64_t items = 0;
  BACKOUT_RETURN_IF_ERROR(
      ScanPages(context, table, {{"Select", "COUNT"}}, [&](const json& page) {
        const auto count = page.find("Count");
        if (count == page.end() || !count->is_number_integer()) {
          return Status::IOError("DynamoDB Scan: the answer has no Count");
        }
        items += count->get<std::int64_t>();
        context.Progress(fmt::format("{}: {} items counted", table, items));
        return Status::Ok();
      }));
  return items;
}

Result<json> RunBaseline(const ActionContext& context) {
  json tables = json::object();
  for (const json& name : context.params.at("tables")) {
    Result<std::int64_t> items = CountItems(context, Text(name));
    if (!items.ok()) return items.status().WithContext("baseline " + Text(name));
    tables[Text(name)] = {{"items", *items}};
  }
  return json{{"tables", std::move(tables)}};
}

Result<json> RunExport(const ActionContext& context) {
  const std::filesystem::path dir = context.Resolve(context.Param("to"));
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(dir));
  json files = json::object();
  for (const json& name : context.params.at("tables")) {
    Result<json> file = ExportTable(context, Text(name), dir);
    if (!file.ok()) return file.status().WithContext("export " + Text(name));
    files[Text(name)] = std::move(file).value();
  }
  return json{{"files", std::move(files)}, {"path", dir.string()}};
}

Result<json> RunImport(const ActionContext& context) {
  const std::string& table = context.Param("table");
  const std::filesystem::path path = context.Resolve(context.Param("from"));
  if (std::error_code error; !std::filesystem::exists(path, error)) {
    return Status::NotFound(fmt::format("import: {}: no such file", path.string()));
  }
  Result<FileDigest> digest = Sha256File(path);
  if (!digest.ok()) return digest.status().WithContext("import");
  if (const auto want = context.params.find("sha256");
      want != context.params.end() && Text(*want) != digest->sha256_hex) {
    return Status::ExpectationFailed(
        fmt::format("import: {} has sha256 {}, not the expected {}; nothing was written",
                    path.string(), digest->sha256_hex, Text(*want)));
  }
  // The whole file is read once before anything is written, so a malformed line leaves the
  // table untouched.
  std::int64_t total = 0;
  Status readable = ForEachImportItem(path, [&](const json&) {
    ++total;
    return Status::Ok();
  });
  if (!readable.ok()) return readable.WithContext("import (nothing was written)");

  std::int64_t written = 0;
  json batch = json::array();
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    const auto size = static_cast<std::int64_t>(batch.size());
    BACKOUT_RETURN_IF_ERROR(WriteBatch(context, table, std::exchange(batch, json::array())));
    written += size;
    context.Progress(fmt::format("import {}: {} of {} items", table, written, total));
    return Status::Ok();
  };
  Status status = ForEachImportItem(path, [&](json item) {
    batch.push_back({{"PutRequest", {{"Item", std::move(item)}}}});
    return batch.size() == kBatchSize ? flush() : Status::Ok();
  });
  if (status.ok()) status = flush();
  if (!status.ok()) {
    return status.WithContext(
        fmt::format("import {} ({} of {} items written)", table, written, total));
  }
  return json{{"table", table},
              {"items", written},
              {"path", path.string()},
              {"bytes", digest->bytes},
              {"sha256", digest->sha256_hex}};
}

Result<json> RunDeleteTable(const ActionContext& context) {
  json deleted = json::array();
  json absent = json::array();
  for (const json& name : context.params.at("tables")) {
    bool was_present = false;
    Status status = DeleteOne(context, Text(name), &was_present);
    if (!status.ok()) return status.WithContext("delete_table " + Text(name));
    (was_present ? deleted : absent).push_back(name);
  }
  return json{{"deleted", std::move(deleted)}, {"already_absent", std::move(absent)}};
}

Result<json> RunUpdateBilling(const ActionContext& context) {
  const std::string& table = context.Param("table");
  const std::string& mode = context.Param("mode");
  const std::string what = "update_billing " + table;
  Result<std::optional<json>> seen = DescribeTable(context.client, table);
  if (!seen.ok()) return seen.status().WithContext(what);
  if (!seen->has_value()) return Status::NotFound(what + ": the table does not exist");
  const json& before = **seen;
  const std::string previous = BillingModeOf(before);

  json request = {{"TableName", table}, {"BillingMode", mode}};
  bool changed = previous != mode;
  if (mode == "PROVISIONED") {
    const json wanted = {{"ReadCapacityUnits", *AsCount(context.params.at("read_capacity"))},
                         {"WriteCapacityUnits", *AsCount(context.params.at("write_capacity"))}};
    const json current = before.value("ProvisionedThroughput", json::object());
    for (const char* key : {"ReadCapacityUnits", "WriteCapacityUnits"}) {
      changed = changed || current.value(key, json()) != wanted[key];
    }
    request["ProvisionedThroughput"] = wanted;
  }
  // Asking for the mode a table already has is refused by DynamoDB; already being there is
  // success, which also makes a re-run after a crash safe.
  if (changed) {
    Result<json> answer = context.client.Call("UpdateTable", request);
    if (!answer.ok()) return answer.status().WithContext(what);
  }
  BACKOUT_RETURN_IF_ERROR(WaitForTable(context, table, IsActive, "ACTIVE").WithContext(what));
  return json{{"table", table}, {"mode", mode}, {"previous_mode", previous}, {"changed", changed}};
}

}  // namespace backout::adapters::dynamodb
