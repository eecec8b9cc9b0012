#include "tests/support/dynamo_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "adapters/dynamodb/client.h"
#include "base/sha256.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
namespace ddb = backout::adapters::dynamodb;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kRegion = "us-east-1";
constexpr milliseconds kStartLimit{30'000};
constexpr milliseconds kCallLimit{30'000};
constexpr std::size_t kBatchSize = 25;  // BatchWriteItem's limit

std::string LocalEndpoint(int port) { return fmt::format("http://127.0.0.1:{}", port); }

Result<json> CallAt(const std::string& endpoint, const std::string& operation,
                    const json& request) {
  const ddb::Deadline deadline(nullptr, kCallLimit);
  ddb::ClientConfig config;
  config.endpoint = endpoint;
  config.region = kRegion;
  config.credentials = {kTestAccessKeyId, kTestSecretAccessKey, ""};
  const ddb::Client client(std::move(config), deadline);
  return client.Call(operation, request);
}

}  // namespace

void SetTestCredentials() {
  ::setenv("AWS_ACCESS_KEY_ID", kTestAccessKeyId, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", kTestSecretAccessKey, 1);
  ::unsetenv("AWS_SESSION_TOKEN");
}

Result<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok) return Status::IOError("cannot bind a free port on 127.0.0.1");
  return static_cast<int>(ntohs(address.sin_port));
}

Result<DynamoServer*> DynamoServer::Shared() {
  static Result<std::unique_ptr<DynamoServer>> started = [] {
    SetTestCredentials();
    return Start();
  }();
  if (!started.ok()) return started.status();
  return started.value().get();
}

Result<std::unique_ptr<DynamoServer>> DynamoServer::Start(int table_delay_ms) {
  const fs::path cli = SourceDir() / "tools" / "dynalite" / "node_modules" / "dynalite" / "cli.js";
  if (!fs::exists(cli)) {
    return Status::FailedPrecondition(fmt::format(
        "{} is missing: run scripts/setup.sh (npm ci --prefix tools/dynalite)", cli.string()));
  }
  const std::string delay = std::to_string(table_delay_ms);
  // Another process may take the free port before dynalite listens on it: then try another.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Result<int> port = FreePort();
    if (!port.ok()) return port.status();
    auto process = std::make_unique<BackgroundProcess>(ProcessSpec{
        {BACKOUT_NODE, cli.string(), "--host", "127.0.0.1", "--port", std::to_string(*port),
         "--createTableMs", delay, "--deleteTableMs", delay, "--updateTableMs", delay},
        {},
        {},
        {}});
    const std::string endpoint = LocalEndpoint(*port);
    bool exited = false;
    const bool answered = WaitFor(
        [&] {
          exited = !process->Running();
          return exited || CallAt(endpoint, "ListTables", json::object()).ok();
        },
        kStartLimit);
    if (answered && !exited) {
      return std::unique_ptr<DynamoServer>(new DynamoServer(*port, std::move(process)));
    }
    if (!exited) return Status::Timeout("dynalite did not answer within 30s");
  }
  return Status::Unavailable("dynalite exited at start three times (ports taken?)");
}

std::string DynamoServer::endpoint() const { return LocalEndpoint(port_); }

json DynamoServer::Target() const {
  return {{"type", "dynamodb"}, {"endpoint", endpoint()}, {"region", kRegion}};
}

Result<json> DynamoServer::Call(const std::string& operation, const json& request) const {
  return CallAt(endpoint(), operation, request);
}

Status DynamoServer::CreateTable(const std::string& table, const std::string& key) const {
  Result<json> created =
      Call("CreateTable",
           {{"TableName", table},
            {"AttributeDefinitions", {{{"AttributeName", key}, {"AttributeType", "S"}}}},
            {"KeySchema", {{{"AttributeName", key}, {"KeyType", "HASH"}}}},
            {"ProvisionedThroughput", {{"ReadCapacityUnits", 5}, {"WriteCapacityUnits", 5}}}});
  if (!created.ok()) return created.status();
  const bool active = WaitFor(
      [&] {
        Result<json> seen = Call("DescribeTable", {{"TableName", table}});
        return seen.ok() && (*seen)["Table"].value("TableStatus", "") == "ACTIVE";
      },
      kStartLimit);
  return active ? Status::Ok() : Status::Timeout(table + " did not become ACTIVE");
}

