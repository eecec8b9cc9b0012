// The S3 client against a real s3rver (tests/support/s3_server.h), each object cross-checked
// with the AWS CLI.
#include "adapters/object_store/s3_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "adapters/object_store/store_settings.h"
#include "base/sha256.h"
#include "testing/fake_env.h"
#include "tests/support/http_server.h"
#include "tests/support/s3_server.h"

namespace backout::adapters::object_store {
namespace {

using backout::testing::S3Server;
using nlohmann::json;

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<S3Server*> shared = S3Server::Shared();
    ASSERT_TRUE(shared.ok()) << shared.status().ToString();
    server_ = *shared;
  }

  S3Client Client(bool path_style = true) {
    StoreConfig config;
    config.endpoint = server_->endpoint();
    config.region = backout::testing::kS3Region;
    config.path_style = path_style;
    config.credentials = {backout::testing::kS3AccessKeyId, backout::testing::kS3SecretAccessKey,
                          ""};
    return S3Client(std::move(config));
  }

  // `aws s3api head-object` of the object, as JSON.
  json AwsHead(const ObjectUrl& url) {
    backout::testing::ProcessResult head =
        server_->Aws({"s3api", "head-object", "--bucket", url.bucket, "--key", url.key});
    EXPECT_EQ(head.exit_code, 0) << backout::testing::Show(head);
    return json::parse(head.out, nullptr, false);
  }

  S3Server* server_ = nullptr;
};

TEST(ObjectUrlTest, ParsesBucketAndKeyAndRefusesOtherSchemes) {
  Result<ObjectUrl> url = ParseObjectUrl("s3://backups/emergency/db.sql");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->bucket, "backups");
  EXPECT_EQ(url->key, "emergency/db.sql");
  EXPECT_EQ(url->ToString(), "s3://backups/emergency/db.sql");
  EXPECT_EQ(ParseObjectUrl("gs://backups/x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseObjectUrl("s3://Bad_Bucket/x").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(HasUrlScheme("gs://b/x"));
  EXPECT_TRUE(HasUrlScheme("s3://b/"));
  EXPECT_FALSE(HasUrlScheme("backups/s3:/x"));
  EXPECT_FALSE(HasUrlScheme("/var/backups/"));
}

TEST(ObjectUrlTest, RequestUrlIsPathStyleOrVirtualHost) {
  StoreConfig config;
  config.endpoint = "https://s3.eu-west-1.amazonaws.com/";
  const ObjectUrl url{"backups", "a b/c.sql"};
  EXPECT_EQ(S3Client(config).RequestUrl(url),
            "https://backups.s3.eu-west-1.amazonaws.com/a%20b/c.sql");
  config.path_style = true;
  EXPECT_EQ(S3Client(config).RequestUrl(url, "uploads="),
            "https://s3.eu-west-1.amazonaws.com/backups/a%20b/c.sql?uploads=");
}

TEST_F(S3ClientTest, PutHeadAndGetRangeAgreeWithTheAwsCliAndAStrangerIsRefused) {
  const S3Client client = Client();
  const ObjectUrl url{"backups", "put/one object.txt"};
  const std::string body = "hello object storage\n";
  ASSERT_TRUE(client.Put(url, body, Sha256Hex(body)).ok());

  Result<ObjectHead> head = client.Head(url);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->bytes, body.size());
  EXPECT_EQ(head->sha256, Sha256Hex(body));
  Result<std::string> middle = client.GetRange(url, 6, 6);
  ASSERT_TRUE(middle.ok()) << middle.status().ToString();
  EXPECT_EQ(*middle, "object");

  const json aws = AwsHead(url);
  EXPECT_EQ(aws.value("ContentLength", -1), static_cast<int>(body.size()));
  EXPECT_EQ(aws["Metadata"].value("sha256", ""), Sha256Hex(body));

  EXPECT_EQ(client.Head({"backups", "put/absent"}).status().code(), Code::kNotFound);
  StoreConfig stranger = client.config();
  stranger.credentials = {"AKIDUNKNOWN", "not-the-secret-d41d8c", ""};
  const Status refused = S3Client(stranger).Put({"backups", "x"}, "x", Sha256Hex("x"));
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition) << refused.ToString();
  EXPECT_EQ(refused.ToString().find("not-the-secret"), std::string::npos);
  ASSERT_TRUE(client.Delete(url).ok());
  EXPECT_EQ(client.Head(url).status().code(), Code::kNotFound);
}

// s3rver ignores encryption and object lock, so what goes on the wire is read from the
// scripted HTTP server, which records every request (its /echo route answers 200).
TEST(S3WriteHeadersTest, CarryTheSha256EncryptionAndObjectLockOfTheSettings) {
  Result<std::unique_ptr<backout::testing::HttpServer>> echo =
      backout::testing::HttpServer::Start();
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  backout::testing::FakeEnv env;  // 2025-11-24T16:00:00Z
  env.SetVar("AWS_ACCESS_KEY_ID", "AKIDHEADERS");
  env.SetVar("AWS_SECRET_ACCESS_KEY", "headers-secret");
  env.UnsetVar("AWS_SESSION_TOKEN");
  const json settings = {{"endpoint", (*echo)->base_url() + "/echo"},
                         {"region", "eu-west-1"},
                         {"path_style", true},
                         {"sse", "aws:kms"},
                         {"kms_key_id", "alias/backups"},
                         {"object_lock", {{"mode", "COMPLIANCE"}, {"days", 30}}}};
  Result<StoreSettings> resolved = ResolveStoreSettings(settings, env, env.NowMicros(), nullptr);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  const std::string body = "dump bytes";
  ASSERT_TRUE(S3Client(resolved->config).Put({"backups", "k/x.dump"}, body, Sha256Hex(body)).ok());

  Result<json> recorded = (*echo)->Recorded();
  ASSERT_TRUE(recorded.ok() && recorded->size() == 1) << recorded->dump();
  const json& request = (*recorded)[0];
  EXPECT_EQ(request["method"], "PUT");
  EXPECT_EQ(request["path"], "/echo/backups/k/x.dump");
  const json& headers = request["headers"];
  EXPECT_EQ(headers.value("x-amz-meta-sha256", ""), Sha256Hex(body));
  EXPECT_EQ(headers.value("x-amz-content-sha256", ""), Sha256Hex(body));
  EXPECT_EQ(headers.value("x-amz-server-side-encryption", ""), "aws:kms");
  EXPECT_EQ(headers.value("x-amz-server-side-encryption-aws-kms-key-id", ""), "alias/backups");
  EXPECT_EQ(headers.value("x-amz-object-lock-mode", ""), "COMPLIANCE");
  EXPECT_EQ(headers.value("x-amz-object-lock-retain-until-date", ""), "2025-12-24T16:00:00Z");
  // Signed by curl at the real time: the scope's date is today's.
  const std::string authorization = headers.value("authorization", "");
  EXPECT_TRUE(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDHEADERS/"))
      << authorization;
  EXPECT_NE(authorization.find("/eu-west-1/s3/aws4_request"), std::string::npos) << authorization;
  EXPECT_EQ(request.dump().find("headers-secret"), std::string::npos);
}

}  // namespace
}  // namespace backout::adapters::object_store
