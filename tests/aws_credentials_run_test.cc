// End to end: `backout run` signs its DynamoDB calls with credentials from the AWS profile a
// target names (adapters/aws/credentials.h), here from that profile's credential_process,
// with its region from the config file. The real binary, dynalite behind the
// signature-checking proxy (a wrong secret would be refused), and no secret in the output or
// the journal; a failing credential_process fails the run before DynamoDB is called.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/dynamo_server.h"
#include "tests/support/example.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPlan = R"yaml(version: 1
name: profile-credentials
targets:
  ddb: { type: dynamodb, endpoint: "${DYNAMO_ENDPOINT}", profile: ci }
steps:
  - id: count
    title: Count the table
    baseline: { target: ddb, tables: [{table}] }
)yaml";

class AwsCredentialsRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<DynamoServer*> server = DynamoServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    table_ = (*server)->TestTable("profiled", 4);
    Result<std::unique_ptr<ThrottlingProxy>> proxy =
        ThrottlingProxy::Start((*server)->endpoint(), 0, /*check_signatures=*/true);
    ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
    proxy_ = std::move(proxy).value();
    std::string plan = kPlan;
    plan.replace(plan.find("{table}"), 7, table_);
    WriteFile(dir_.path() / "plan.yaml", plan);
    // The helper prints the test credentials; with "fail" it says them on stdout and exits 1.
    WriteFile(home_.path() / "creds.sh",
              fmt::format("#!/bin/sh\nout='{{\"Version\": 1, \"AccessKeyId\": \"{}\", "
                          "\"SecretAccessKey\": \"{}\"}}'\necho \"$out\"\n"
                          "[ \"$1\" = fail ] && exit 1\nexit 0\n",
                          kTestAccessKeyId, kTestSecretAccessKey));
    fs::permissions(home_.path() / "creds.sh", fs::perms::owner_all);
  }

  ProcessResult Run(const std::string& process_argument) {
    fs::create_directories(home_.path() / ".aws");
    WriteFile(home_.path() / ".aws" / "config",
              fmt::format("[profile ci]\nregion = us-east-1\ncredential_process = {} {}\n",
                          (home_.path() / "creds.sh").string(), process_argument));
    ProcessSpec spec;
    spec.argv = {BackoutBinary().string(), "run", "plan.yaml"};
    spec.env = {{"BACKOUT_JOURNAL", (dir_.path() / "journal").string()},
                {"BACKOUT_OPERATOR", "tester"},
                {"DYNAMO_ENDPOINT", proxy_->endpoint()},
                {"HOME", home_.path().string()},
                // Skipped for a target that names its profile: this one would be refused.
                {"AWS_ACCESS_KEY_ID", kTestAccessKeyId},
                {"AWS_SECRET_ACCESS_KEY", "not-the-secret-the-proxy-knows"},
                {"AWS_REGION", ""},
                {"AWS_DEFAULT_REGION", ""}};
    spec.cwd = dir_.path();
    return RunProcess(spec);
  }

  // The secret appears in neither output nor any file of the journal.
  void ExpectNoSecret(const ProcessResult& run) {
    EXPECT_FALSE(Contains(run.out + run.err, kTestSecretAccessKey)) << Show(run);
    if (!fs::exists(dir_.path() / "journal")) return;  // refused before the journal was made
    for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "journal")) {
      if (entry.is_regular_file()) {
        EXPECT_FALSE(Contains(ReadFile(entry.path()), kTestSecretAccessKey)) << entry.path();
      }
    }
  }

  TempDir dir_;
  TempDir home_;
  std::string table_;
  std::unique_ptr<ThrottlingProxy> proxy_;
};

TEST_F(AwsCredentialsRunTest, RunSignsWithTheProfilesCredentialProcess) {
  const ProcessResult run = Run("ok");
  EXPECT_EQ(run.exit_code, 0) << Show(run);
  const std::vector<std::string> verdicts = SplitLines(ReadFile(proxy_->signature_log()));
  ASSERT_FALSE(verdicts.empty());
  for (const std::string& verdict : verdicts) EXPECT_TRUE(verdict.starts_with("ok ")) << verdict;
  ExpectNoSecret(run);
}

TEST_F(AwsCredentialsRunTest, AFailingCredentialProcessFailsTheRunWithoutItsOutput) {
  const ProcessResult run = Run("fail");
  EXPECT_NE(run.exit_code, 0) << Show(run);
  EXPECT_TRUE(Contains(run.out + run.err, "credential_process of profile 'ci' failed (exit 1)"))
      << Show(run);
  EXPECT_TRUE(ReadFile(proxy_->signature_log()).empty());
  ExpectNoSecret(run);
}

}  // namespace
}  // namespace backout::testing
