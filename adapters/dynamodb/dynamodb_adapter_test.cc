// The DynamoDB adapter against a real dynalite on 127.0.0.1 (tests/support/dynamo_server.h),
// and against a real throttling HTTP proxy in front of it. No mocks.
#include "adapters/dynamodb/dynamodb_adapter.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "tests/support/dynamo_server.h"
#include "testing/invocation_builder.h"
#include "tests/support/process.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::DynamoServer;
using testing::ThrottlingProxy;

// Temp files (NAME.<random>.tmp-backout) left in `dir`; 0 when it does not exist.
int TempFilesIn(const fs::path& dir) {
  int found = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().ends_with(".tmp-backout")) ++found;
  }
  return found;
}

std::vector<std::string> Lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class DynamoDbAdapterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::SetTestCredentials();
    Result<std::unique_ptr<DynamoServer>> started = DynamoServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << "dynalite did not start";
    testing::SetTestCredentials();
  }

  // Runs one action; everything it says (outputs, message, progress) is kept in `said_`.
  Outcome Run(const std::string& action, const json& params, json target = json(),
              std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
              const std::atomic<bool>* cancel = nullptr) {
    return RunInvocation(Builder(action, params, std::move(target), timeout, cancel).Build());
  }

  // A verify given `baseline` as the engine passes it (Invocation::baseline).
  Outcome Verify(const json& checks, const json& baseline) {
    return RunInvocation(Builder("verify", {{"checks", checks}}).Baseline(baseline).Build());
  }

  testing::InvocationBuilder Builder(const std::string& action, const json& params,
                                     json target = json(),
                                     std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                                     const std::atomic<bool>* cancel = nullptr) {
    testing::InvocationBuilder builder(action);
    builder.Target("ddb", target.is_null() ? server_->Target() : std::move(target))
        .Params(params)
        .RunId("run")
        .Dirs(dir_.path())
        .Timeout(timeout)
        .Cancel(cancel)
        .Progress([this](std::string_view line) {
          progress_.emplace_back(line);
          said_ += std::string(line) + "\n";
        });
    return builder;
  }

  Outcome RunInvocation(const Invocation& inv) {
    Outcome outcome = adapter_->Run(inv);
    said_ += outcome.status.message() + "\n" + outcome.outputs.dump() + "\n";
    EXPECT_EQ(UndeclaredOutputs(adapter_->vocabulary(), inv.action, outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }

  std::string Table(const std::string& suffix, int items = 0) {
    return server_->TestTable(suffix, items);
  }

  std::int64_t Count(const std::string& table) {
    Outcome outcome = Run("baseline", {{"tables", {table}}});
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.ToString();
    return outcome.outputs["tables"][table].value("items", std::int64_t{-1});
  }

  void TearDown() override {
    // Whatever happened, the secret key and the session token never left the adapter.
    EXPECT_EQ(said_.find(testing::kTestSecretAccessKey), std::string::npos) << said_;
    EXPECT_EQ(said_.find("backout-session-token"), std::string::npos) << said_;
    for (const auto& entry : fs::recursive_directory_iterator(dir_.path())) {
      if (!entry.is_regular_file()) continue;
      EXPECT_EQ(testing::ReadFile(entry.path()).find(testing::kTestSecretAccessKey),
                std::string::npos)
          << entry.path();
    }
  }

  static DynamoServer* server_;
  std::unique_ptr<Adapter> adapter_ = MakeDynamoDbAdapter();
  testing::TempDir dir_;
  std::vector<std::string> progress_;
  std::string said_;
};

DynamoServer* DynamoDbAdapterTest::server_ = nullptr;

TEST_F(DynamoDbAdapterTest, BaselineCountsItemsOverManyScanPages) {
  const std::string users = Table("users", 57);
  const std::string empty = Table("empty");
  Outcome outcome = Run("baseline", {{"tables", {users, empty}}, {"page_size", 10}});
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.outputs,
            (json{{"tables", {{users, {{"items", 57}}}, {empty, {{"items", 0}}}}}}));
  // Six pages of users (10 x 5 + 7), one per progress line.
  EXPECT_GE(std::count_if(progress_.begin(), progress_.end(),
                          [&](const std::string& l) { return l.starts_with(users); }),
            6);
}

