// The AWS credential chain, one test per source that can run here. The HTTP sources (SSO,
// STS, container, instance metadata) talk to FakeAwsEndpoints, a small server on 127.0.0.1
// started once for the suite; every test sets AWS_EC2_METADATA_DISABLED or points the
// metadata endpoint at it, so no test ever reaches a real metadata address.
#include "adapters/aws/credentials.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/fake_env.h"
#include "testing/temp_dir.h"

namespace backout::adapters::aws {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// An HTTP/1.1 server on 127.0.0.1 that answers each "METHOD /path" (query excluded) with a
// fixed status and body, 404 otherwise, one connection at a time, and records every request.
class FakeAwsEndpoints {
 public:
  struct Request {
    std::string method, path, query, body;
    std::map<std::string, std::string> headers;  // lowercase names
  };

  FakeAwsEndpoints() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(listener_, 16) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeAwsEndpoints() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
  }

  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }

  void Route(const std::string& method, const std::string& path, int status, std::string body) {
    std::lock_guard lock(mu_);
    routes_[method + " " + path] = {status, std::move(body)};
  }
  void Reset() {
    std::lock_guard lock(mu_);
    routes_.clear();
    requests_.clear();
  }
  std::vector<Request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd ready{listener_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      const int connection = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      Answer(connection);
      ::close(connection);
    }
  }

  void Answer(int connection) {
    std::string text;
    char buffer[4096];
    std::size_t header_end = std::string::npos;
    std::size_t body_length = 0;
    while (true) {
      if (header_end == std::string::npos &&
          (header_end = text.find("\r\n\r\n")) != std::string::npos) {
        const std::string head = ToLower(text.substr(0, header_end));
        if (const std::size_t at = head.find("\r\ncontent-length:"); at != std::string::npos) {
          body_length = std::stoul(head.substr(at + 17));
        }
      }
      if (header_end != std::string::npos && text.size() >= header_end + 4 + body_length) break;
      const ssize_t got = ::recv(connection, buffer, sizeof(buffer), 0);
      if (got <= 0) return;
      text.append(buffer, static_cast<std::size_t>(got));
    }
    Request request;
    std::istringstream head(text.substr(0, header_end));
    std::string target, line;
    head >> request.method >> target;
    std::getline(head, line);
    while (std::getline(head, line)) {
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      if (!value.empty() && value.back() == '\r') value.pop_back();
      request.headers[ToLower(line.substr(0, colon))] = value;
    }
    request.path = target.substr(0, target.find('?'));
    if (const std::size_t q = target.find('?'); q != std::string::npos)
      request.query = target.substr(q + 1);
    request.body = text.substr(header_end + 4, body_length);
    std::pair<int, std::string> answer{404, "{}"};
    {
      std::lock_guard lock(mu_);
      if (const auto it = routes_.find(request.method + " " + request.path); it != routes_.end()) {
        answer = it->second;
      }
      requests_.push_back(std::move(request));
    }
    const std::string response =
        fmt::format("HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                    answer.first, answer.second.size(), answer.second);
    ::send(connection, response.data(), response.size(), MSG_NOSIGNAL);
  }

  static std::string ToLower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;
  std::vector<Request> requests_;
};

constexpr char kSecret[] = "wJalrXUtnFEMI-test-secret";
constexpr char kToken[] = "session-token-4f2a";

class CredentialsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new FakeAwsEndpoints(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    server_->Reset();
    env_.SetVar("HOME", home_.path().string());
    env_.SetVar("AWS_EC2_METADATA_DISABLED", "true");
  }

  void Write(const fs::path& relative, const std::string& text) {
    fs::create_directories((home_.path() / relative).parent_path());
    std::ofstream(home_.path() / relative) << text;
  }

  // The chain's error, checked to hold no secret.
  Status Failure(const json& target = json::object()) {
    Result<Credentials> credentials = CredentialsFor(target, env_);
    EXPECT_FALSE(credentials.ok());
    const std::string message = credentials.status().message();
    for (const char* secret : {kSecret, kToken, "web-identity-jwt", "sso-access-token"}) {
      EXPECT_EQ(message.find(secret), std::string::npos) << message;
    }
    return credentials.status();
  }

  inline static FakeAwsEndpoints* server_ = nullptr;
  testing::TempDir home_;
  testing::FakeEnv env_;
};

