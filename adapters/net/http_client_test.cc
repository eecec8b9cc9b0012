// Tests of the libcurl wrapper against the real scripted server
// (tests/support/http_test_server.py): what is sent, what comes back, and every failure.
#include "adapters/net/http_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "tests/support/http_server_fixture.h"

namespace backout::adapters::net {
namespace {

using nlohmann::json;
using testing::HttpServer;

class HttpClientTest : public testing::HttpServerTest {
 protected:
  static HttpRequest Request(const std::string& method, const std::string& path) {
    HttpRequest request;
    request.method = method;
    request.url = server_->base_url() + path;
    return request;
  }
};

TEST_F(HttpClientTest, GetReturnsStatusBodyAndLowercasedHeaders) {
  Result<HttpResponse> response = Send(Request("GET", "/healthz"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(json::parse(response->body)["status"], "healthy");
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("Content-Type"), std::nullopt) << "names are lowercase";
}

TEST_F(HttpClientTest, AnErrorStatusIsAnAnswerNotAnError) {
  Result<HttpResponse> response = Send(Request("GET", "/status/500"));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 500);
}

TEST_F(HttpClientTest, SendsMethodBodyAndHeadersAsGiven) {
  HttpRequest request = Request("PATCH", "/echo/thing?x=1");
  request.body = R"({"a":1})";
  request.headers = {{"X-Thing", "value"}, {"X-Empty", ""}};
  Result<HttpResponse> response = Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const json echoed = json::parse(response->body);
  EXPECT_EQ(echoed["method"], "PATCH");
  EXPECT_EQ(echoed["path"], "/echo/thing");
  EXPECT_EQ(echoed["query"], "x=1");
  EXPECT_EQ(echoed["body"], R"({"a":1})");
  EXPECT_EQ(echoed["headers"]["x-thing"], "value");
  EXPECT_EQ(echoed["headers"]["x-empty"], "") << "an empty value is sent, not dropped";
  EXPECT_FALSE(echoed["headers"].contains("expect")) << "no 100-continue round trip";
}

TEST_F(HttpClientTest, DeleteAndHeadWithoutBody) {
  ASSERT_TRUE(Send(Request("POST", "/admin/maintenance")).ok());
  Result<HttpResponse> deleted = Send(Request("DELETE", "/admin/maintenance"));
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(deleted->status, 204);
  EXPECT_EQ(server_->State()->at("maintenance"), false);
  Result<HttpResponse> head = Send(Request("HEAD", "/healthz"));
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
}

TEST_F(HttpClientTest, UnreachableIsUnavailableNamingTheUrlWithoutItsQuery) {
  const std::string url = StoppedServerUrl() + "/x?token=s3cr3t-token";
  HttpRequest request;
  request.url = url;
  Result<HttpResponse> response = Send(request);
  ASSERT_EQ(response.status().code(), Code::kUnavailable) << response.status().ToString();
  EXPECT_NE(response.status().message().find("GET " + url.substr(0, url.find('?'))),
            std::string::npos)
      << response.status().message();
  EXPECT_EQ(response.status().message().find("s3cr3t"), std::string::npos);
}

TEST_F(HttpClientTest, UrlForMessagesReplacesTheUrlInMessages) {
  HttpRequest request = Request("POST", "/hang/secret-path");
  request.url_for_messages = "https://hooks.example/...";
  request.timeout = std::chrono::milliseconds(200);
  Result<HttpResponse> response = Send(request);
  ASSERT_EQ(response.status().code(), Code::kTimeout) << response.status().ToString();
  EXPECT_NE(response.status().message().find("POST https://hooks.example/..."), std::string::npos);
  EXPECT_EQ(response.status().message().find("secret-path"), std::string::npos);
}

TEST_F(HttpClientTest, HangingAnswerTimesOut) {
  HttpRequest request = Request("GET", "/hang/forever");
  request.timeout = std::chrono::milliseconds(300);
  Result<HttpResponse> response = Send(request);
  EXPECT_EQ(response.status().code(), Code::kTimeout) << response.status().ToString();
  EXPECT_NE(response.status().message().find("300ms"), std::string::npos)
      << response.status().message();
}

TEST_F(HttpClientTest, CancelStopsAHangingRequest) {
  std::atomic<bool> cancel{false};
  HttpRequest request = Request("GET", "/hang/until-cancelled");
  request.timeout = std::chrono::milliseconds(0);  // none: only the flag can end it
  request.cancel = &cancel;
  Result<HttpResponse> response = CancelOnceRecorded(cancel, [&] { return Send(request); });
  EXPECT_EQ(response.status().code(), Code::kCancelled) << response.status().ToString();
}

TEST_F(HttpClientTest, CancelledBeforeItStartsSendsNothing) {
  std::atomic<bool> cancel{true};
  HttpRequest request = Request("POST", "/hooks/x");
  request.cancel = &cancel;
  EXPECT_EQ(Send(request).status().code(), Code::kCancelled);
  EXPECT_TRUE(Recorded().empty());
}

TEST_F(HttpClientTest, AnswerLargerThanTheLimitFails) {
  HttpRequest request = Request("GET", "/bytes/5000");
  request.max_response_bytes = 1000;
  Result<HttpResponse> response = Send(request);
  EXPECT_EQ(response.status().code(), Code::kIOError) << response.status().ToString();
  EXPECT_NE(response.status().message().find("larger than 1000 bytes"), std::string::npos);
}

TEST_F(HttpClientTest, HeaderThatWouldSmuggleAnotherIsRefusedBeforeSending) {
  for (const Headers& headers : {Headers{{"X-A", "v\r\nX-Injected: 1"}},
                                 Headers{{"X-A: b", "v"}}, Headers{{"", "v"}}}) {
    HttpRequest request = Request("GET", "/echo");
    request.headers = headers;
    EXPECT_EQ(Send(request).status().code(), Code::kInvalidArgument) << headers[0].first;
  }
  EXPECT_TRUE(Recorded().empty());
}

TEST_F(HttpClientTest, SigV4SignsWithoutSendingTheSecret) {
  HttpRequest request = Request("POST", "/echo/dynamo");
  request.body = "{}";
  request.sigv4 = AwsSigV4{"eu-west-1", "dynamodb", "AKIDTESTKEY", "the-secret-access-key",
                           "the-session-token"};
  Result<HttpResponse> response = Send(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const json headers = json::parse(response->body)["headers"];
  const std::string authorization = headers.value("authorization", "");
  EXPECT_TRUE(authorization.starts_with(
      "AWS4-HMAC-SHA256 Credential=AKIDTESTKEY/"))
      << authorization;
  EXPECT_NE(authorization.find("/eu-west-1/dynamodb/aws4_request"), std::string::npos);
  EXPECT_TRUE(headers.contains("x-amz-date"));
  EXPECT_EQ(headers.value("x-amz-security-token", ""), "the-session-token");
  EXPECT_EQ(response->body.find("the-secret-access-key"), std::string::npos);
}

TEST(HttpClientTls, HttpsToAPlainServerFails) {
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  HttpRequest request;
  request.url = "https://127.0.0.1:" + std::to_string((*server)->port()) + "/healthz";
  EXPECT_EQ(Send(request).status().code(), Code::kUnavailable);
}

TEST(HttpClientTls, VerifiesCertificatesByDefault) {
  testing::TempDir dir;
  ASSERT_TRUE(testing::MakeSelfSignedCertificate(dir.path()).ok());
  Result<std::unique_ptr<HttpServer>> server =
      HttpServer::Start({dir.path() / "cert.pem", dir.path() / "key.pem"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  HttpRequest request;
  request.url = (*server)->base_url() + "/healthz";
  ASSERT_TRUE(request.url.starts_with("https://"));

  Result<HttpResponse> untrusted = Send(request);
  EXPECT_EQ(untrusted.status().code(), Code::kUnavailable) << "a self-signed certificate";
  EXPECT_NE(untrusted.status().message().find("certificate"), std::string::npos)
      << untrusted.status().message();

  request.ca_file = (dir.path() / "cert.pem").string();
  Result<HttpResponse> trusted = Send(request);
  ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
  EXPECT_EQ(trusted->status, 200);

  request.ca_file.clear();
  request.verify_tls = false;
  Result<HttpResponse> unverified = Send(request);
  ASSERT_TRUE(unverified.ok()) << unverified.status().ToString();
  EXPECT_EQ(unverified->status, 200);
}

TEST(HttpClientText, UrlForMessagesAndOriginDropCredentialsQueryAndPath) {
  EXPECT_EQ(UrlForMessages("https://user:pw@host:8443/a/b?token=x#frag"), "https://host:8443/a/b");
  EXPECT_EQ(UrlForMessages("http://host/p@q"), "http://host/p@q");
  EXPECT_EQ(OriginOf("https://user:pw@hooks.example/services/T0/B0/XYZ?x=1"),
            "https://hooks.example");
  EXPECT_EQ(OriginOf("http://host:81"), "http://host:81");
}

TEST(HttpClientText, TextExcerptCutsAtACharacterAndRepairsUtf8) {
  EXPECT_EQ(TextExcerpt("short", 10), "short");
  EXPECT_EQ(TextExcerpt("abcdef", 3), "abc...");
  // "é" is two bytes: a cut inside it drops the character rather than half of it.
  EXPECT_EQ(TextExcerpt("ab\xC3\xA9z", 3), "ab...");
  EXPECT_EQ(TextExcerpt("a\xFF" "b", 10), "a\xEF\xBF\xBD" "b");
  EXPECT_NO_THROW((void)json(TextExcerpt("\xC3\x28\xA0\xA1", 10)).dump());
}

}  // namespace
}  // namespace backout::adapters::net
