// The DynamoDB adapter's Preflight against a real dynalite (tests/support/dynamo_server.h),
// and against the signature-checking proxy for credentials DynamoDB refuses: each finding when
// all is well, each failure, and that preflight changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "adapters/dynamodb/dynamodb_adapter.h"
#include "base/sha256.h"
#include "testing/fake_env.h"
#include "tests/support/dynamo_server.h"
#include "tests/support/preflight_findings.h"
#include "tests/support/process.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::AnyCheckMentions;
using testing::DescribeFindings;
using testing::ExpectAllOk;
using testing::TheOnlyFailure;
using testing::DynamoServer;

class DynamoDbPreflightTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<DynamoServer*> server = DynamoServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = *server;
    env_.SetVar("AWS_ACCESS_KEY_ID", testing::kTestAccessKeyId);
    env_.SetVar("AWS_SECRET_ACCESS_KEY", testing::kTestSecretAccessKey);
  }

  std::vector<PreflightFinding> Check(const std::string& action, json params,
                                      json target = nullptr) {
    PreflightRequest request;
    request.action = action;
    request.target = target.is_null() ? server_->Target() : std::move(target);
    request.params = std::move(params);
    request.base_dir = dir_.path();
    request.cancel = &cancel_;
    request.env = &env_;
    std::vector<PreflightFinding> findings = adapter_->Preflight(request);
    const std::string text = DescribeFindings(findings);
    EXPECT_EQ(text.find(testing::kTestSecretAccessKey), std::string::npos) << text;
    return findings;
  }

  std::string Table(const std::string& suffix, int items = 0) {
    return server_->TestTable(suffix, items);
  }

  DynamoServer* server_ = nullptr;
  std::unique_ptr<Adapter> adapter_ = MakeDynamoDbAdapter();
  testing::TempDir dir_;
  testing::FakeEnv env_;
  std::atomic<bool> cancel_{false};
};

TEST_F(DynamoDbPreflightTest, ExportOfExistingTablesAllOk) {
  const std::string users = Table("users", 30);
  const std::string orders = Table("orders", 5);
  const std::vector<PreflightFinding> findings =
      Check("export", {{"tables", {users, orders}}, {"to", "backups"}});
  ExpectAllOk(findings);
  EXPECT_TRUE(AnyCheckMentions(findings, "DynamoDB reachable and accepting the credentials"));
  EXPECT_TRUE(AnyCheckMentions(findings, "table " + users + " (ACTIVE)"))
      << DescribeFindings(findings);
  EXPECT_TRUE(AnyCheckMentions(findings, "table " + orders + " (ACTIVE)"));
  EXPECT_TRUE(AnyCheckMentions(findings, "backup destination backups/ (writable"))
      << DescribeFindings(findings);
  EXPECT_FALSE(fs::exists(dir_.path() / "backups"));
}

TEST_F(DynamoDbPreflightTest, MissingTableIsOneNotFound) {
  const std::string users = Table("users");
  const PreflightFinding failure =
      TheOnlyFailure(Check("baseline", {{"tables", {users, "no-such-table"}}}));
  EXPECT_EQ(failure.check, "table no-such-table");
  EXPECT_EQ(failure.status.code(), Code::kNotFound);
  EXPECT_EQ(failure.status.message(), "table no-such-table does not exist");
  EXPECT_EQ(TheOnlyFailure(
                Check("update_billing", {{"table", "gone"}, {"mode", "PAY_PER_REQUEST"}}))
                .status.code(),
            Code::kNotFound);
}

TEST_F(DynamoDbPreflightTest, AbsenceIsAnAnswerForDeleteAndVerify) {
  const std::vector<PreflightFinding> deleted = Check("delete_table", {{"tables", {"old-table"}}});
  ExpectAllOk(deleted);
  EXPECT_TRUE(AnyCheckMentions(deleted, "table old-table (absent now)"))
      << DescribeFindings(deleted);
  ExpectAllOk(Check("verify", {{"checks", {{{"table_absent", {"old-table"}}},
                                           {{"item_count", {{"table", "xxx"}, {"equals", 0}}}}}}}));
}

TEST_F(DynamoDbPreflightTest, UnreachableEndpointIsOneFinding) {
  Result<int> port = testing::FreePort();
  ASSERT_TRUE(port.ok());
  const std::vector<PreflightFinding> findings = Check(
      "baseline", {{"tables", {"aaa", "bbb", "ccc"}}},
      {{"type", "dynamodb"},
       {"endpoint", "http://127.0.0.1:" + std::to_string(*port)},
       {"region", "us-east-1"}});
  ASSERT_EQ(findings.size(), 1u) << DescribeFindings(findings);
  EXPECT_EQ(findings[0].check, "DynamoDB reachable and accepting the credentials");
  EXPECT_EQ(findings[0].status.code(), Code::kUnavailable) << findings[0].status.ToString();
}