TEST_F(CredentialsTest, EnvironmentComesFirstAndAHalfSetPairIsAnError) {
  Write(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = x\n");
  env_.SetVar("AWS_ACCESS_KEY_ID", "AKIAENV");
  env_.SetVar("AWS_SECRET_ACCESS_KEY", kSecret);
  env_.SetVar("AWS_SESSION_TOKEN", kToken);
  Result<Credentials> found = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->access_key_id, "AKIAENV");
  EXPECT_EQ(found->secret_access_key, kSecret);
  EXPECT_EQ(found->session_token, kToken);
  EXPECT_EQ(found->source, "environment");

  // A target that names its profile skips the environment, as `aws --profile` does.
  Result<Credentials> chosen = CredentialsFor({{"profile", "default"}}, env_);
  ASSERT_TRUE(chosen.ok()) << chosen.status().ToString();
  EXPECT_EQ(chosen->access_key_id, "AKIAFILE");

  env_.UnsetVar("AWS_ACCESS_KEY_ID");
  const Status half = Failure();
  EXPECT_EQ(half.code(), Code::kFailedPrecondition);
  EXPECT_NE(half.message().find("AWS_ACCESS_KEY_ID is not set"), std::string::npos);
}

TEST_F(CredentialsTest, ProfilesComeFromTheSharedFilesWithTheirRegion) {
  Write("aws/creds",
        "# keys\n[default]\naws_access_key_id = AKIADEFAULT\n"
        "aws_secret_access_key = " +
            std::string(kSecret) +
            "\n"
            "[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key= s2 \n"
            "aws_session_token = " +
            kToken + "\n");
  Write("aws/conf",
        "[default]\nregion = us-east-2\n; comment\n[profile dev]\nregion = eu-north-1\n"
        "s3 =\n  max_concurrent_requests = 4\n"
        "[profile keysonly]\naws_access_key_id = AKIACONF\naws_secret_access_key = s3\n");
  env_.SetVar("AWS_SHARED_CREDENTIALS_FILE", (home_.path() / "aws/creds").string());
  env_.SetVar("AWS_CONFIG_FILE", "~/aws/conf");

  Result<Credentials> defaults = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->access_key_id, "AKIADEFAULT");
  EXPECT_EQ(defaults->source,
            fmt::format("profile 'default' in {}", (home_.path() / "aws/creds").string()));
  EXPECT_EQ(*RegionFor(json::object(), env_), "us-east-2");

  env_.SetVar("AWS_PROFILE", "dev");
  Result<Credentials> dev = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(dev.ok()) << dev.status().ToString();
  EXPECT_EQ(dev->access_key_id, "AKIADEV");
  EXPECT_EQ(dev->secret_access_key, "s2");
  EXPECT_EQ(dev->session_token, kToken);
  EXPECT_EQ(*RegionFor(json::object(), env_), "eu-north-1");
  env_.SetVar("AWS_DEFAULT_REGION", "ap-south-1");  // the environment wins over the file
  EXPECT_EQ(*RegionFor(json::object(), env_), "ap-south-1");
  EXPECT_EQ(*RegionFor({{"region", "sa-east-1"}}, env_), "sa-east-1");

  Result<Credentials> keys_in_config = CredentialsFor({{"profile", "keysonly"}}, env_);
  ASSERT_TRUE(keys_in_config.ok()) << keys_in_config.status().ToString();
  EXPECT_EQ(keys_in_config->access_key_id, "AKIACONF");

  // Assuming a role from another profile is refused, not skipped for another identity.
  Write("aws/conf", "[profile assumer]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = dev\n");
  const Status assumer = Failure({{"profile", "assumer"}});
  EXPECT_NE(assumer.message().find("does not support"), std::string::npos) << assumer.message();

  const Status missing = Failure({{"profile", "nosuch"}});
  EXPECT_EQ(missing.code(), Code::kFailedPrecondition);
  EXPECT_NE(missing.message().find("'nosuch'"), std::string::npos) << missing.message();
}