Status DynamoServer::PutItems(const std::string& table, const std::vector<json>& items) const {
  for (std::size_t start = 0; start < items.size(); start += kBatchSize) {
    json requests = json::array();
    for (std::size_t i = start; i < std::min(items.size(), start + kBatchSize); ++i) {
      requests.push_back({{"PutRequest", {{"Item", items[i]}}}});
    }
    Result<json> answer = Call("BatchWriteItem", {{"RequestItems", {{table, requests}}}});
    if (!answer.ok()) return answer.status();
    if (!answer->value("UnprocessedItems", json::object()).empty()) {
      return Status::Unavailable("dynalite left items unprocessed");
    }
  }
  return Status::Ok();
}

Status DynamoServer::PutNumberedItems(const std::string& table, int count) const {
  std::vector<json> items;
  for (int n = 0; n < count; ++n) {
    items.push_back({{"id", {{"S", fmt::format("item-{}", n)}}},
                     {"n", {{"N", std::to_string(n)}}},
                     {"payload", {{"S", std::string(40, static_cast<char>('a' + n % 26))}}}});
  }
  return PutItems(table, items);
}

std::string DynamoServer::TestTable(const std::string& suffix, int items) const {
  const std::string name =
      std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" + suffix;
  EXPECT_TRUE(CreateTable(name).ok());
  if (items > 0) {
    EXPECT_TRUE(PutNumberedItems(name, items).ok());
  }
  return name;
}

Result<std::string> DynamoServer::Snapshot() const {
  std::vector<std::string> tables;
  json listing = json::object();
  do {
    Result<json> page = Call("ListTables", listing);
    if (!page.ok()) return page.status();
    for (const json& name : (*page)["TableNames"]) tables.push_back(name.get<std::string>());
    listing = json::object();
    if (page->contains("LastEvaluatedTableName")) {
      listing["ExclusiveStartTableName"] = (*page)["LastEvaluatedTableName"];
    }
  } while (!listing.empty());
  std::sort(tables.begin(), tables.end());
  std::string snapshot;
  for (const std::string& table : tables) {
    std::vector<std::string> items;
    json scan = {{"TableName", table}, {"ConsistentRead", true}};
    do {
      Result<json> page = Call("Scan", scan);
      if (!page.ok()) return page.status();
      for (const json& item : (*page)["Items"]) items.push_back(item.dump());
      scan.erase("ExclusiveStartKey");
      if (page->contains("LastEvaluatedKey")) scan["ExclusiveStartKey"] = (*page)["LastEvaluatedKey"];
    } while (scan.contains("ExclusiveStartKey"));
    std::sort(items.begin(), items.end());
    std::string all;
    for (const std::string& item : items) all += item + "\n";
    snapshot += fmt::format("{}: {} items, sha256 {}\n", table, items.size(), Sha256Hex(all));
  }
  return snapshot;
}

Result<std::unique_ptr<ThrottlingProxy>> ThrottlingProxy::Start(const std::string& upstream,
                                                                int throttled,
                                                                bool check_signatures) {
  auto dir = std::make_unique<TempDir>();
  const fs::path port_file = dir->path() / "port";
  std::vector<std::string> argv = {
      BACKOUT_PYTHON3, (SourceDir() / "tests" / "support" / "throttling_proxy.py").string(),
      "--upstream", upstream, "--throttle", std::to_string(throttled), "--port-file",
      port_file.string()};
  if (check_signatures) {
    argv.insert(argv.end(), {"--secret-access-key", kTestSecretAccessKey, "--signature-log",
                             (dir->path() / "signatures.log").string()});
  }
  auto process = std::make_unique<BackgroundProcess>(ProcessSpec{argv, {}, {}, {}});
  if (!WaitFor([&] { return fs::exists(port_file) || !process->Running(); }, kStartLimit) ||
      !fs::exists(port_file)) {
    return Status::Unavailable("throttling_proxy.py did not start");
  }
  const int port = std::stoi(ReadFile(port_file));
  return std::unique_ptr<ThrottlingProxy>(
      new ThrottlingProxy(port, std::move(dir), std::move(process)));
}

std::string ThrottlingProxy::endpoint() const { return LocalEndpoint(port_); }

}  // namespace backout::testing