TEST_F(DynamoDbPreflightTest, MissingCredentialsNameTheVariable) {
  env_.UnsetVar("AWS_SECRET_ACCESS_KEY");
  const std::vector<PreflightFinding> findings = Check("baseline", {{"tables", {"aaa"}}});
  ASSERT_EQ(findings.size(), 1u) << DescribeFindings(findings);
  EXPECT_EQ(findings[0].check, "credentials");
  EXPECT_EQ(findings[0].status.code(), Code::kFailedPrecondition);
  EXPECT_NE(findings[0].status.message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(DynamoDbPreflightTest, RefusedCredentialsAreOneFinding) {
  const std::string users = Table("users");
  Result<std::unique_ptr<testing::ThrottlingProxy>> proxy =
      testing::ThrottlingProxy::Start(server_->endpoint(), 0, /*check_signatures=*/true);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  const json target = {
      {"type", "dynamodb"}, {"endpoint", (*proxy)->endpoint()}, {"region", "us-east-1"}};
  ExpectAllOk(Check("baseline", {{"tables", {users}}}, target));
  env_.SetVar("AWS_SECRET_ACCESS_KEY", "not-the-secret-4c1d");
  const std::vector<PreflightFinding> findings = Check("baseline", {{"tables", {users}}}, target);
  ASSERT_EQ(findings.size(), 1u) << DescribeFindings(findings);
  EXPECT_EQ(findings[0].status.code(), Code::kFailedPrecondition) << findings[0].status.ToString();
  EXPECT_NE(findings[0].status.message().find("InvalidSignatureException"), std::string::npos);
  EXPECT_EQ(findings[0].status.message().find("not-the-secret-4c1d"), std::string::npos);
}

TEST_F(DynamoDbPreflightTest, ImportSourceMustBeThereAndMatch) {
  const std::string users = Table("users");
  const PreflightFinding missing =
      TheOnlyFailure(Check("import", {{"table", users}, {"from", "backups/users.jsonl"}}));
  EXPECT_EQ(missing.status.code(), Code::kNotFound);
  EXPECT_EQ(missing.status.message(), "restore source backups/users.jsonl does not exist");

  std::ofstream(dir_.path() / "users.jsonl") << R"({"Item": {"id": {"S": "a"}}})" << "\n";
  const std::string sha256 = Sha256File(dir_.path() / "users.jsonl")->sha256_hex;
  ExpectAllOk(Check("import", {{"table", users}, {"from", "users.jsonl"}, {"sha256", sha256}}));
  EXPECT_EQ(TheOnlyFailure(Check("import", {{"table", users},
                                        {"from", "users.jsonl"},
                                        {"sha256", std::string(64, '0')}}))
                .status.code(),
            Code::kExpectationFailed);
  EXPECT_EQ(TheOnlyFailure(Check("import", {{"table", "nowhere"}, {"from", "users.jsonl"}})).check,
            "table nowhere");
}

TEST_F(DynamoDbPreflightTest, InvalidParamsAreOneFindingAndNothingIsCalled) {
  Result<int> port = testing::FreePort();
  ASSERT_TRUE(port.ok());
  const std::vector<PreflightFinding> findings = Check(
      "baseline", {{"tables", {"a"}}},
      {{"type", "dynamodb"},
       {"endpoint", "http://127.0.0.1:" + std::to_string(*port)},
       {"region", "us-east-1"}});
  ASSERT_EQ(findings.size(), 1u) << DescribeFindings(findings);
  EXPECT_EQ(findings[0].check, "parameters");
  EXPECT_EQ(findings[0].status.code(), Code::kInvalidArgument);
  EXPECT_NE(findings[0].status.message().find("/tables/0"), std::string::npos)
      << findings[0].status.ToString();
}

TEST_F(DynamoDbPreflightTest, CancelStopsIt) {
  cancel_ = true;
  const std::vector<PreflightFinding> findings = Check("baseline", {{"tables", {"aaa"}}});
  ASSERT_EQ(findings.size(), 1u) << DescribeFindings(findings);
  EXPECT_EQ(findings[0].status.code(), Code::kCancelled) << findings[0].status.ToString();
}

TEST_F(DynamoDbPreflightTest, ChangesNothing) {
  const std::string users = Table("users", 12);
  const std::string legacy = Table("legacy", 3);
  std::ofstream(dir_.path() / "users.jsonl") << R"({"Item": {"id": {"S": "new"}}})" << "\n";
  Result<std::string> before = server_->Snapshot();
  ASSERT_TRUE(before.ok());
  Check("import", {{"table", users}, {"from", "users.jsonl"}});
  Check("delete_table", {{"tables", {legacy}}});
  Check("update_billing", {{"table", users}, {"mode", "PAY_PER_REQUEST"}});
  Check("export", {{"tables", {users}}, {"to", "out"}});
  Result<std::string> after = server_->Snapshot();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  EXPECT_FALSE(fs::exists(dir_.path() / "out"));
}

}  // namespace
}  // namespace backout::adapters