TEST_F(CredentialsTest, CredentialProcessPrintsThemAndItsFailureShowsNoOutput) {
  Write("bin/creds.sh", fmt::format("#!/bin/sh\necho 'warming up' >&2\n"
                                    "if [ \"$1\" = fail ]; then echo '{}'; exit 3; fi\n"
                                    "printf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROC\", "
                                    "\"SecretAccessKey\": \"{}\", \"SessionToken\": \"{}\", "
                                    "\"Expiration\": \"2030-01-02T03:04:05Z\"}}'\n",
                                    kSecret, kSecret, kToken));
  fs::permissions(home_.path() / "bin/creds.sh", fs::perms::owner_all);
  Write(".aws/config", fmt::format("[default]\ncredential_process = \"{}\" ok\n"
                                   "[profile broken]\ncredential_process = {} fail\n",
                                   (home_.path() / "bin/creds.sh").string(),
                                   (home_.path() / "bin/creds.sh").string()));
  Result<Credentials> found = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->access_key_id, "AKIAPROC");
  EXPECT_EQ(found->secret_access_key, kSecret);
  EXPECT_EQ(found->session_token, kToken);
  EXPECT_EQ(found->source, "credential_process of profile 'default'");
  EXPECT_EQ(found->expires_at_micros, 1'893'553'445'000'000);

  const Status failed = Failure({{"profile", "broken"}});
  EXPECT_NE(failed.message().find("exit 3"), std::string::npos) << failed.message();
}

TEST_F(CredentialsTest, SsoExchangesTheCachedTokenAndRefusesAnExpiredOne) {
  Write(".aws/config",
        "[profile sso]\nsso_session = corp\nsso_account_id = 123456789012\n"
        "sso_role_name = Deployer\n[sso-session corp]\nsso_region = eu-west-1\n"
        "sso_start_url = https://corp.awsapps.com/start\n");
  // The AWS CLI's cache file name: the SHA-1 of the session name (`printf corp | sha1sum`).
  Write(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json",
        R"({"accessToken": "sso-access-token", "expiresAt": "2025-11-24T17:00:00Z"})");
  env_.SetVar("AWS_PROFILE", "sso");
  env_.SetVar("AWS_ENDPOINT_URL_SSO", server_->url());
  server_->Route("GET", "/federation/credentials", 200,
                 json{{"roleCredentials",
                       {{"accessKeyId", "ASIASSO"},
                        {"secretAccessKey", kSecret},
                        {"sessionToken", kToken},
                        {"expiration", 1'764'003'600'000}}}}
                     .dump());
  Result<Credentials> found = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->access_key_id, "ASIASSO");
  EXPECT_EQ(found->session_token, kToken);
  EXPECT_EQ(found->expires_at_micros, 1'764'003'600'000'000);
  const std::vector<FakeAwsEndpoints::Request> requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].query, "role_name=Deployer&account_id=123456789012");
  EXPECT_EQ(requests[0].headers.at("x-amz-sso_bearer_token"), "sso-access-token");

  env_.Advance(std::chrono::hours(2));  // past the cached token's expiresAt
  const Status expired = Failure();
  EXPECT_NE(expired.message().find("aws sso login --profile sso"), std::string::npos)
      << expired.message();
}

TEST_F(CredentialsTest, WebIdentityAssumesTheRoleAtSts) {
  Write("token.jwt", "web-identity-jwt\n");
  env_.SetVar("AWS_WEB_IDENTITY_TOKEN_FILE", (home_.path() / "token.jwt").string());
  env_.SetVar("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/deploy");
  env_.SetVar("AWS_ROLE_SESSION_NAME", "ci");
  env_.SetVar("AWS_ENDPOINT_URL_STS", server_->url());
  server_->Route(
      "POST", "/", 200,
      fmt::format(
          "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
          "<AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>"
          "<SessionToken>{}</SessionToken><Expiration>2030-01-02T03:04:05Z</Expiration>"
          "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
          kSecret, kToken));
  Result<Credentials> found = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->access_key_id, "ASIAWEB");
  EXPECT_EQ(found->secret_access_key, kSecret);
  EXPECT_EQ(found->session_token, kToken);
  EXPECT_EQ(found->expires_at_micros, 1'893'553'445'000'000);
  const std::vector<FakeAwsEndpoints::Request> requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
            "123456789012%3Arole%2Fdeploy&RoleSessionName=ci&WebIdentityToken=web-identity-jwt");

  server_->Route("POST", "/", 403,
                 "<ErrorResponse><Error><Code>AccessDenied</Code>"
                 "<Message>web-identity-jwt</Message></Error></ErrorResponse>");
  const Status refused = Failure();
  EXPECT_NE(refused.message().find("HTTP 403: AccessDenied"), std::string::npos)
      << refused.message();
}