TEST_F(DynamoDbAdapterTest, BaselineOfMissingTableIsNotFound) {
  Outcome outcome = Run("baseline", {{"tables", {"no-such-table"}}});
  EXPECT_EQ(outcome.status.code(), Code::kNotFound);
  EXPECT_NE(outcome.status.message().find("baseline no-such-table"), std::string::npos)
      << outcome.status.message();
  EXPECT_NE(outcome.status.message().find("ResourceNotFoundException"), std::string::npos);
}

TEST_F(DynamoDbAdapterTest, ExportImportRoundTripKeepsCountsAndDigests) {
  const std::string source = Table("source", 60);
  Outcome exported = Run("export", {{"tables", {source}}, {"to", "backups/"}, {"page_size", 7}});
  ASSERT_TRUE(exported.status.ok()) << exported.status.ToString();
  const fs::path folder = dir_.path() / "backups";
  const fs::path file = folder / (source + ".jsonl");
  EXPECT_EQ(exported.outputs["path"], folder.string());
  const json& entry = exported.outputs["files"][source];
  EXPECT_EQ(entry["path"], file.string());
  EXPECT_EQ(entry["items"], 60);
  Result<FileDigest> digest = Sha256File(file);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(entry["sha256"], digest->sha256_hex);
  EXPECT_EQ(entry["bytes"], digest->bytes);
  const std::vector<std::string> lines = Lines(file);
  ASSERT_EQ(lines.size(), 60u);
  for (const std::string& line : lines) {
    const json parsed = json::parse(line);
    ASSERT_TRUE(parsed.contains("Item")) << line;
    EXPECT_TRUE(parsed["Item"]["id"].contains("S")) << line;
  }
  EXPECT_EQ(TempFilesIn(file.parent_path()), 0);

  // Safe to re-run: the same file, whole, in the same place.
  Outcome again = Run("export", {{"tables", {source}}, {"to", "backups"}});
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_EQ(again.outputs["files"][source]["sha256"], entry["sha256"]);

  const std::string target = Table("target");
  Outcome imported = Run("import", {{"table", target},
                                    {"from", "backups/" + source + ".jsonl"},
                                    {"sha256", entry["sha256"]}});
  ASSERT_TRUE(imported.status.ok()) << imported.status.ToString();
  EXPECT_EQ(imported.outputs["items"], 60);
  EXPECT_EQ(imported.outputs["sha256"], entry["sha256"]);
  EXPECT_EQ(Count(target), 60);

  // Importing again overwrites the same keys: still 60 items.
  ASSERT_TRUE(Run("import", {{"table", target}, {"from", file.string()}}).status.ok());
  EXPECT_EQ(Count(target), 60);

  // The copy holds exactly the source's items.
  Outcome copy = Run("export", {{"tables", {target}}, {"to", "copy"}});
  ASSERT_TRUE(copy.status.ok()) << copy.status.ToString();
  std::vector<std::string> copied = Lines(dir_.path() / "copy" / (target + ".jsonl"));
  std::vector<std::string> original = lines;
  std::sort(copied.begin(), copied.end());
  std::sort(original.begin(), original.end());
  EXPECT_EQ(copied, original);
}

TEST_F(DynamoDbAdapterTest, ImportWritesNothingFromAWrongOrMalformedFile) {
  const std::string table = Table("users");
  testing::WriteFile(dir_.path() / "bad.jsonl",
                     "{\"Item\": {\"id\": {\"S\": \"a\"}}}\n"
                     "{\"id\": {\"S\": \"b\"}}\n");
  Outcome malformed = Run("import", {{"table", table}, {"from", "bad.jsonl"}});
  EXPECT_EQ(malformed.status.code(), Code::kInvalidArgument);
  EXPECT_NE(malformed.status.message().find("line 2"), std::string::npos)
      << malformed.status.message();
  EXPECT_NE(malformed.status.message().find("nothing was written"), std::string::npos);

  testing::WriteFile(dir_.path() / "good.jsonl", "{\"Item\": {\"id\": {\"S\": \"a\"}}}\n");
  Outcome wrong_digest = Run("import", {{"table", table},
                                        {"from", "good.jsonl"},
                                        {"sha256", std::string(64, '0')}});
  EXPECT_EQ(wrong_digest.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(Count(table), 0);

  Outcome missing = Run("import", {{"table", table}, {"from", "missing.jsonl"}});
  EXPECT_EQ(missing.status.code(), Code::kNotFound) << missing.status.ToString();
}

TEST_F(DynamoDbAdapterTest, DeleteTableWaitsUntilGoneAndIsSafeToRepeat) {
  const std::string a = Table("a", 3);
  const std::string b = Table("b");
  Outcome first = Run("delete_table", {{"tables", {a, b}}});
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  EXPECT_EQ(first.outputs, (json{{"deleted", {a, b}}, {"already_absent", json::array()}}));
  // Gone, not merely DELETING, when the step returns.
  Result<json> described = server_->Call("DescribeTable", {{"TableName", a}});
  EXPECT_EQ(described.status().code(), Code::kNotFound);

  Outcome second = Run("delete_table", {{"tables", {a, b}}});
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(second.outputs, (json{{"deleted", json::array()}, {"already_absent", {a, b}}}));
}

TEST_F(DynamoDbAdapterTest, UpdateBillingSwitchesModeOnceAndWaitsForActive) {
  const std::string table = Table("events", 2);
  Outcome on_demand = Run("update_billing", {{"table", table}, {"mode", "PAY_PER_REQUEST"}});
  ASSERT_TRUE(on_demand.status.ok()) << on_demand.status.ToString();
  EXPECT_EQ(on_demand.outputs, (json{{"table", table},
                                     {"mode", "PAY_PER_REQUEST"},
                                     {"previous_mode", "PROVISIONED"},
                                     {"changed", true}}));
  Outcome check = Run("verify", {{"checks",
                                  {{{"describe",
                                     {{"table", table},
                                      {"status", "ACTIVE"},
                                      {"billing_mode", "PAY_PER_REQUEST"}}}}}}});
  EXPECT_TRUE(check.status.ok()) << check.status.ToString();

  Outcome repeated = Run("update_billing", {{"table", table}, {"mode", "PAY_PER_REQUEST"}});
  ASSERT_TRUE(repeated.status.ok()) << repeated.status.ToString();
  EXPECT_EQ(repeated.outputs["changed"], false);

  Outcome provisioned = Run("update_billing", {{"table", table},
                                               {"mode", "PROVISIONED"},
                                               {"read_capacity", 3},
                                               {"write_capacity", 4}});
  ASSERT_TRUE(provisioned.status.ok()) << provisioned.status.ToString();
  EXPECT_EQ(provisioned.outputs["previous_mode"], "PAY_PER_REQUEST");
  Result<json> seen = server_->Call("DescribeTable", {{"TableName", table}});
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ((*seen)["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"], 3);
  EXPECT_EQ((*seen)["Table"]["TableStatus"], "ACTIVE");

  Outcome missing = Run("update_billing", {{"table", "no-such-table"}, {"mode", "PROVISIONED"},
                                           {"read_capacity", 1}, {"write_capacity", 1}});
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
}

TEST_F(DynamoDbAdapterTest, VerifyComparesWithTheBaselineAndReportsEveryCheck) {
  const std::string users = Table("users", 12);
  const std::string gone = "VerifyGone-never-created";
  Outcome baseline = Run("baseline", {{"tables", {users}}});
  ASSERT_TRUE(baseline.status.ok());
  const json checks = {{{"table_present", {users}}},
                       {{"table_absent", gone}},
                       {{"item_count", {{"table", users}, {"equals", "baseline"}}}},
                       {{"item_count", {{"table", users}, {"equals", 12}}}},
                       {{"describe", {{"table", users}, {"status", "ACTIVE"}}}}};
  Outcome passing = Verify(checks, baseline.outputs);
  ASSERT_TRUE(passing.status.ok()) << passing.status.ToString();
  EXPECT_EQ(passing.outputs["passed"], 5);
  EXPECT_EQ(passing.outputs["failed"], 0);

  ASSERT_TRUE(server_->PutItems(users, {{{"id", {{"S", "extra"}}}}}).ok());
  const json failing_checks = {{{"item_count", {{"table", users}, {"equals", "baseline"}}}},
                               {{"table_present", gone}},
                               {{"table_absent", users}},
                               {{"describe", {{"table", users},
                                              {"billing_mode", "PAY_PER_REQUEST"}}}},
                               {{"item_count", {{"table", gone}, {"equals", 0}}}}};
  Outcome failing = Verify(failing_checks, baseline.outputs);
  EXPECT_EQ(failing.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(failing.outputs["failed"], 5);
  const json& first = failing.outputs["checks"][0];
  EXPECT_EQ(first["check"], "item_count " + users);
  EXPECT_EQ(first["expected"], 12);
  EXPECT_EQ(first["observed"], 13);
  EXPECT_EQ(first["message"], "expected 12, observed 13");
  EXPECT_EQ(failing.outputs["checks"][3]["observed"]["billing_mode"], "PROVISIONED");
  EXPECT_NE(failing.status.message().find("5 of 5 checks failed"), std::string::npos);

  Outcome no_baseline = Run(
      "verify", {{"checks", {{{"item_count", {{"table", users}, {"equals", "baseline"}}}}}}});
  EXPECT_EQ(no_baseline.status.code(), Code::kExpectationFailed);
  EXPECT_NE(no_baseline.status.message().find("no baseline"), std::string::npos);
}

TEST_F(DynamoDbAdapterTest, ThrottledCallsAreRetriedThroughARealProxy) {
  const std::string table = Table("hot", 30);
  Result<std::unique_ptr<ThrottlingProxy>> proxy = ThrottlingProxy::Start(server_->endpoint(), 3);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  json target = server_->Target();
  target["endpoint"] = (*proxy)->endpoint();
  Outcome outcome = Run("baseline", {{"tables", {table}}}, target);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(outcome.outputs["tables"][table]["items"], 30);
  EXPECT_EQ(std::count_if(progress_.begin(), progress_.end(),
                          [](const std::string& l) {
                            return l.find("ThrottlingException") != std::string::npos;
                          }),
            3);
}

// Item 9 of issue 12: every request's SignedHeaders must name exactly headers that are on the
// wire, and its signature must hold over the request as received; the proxy checks both with
// botocore, independently of curl, and refuses a bad request as AWS does. Small and large
// bodies (curl treats bodies over 1 KiB differently: Expect: 100-continue), reads and writes.
TEST_F(DynamoDbAdapterTest, SignaturesCoverExactlyTheHeadersSent) {
  const std::string table = Table("signed", 0);
  std::string text;
  for (int n = 0; n < 60; ++n) {
    text += json{{"Item", {{"id", {{"S", std::to_string(n)}}},
                           {"payload", {{"S", std::string(200, 'x')}}}}}}.dump() + "\n";
  }
  testing::WriteFile(dir_.path() / "items.jsonl", text);
  Result<std::unique_ptr<ThrottlingProxy>> proxy =
      ThrottlingProxy::Start(server_->endpoint(), 0, /*check_signatures=*/true);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  json target = server_->Target();
  target["endpoint"] = (*proxy)->endpoint();
  Outcome imported = Run("import", {{"table", table}, {"from", "items.jsonl"}}, target);
  EXPECT_TRUE(imported.status.ok()) << imported.status.ToString();
  Outcome baseline = Run("baseline", {{"tables", {table}}}, target);
  EXPECT_TRUE(baseline.status.ok()) << baseline.status.ToString();
  const std::vector<std::string> verdicts = Lines((*proxy)->signature_log());
  EXPECT_GE(verdicts.size(), 4u);
  for (const std::string& verdict : verdicts) {
    EXPECT_TRUE(verdict.starts_with("ok ")) << verdict;
    EXPECT_EQ(verdict.find("expect"), std::string::npos) << verdict;
  }
  EXPECT_EQ(Count(table), 60);

  // The checker itself can say no: a request signed with another secret is refused.
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-the-proxy-knows", 1);
  Outcome forged = Run("baseline", {{"tables", {table}}}, target);
  testing::SetTestCredentials();
  EXPECT_FALSE(forged.status.ok());
  EXPECT_NE(forged.status.message().find("InvalidSignatureException"), std::string::npos)
      << forged.status.ToString();
  const std::vector<std::string> after = Lines((*proxy)->signature_log());
  ASSERT_GT(after.size(), verdicts.size());
  EXPECT_TRUE(after.back().starts_with("bad ")) << said_;
}

TEST_F(DynamoDbAdapterTest, ImportThroughThrottlingSucceeds) {
  const std::string table = Table("import", 0);
  std::string text;
  for (int n = 0; n < 40; ++n) {
    text += json{{"Item", {{"id", {{"S", std::to_string(n)}}}}}}.dump() + "\n";
  }
  testing::WriteFile(dir_.path() / "items.jsonl", text);
  Result<std::unique_ptr<ThrottlingProxy>> proxy = ThrottlingProxy::Start(server_->endpoint(), 2);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  json target = server_->Target();
  target["endpoint"] = (*proxy)->endpoint();
  Outcome outcome = Run("import", {{"table", table}, {"from", "items.jsonl"}}, target);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.ToString();
  EXPECT_EQ(Count(table), 40);
}

TEST_F(DynamoDbAdapterTest, ConstantThrottlingFailsClearlyAfterMaxTries) {
  const std::string table = Table("hot");
  Result<std::unique_ptr<ThrottlingProxy>> proxy = ThrottlingProxy::Start(server_->endpoint(), -1);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  json target = server_->Target();
  target["endpoint"] = (*proxy)->endpoint();
  target["max_tries"] = 3;
  Outcome outcome = Run("delete_table", {{"tables", {table}}}, target);
  EXPECT_EQ(outcome.status.code(), Code::kUnavailable);
  EXPECT_NE(outcome.status.message().find("throttled by DynamoDB after 3 tries"),
            std::string::npos)
      << outcome.status.message();
  EXPECT_NE(outcome.status.message().find("delete_table " + table), std::string::npos);
}

TEST_F(DynamoDbAdapterTest, ConstantThrottlingStopsAtTheStepTimeout) {
  Result<std::unique_ptr<ThrottlingProxy>> proxy = ThrottlingProxy::Start(server_->endpoint(), -1);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  json target = server_->Target();
  target["endpoint"] = (*proxy)->endpoint();
  target["max_tries"] = 100;
  Outcome outcome = Run("baseline", {{"tables", {"whatever"}}}, target,
                        std::chrono::milliseconds(500));
  EXPECT_EQ(outcome.status.code(), Code::kTimeout) << outcome.status.ToString();
  EXPECT_NE(outcome.status.message().find("ThrottlingException"), std::string::npos)
      << outcome.status.message();
}

TEST_F(DynamoDbAdapterTest, UnreachableEndpointIsUnavailable) {
  Result<int> port = testing::FreePort();
  ASSERT_TRUE(port.ok());
  json target = server_->Target();
  target["endpoint"] = "http://127.0.0.1:" + std::to_string(*port);
  Outcome outcome = Run("baseline", {{"tables", {"users"}}}, target);
  EXPECT_EQ(outcome.status.code(), Code::kUnavailable);
  EXPECT_NE(outcome.status.message().find("127.0.0.1:" + std::to_string(*port)),
            std::string::npos)
      << outcome.status.message();
}

TEST_F(DynamoDbAdapterTest, CancelledStepReportsCancelled) {
  const std::string table = Table("users", 5);
  const std::atomic<bool> cancel{true};
  Outcome outcome = Run("export", {{"tables", {table}}, {"to", "out"}}, json(),
                        std::chrono::milliseconds(0), &cancel);
  EXPECT_EQ(outcome.status.code(), Code::kCancelled) << outcome.status.ToString();
  EXPECT_FALSE(fs::exists(dir_.path() / "out" / (table + ".jsonl")));
  EXPECT_EQ(TempFilesIn(dir_.path() / "out"), 0);
}

TEST_F(DynamoDbAdapterTest, CredentialsAndRegionComeFromTheEnvironment) {
  const std::string table = Table("users", 1);
  ::setenv("AWS_SESSION_TOKEN", "backout-session-token", 1);
  json no_region = server_->Target();
  no_region.erase("region");
  ::setenv("AWS_REGION", "eu-west-1", 1);
  EXPECT_TRUE(Run("baseline", {{"tables", {table}}}, no_region).status.ok());
  ::unsetenv("AWS_REGION");
  ::unsetenv("AWS_DEFAULT_REGION");
  Outcome regionless = Run("baseline", {{"tables", {table}}}, no_region);
  EXPECT_EQ(regionless.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(regionless.status.message().find("AWS_REGION"), std::string::npos);

  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  Outcome keyless = Run("baseline", {{"tables", {table}}});
  EXPECT_EQ(keyless.status.code(), Code::kFailedPrecondition);
  EXPECT_NE(keyless.status.message().find("AWS_SECRET_ACCESS_KEY is not set"), std::string::npos)
      << keyless.status.message();
  ::unsetenv("AWS_SESSION_TOKEN");
}

TEST_F(DynamoDbAdapterTest, CredentialsAndRegionComeFromTheTargetsProfile) {
  const std::string table = Table("profiled", 3);
  Result<std::unique_ptr<ThrottlingProxy>> proxy =
      ThrottlingProxy::Start(server_->endpoint(), 0, /*check_signatures=*/true);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  testing::TempDir aws;  // beside dir_, whose files are searched for the secret
  testing::WriteFile(aws.path() / "credentials",
                     fmt::format("[ci]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                                 testing::kTestAccessKeyId, testing::kTestSecretAccessKey));
  testing::WriteFile(aws.path() / "config",
                     fmt::format("[profile ci]\nregion = {}\n",
                                 server_->Target()["region"].get<std::string>()));
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", (aws.path() / "credentials").c_str(), 1);
  ::setenv("AWS_CONFIG_FILE", (aws.path() / "config").c_str(), 1);
  // A target naming its profile skips the environment: this secret would be refused.
  ::setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-the-proxy-knows", 1);
  json target = server_->Target();
  target.erase("region");
  target["endpoint"] = (*proxy)->endpoint();
  target["profile"] = "ci";
  Outcome baseline = Run("baseline", {{"tables", {table}}}, target);
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  ::unsetenv("AWS_CONFIG_FILE");
  testing::SetTestCredentials();
  ASSERT_TRUE(baseline.status.ok()) << baseline.status.ToString();
  EXPECT_EQ(baseline.outputs["tables"][table]["items"], 3);
  const std::vector<std::string> verdicts = Lines((*proxy)->signature_log());
  ASSERT_FALSE(verdicts.empty());
  for (const std::string& verdict : verdicts) EXPECT_TRUE(verdict.starts_with("ok ")) << verdict;
}

TEST_F(DynamoDbAdapterTest, RunRefusesInvalidParamsBeforeCallingDynamoDb) {
  Outcome outcome = Run("delete_table", {{"tables", "users"}});
  EXPECT_EQ(outcome.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(outcome.status.message(), "invalid params/tables: must be a list of table names");
}

struct ValidateCase {
  std::string name;
  std::string action;
  json target;  // merged over a valid target (null: the valid target as it is)
  json params;
  std::string pointer;  // "" with empty `message`: no error expected
  bool in_target;
  std::string message;  // a part of the message
};

void PrintTo(const ValidateCase& c, std::ostream* out) { *out << c.name; }

class DynamoDbValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(DynamoDbValidateTest, ReportsEachProblemWithAPointer) {
  const ValidateCase& c = GetParam();
  json target = {
      {"type", "dynamodb"}, {"endpoint", "http://127.0.0.1:8000"}, {"region", "us-east-1"}};
  if (!c.target.is_null()) target.merge_patch(c.target);
  json params = c.params;
  params["target"] = "ddb";
  const std::vector<ParamError> errors = MakeDynamoDbAdapter()->Validate(c.action, target, params);
  if (c.message.empty()) {
    EXPECT_TRUE(errors.empty()) << errors.front().pointer << ": " << errors.front().message;
    return;
  }
  ASSERT_EQ(errors.size(), 1u) << (errors.empty() ? "" : errors.back().message);
  EXPECT_EQ(errors[0].pointer, c.pointer);
  EXPECT_EQ(errors[0].in_target, c.in_target);
  EXPECT_NE(errors[0].message.find(c.message), std::string::npos) << errors[0].message;
}

const json kTables = {"users", "sessions"};

INSTANTIATE_TEST_SUITE_P(
    Cases, DynamoDbValidateTest,
    ::testing::Values(
        ValidateCase{"UnknownAction", "sql", {}, {}, "", false, "offer no action 'sql'"},
        ValidateCase{"BaselineOk", "baseline", {}, {{"tables", kTables}}, "", false, ""},
        ValidateCase{"BaselineTablesMissing", "baseline", {}, json::object(), "/tables", false,
                     "is required"},
        ValidateCase{"BaselineTablesEmpty", "baseline", {}, {{"tables", json::array()}},
                     "/tables", false, "at least one table"},
        ValidateCase{"BadTableName", "baseline", {}, {{"tables", {"users", "a b"}}}, "/tables/1",
                     false, "not a DynamoDB table name"},
        ValidateCase{"TooShortTableName", "delete_table", {}, {{"tables", {"ab"}}}, "/tables/0",
                     false, "not a DynamoDB table name"},
        ValidateCase{"UnknownKey", "baseline", {}, {{"tables", kTables}, {"tabels", 1}},
                     "/tabels", false, "unknown key 'tabels'"},
        ValidateCase{"PageSizeZero", "export", {}, {{"tables", kTables}, {"to", "b/"},
                                                    {"page_size", 0}},
                     "/page_size", false, "whole number"},
        ValidateCase{"ReferencesDeferred", "export", {{"endpoint", "${DYNAMO_URL}"}},
                     {{"tables", "${TABLES}"}, {"to", "${DIR}"}, {"page_size", "${N}"}}, "",
                     false, ""},
        ValidateCase{"ExportWithoutTo", "export", {}, {{"tables", kTables}}, "/to", false,
                     "is required"},
        ValidateCase{"ImportOk", "import", {}, {{"table", "users"}, {"from", "b/users.jsonl"}},
                     "", false, ""},
        ValidateCase{"ImportWithoutTable", "import", {}, {{"from", "b/users.jsonl"}}, "/table",
                     false, "is required"},
        ValidateCase{"ImportBadDigest", "import", {},
                     {{"table", "users"}, {"from", "x"}, {"sha256", "ABC"}}, "/sha256", false,
                     "SHA-256"},
        ValidateCase{"BillingOk", "update_billing", {},
                     {{"table", "users"}, {"mode", "PAY_PER_REQUEST"}}, "", false, ""},
        ValidateCase{"BillingModeUnknown", "update_billing", {},
                     {{"table", "users"}, {"mode", "ON_DEMAND"}}, "/mode", false,
                     "PAY_PER_REQUEST, PROVISIONED"},
        ValidateCase{"ProvisionedNeedsCapacity", "update_billing", {},
                     {{"table", "users"}, {"mode", "PROVISIONED"}, {"write_capacity", 5}},
                     "/read_capacity", false, "required when mode is PROVISIONED"},
        ValidateCase{"OnDemandHasNoCapacity", "update_billing", {},
                     {{"table", "users"}, {"mode", "PAY_PER_REQUEST"}, {"write_capacity", 5}},
                     "/write_capacity", false, "PROVISIONED only"},
        ValidateCase{"VerifyOk", "verify", {},
                     {{"checks",
                       {{{"table_present", kTables}},
                        {{"table_absent", "users_v2"}},
                        {{"item_count", {{"table", "users"}, {"equals", "baseline"}}}},
                        {{"describe", {{"table", "users"}, {"status", "ACTIVE"},
                                       {"billing_mode", "PAY_PER_REQUEST"}}}}}}},
                     "", false, ""},
        ValidateCase{"ChecksNotAList", "verify", {}, {{"checks", "all"}}, "/checks", false,
                     "list of checks"},
        ValidateCase{"UnknownCheck", "verify", {}, {{"checks", {{{"row_count", "users"}}}}},
                     "/checks/0/row_count", false, "unknown check 'row_count'"},
        ValidateCase{"ItemCountBadEquals", "verify", {},
                     {{"checks", {{{"item_count", {{"table", "users"}, {"equals", "lots"}}}}}}},
                     "/checks/0/item_count/equals", false, "item count or \"baseline\""},
        ValidateCase{"DescribeNeedsAnExpectation", "verify", {},
                     {{"checks", {{{"describe", {{"table", "users"}}}}}}}, "/checks/0/describe",
                     false, "needs status or billing_mode"},
        ValidateCase{"DescribeBadStatus", "verify", {},
                     {{"checks", {{{"describe", {{"table", "users"}, {"status", "READY"}}}}}}},
                     "/checks/0/describe/status", false, "must be one of"},
        ValidateCase{"EndpointNotHttp", "baseline", {{"endpoint", "ftp://host"}},
                     {{"tables", kTables}}, "/endpoint", true, "http:// or https://"},
        ValidateCase{"TargetUnknownKey", "baseline", {{"access_key", "prod"}},
                     {{"tables", kTables}}, "/access_key", true, "unknown key 'access_key'"},
        ValidateCase{"EmptyProfile", "baseline", {{"profile", ""}}, {{"tables", kTables}},
                     "/profile", true, "must not be empty"},
        ValidateCase{"MaxTriesZero", "baseline", {{"max_tries", 0}}, {{"tables", kTables}},
                     "/max_tries", true, "from 1 to 100"},
        ValidateCase{"EmptyRegion", "baseline", {{"region", ""}}, {{"tables", kTables}},
                     "/region", true, "must not be empty"}),
    [](const ::testing::TestParamInfo<ValidateCase>& test_case) { return test_case.param.name; });

}  // namespace
}  // namespace backout::adapters