TEST_F(CredentialsTest, ContainerEndpointSendsTheAuthorizationToken) {
  Write("container-token", "container-secret-token\n");
  env_.SetVar("AWS_CONTAINER_CREDENTIALS_FULL_URI", server_->url() + "/v1/credentials");
  env_.SetVar("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
              (home_.path() / "container-token").string());
  server_->Route("GET", "/v1/credentials", 200,
                 json{{"AccessKeyId", "ASIACONTAINER"},
                      {"SecretAccessKey", kSecret},
                      {"Token", kToken},
                      {"Expiration", "2030-01-02T03:04:05.123Z"}}
                     .dump());
  Result<Credentials> found = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->access_key_id, "ASIACONTAINER");
  EXPECT_EQ(found->session_token, kToken);
  EXPECT_EQ(found->source, "container");
  EXPECT_EQ(found->expires_at_micros, 1'893'553'445'000'000);
  ASSERT_EQ(server_->requests().size(), 1u);
  EXPECT_EQ(server_->requests()[0].headers.at("authorization"), "container-secret-token");

  // Plain http is refused before any request unless it stays on this machine.
  env_.SetVar("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://credentials.invalid/v1");
  EXPECT_NE(Failure().message().find("must be https"), std::string::npos);
}

TEST_F(CredentialsTest, InstanceMetadataUsesAnImdsV2SessionToken) {
  env_.UnsetVar("AWS_EC2_METADATA_DISABLED");
  env_.SetVar("AWS_EC2_METADATA_SERVICE_ENDPOINT", server_->url() + "/");
  server_->Route("PUT", "/latest/api/token", 200, "imds-session-token");
  server_->Route("GET", "/latest/meta-data/iam/security-credentials/", 200, "web-role\n");
  server_->Route("GET", "/latest/meta-data/iam/security-credentials/web-role", 200,
                 json{{"Code", "Success"},
                      {"AccessKeyId", "ASIAIMDS"},
                      {"SecretAccessKey", kSecret},
                      {"Token", kToken},
                      {"Expiration", "2030-01-02T03:04:05Z"}}
                     .dump());
  Result<Credentials> found = CredentialsFor(json::object(), env_);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->access_key_id, "ASIAIMDS");
  EXPECT_EQ(found->secret_access_key, kSecret);
  EXPECT_EQ(found->source, "instance metadata");
  const std::vector<FakeAwsEndpoints::Request> requests = server_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].headers.at("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
  EXPECT_EQ(requests[2].headers.at("x-aws-ec2-metadata-token"), "imds-session-token");
}

TEST_F(CredentialsTest, NoSourceGivesAnErrorListingEverySourceTried) {
  const Status disabled = Failure();
  EXPECT_EQ(disabled.code(), Code::kFailedPrecondition);
  for (const char* source : {"environment (AWS_ACCESS_KEY_ID", "profile 'default'", "web identity",
                             "container", "AWS_EC2_METADATA_DISABLED"}) {
    EXPECT_NE(disabled.message().find(source), std::string::npos) << disabled.message();
  }
  // An instance without a role (the metadata endpoint answers, but 404 for the role list)
  // is a source tried, not an error of its own.
  env_.UnsetVar("AWS_EC2_METADATA_DISABLED");
  env_.SetVar("AWS_EC2_METADATA_SERVICE_ENDPOINT", server_->url());
  server_->Route("PUT", "/latest/api/token", 200, "imds-session-token");
  const Status roleless = Failure();
  EXPECT_NE(roleless.message().find("the instance has no IAM role"), std::string::npos)
      << roleless.message();
}

}  // namespace
}  // namespace backout::adapters::aws
