// Tests of the http adapter against the real scripted server
// (tests/support/http_test_server.py): every parameter, every failure, and that secret header
// values never reach outputs, messages or progress.
#include "adapters/http/http_adapter.h"

#include <gtest/gtest.h>

#include <atomic>

#include "adapters/http/validate_case_test.h"
#include "testing/invocation_builder.h"
#include "tests/support/http_server_fixture.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using http::ValidateCase;
using nlohmann::json;
using std::chrono::milliseconds;
using testing::HttpServer;

class HttpAdapterTest : public testing::HttpServerTest {
 protected:
  Invocation MakeInvocation(json params, json target) {
    return testing::InvocationBuilder("http")
        .Target("app", std::move(target))
        .Params(std::move(params))
        .BaseDir(dir_.path())
        .Progress([this](std::string_view line) { progress_.emplace_back(line); })
        .Build();
  }

  Outcome Run(json params, json target, milliseconds timeout = milliseconds(0)) {
    Invocation invocation = MakeInvocation(std::move(params), std::move(target));
    invocation.timeout = timeout;
    Outcome outcome = adapter_->Run(invocation);
    EXPECT_EQ(UndeclaredOutputs(adapter_->vocabulary(), "http", outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }
  Outcome Run(json params) { return Run(std::move(params), HttpTarget()); }

  testing::TempDir dir_;
  std::vector<std::string> progress_;
  std::unique_ptr<Adapter> adapter_ = MakeHttpAdapter();
};

TEST_F(HttpAdapterTest, GetWithDefaultsReportsStatusBodyAndParsedJson) {
  const Outcome out = Run({{"path", "/healthz"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["method"], "GET");
  EXPECT_EQ(out.outputs["url"], server_->base_url() + "/healthz");
  EXPECT_EQ(out.outputs["status"], 200);
  EXPECT_EQ(out.outputs["json"]["status"], "healthy");
  EXPECT_EQ(json::parse(out.outputs["body"].get<std::string>()), out.outputs["json"]);
  EXPECT_EQ(out.outputs["body_bytes"], out.outputs["body"].get<std::string>().size());
  EXPECT_EQ(out.outputs["content_type"], "application/json");
  EXPECT_TRUE(out.outputs["elapsed_ms"].is_number_integer());
  EXPECT_FALSE(out.outputs.contains("polls"));
  const json recorded = Recorded();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["method"], "GET");
}

TEST_F(HttpAdapterTest, PostSendsBodyAndMergesHeadersActionFirst) {
  const Outcome out =
      Run({{"method", "post"},
           {"path", "/admin/maintenance"},
           {"body", R"({"on":true})"},
           {"headers", {{"x-both", "from-action"}, {"Content-Type", "application/json"}}},
           {"expect_status", {200, 204}}},
          HttpTarget({{"headers", {{"X-Team", "db"}, {"X-Both", "from-target"}}}}));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["method"], "POST");
  EXPECT_EQ(out.outputs["json"]["maintenance"], true);
  EXPECT_EQ(server_->State()->at("maintenance"), true);
  const json sent = Recorded().at(0);
  EXPECT_EQ(sent["body"], R"({"on":true})");
  EXPECT_EQ(sent["headers"]["x-team"], "db");
  EXPECT_EQ(sent["headers"]["x-both"], "from-action");
  EXPECT_EQ(sent["headers"]["content-type"], "application/json");
}

TEST_F(HttpAdapterTest, BodyContentTypeFollowsTheBody) {
  ASSERT_TRUE(Run({{"method", "POST"}, {"path", "/echo/a"}, {"body", {{"enabled", false}}}})
                  .status.ok());
  ASSERT_TRUE(Run({{"method", "PUT"}, {"path", "/echo/b"}, {"body", R"(["x"])"}}).status.ok());
  ASSERT_TRUE(Run({{"method", "POST"}, {"path", "/echo/c"}, {"body", "plain words"}}).status.ok());
  const json recorded = Recorded();
  ASSERT_EQ(recorded.size(), 3u);
  EXPECT_EQ(json::parse(recorded[0]["body"].get<std::string>()), json({{"enabled", false}}));
  EXPECT_EQ(recorded[0]["headers"]["content-type"], "application/json");
  EXPECT_EQ(recorded[1]["method"], "PUT");
  EXPECT_EQ(recorded[1]["headers"]["content-type"], "application/json");
  EXPECT_EQ(recorded[2]["headers"]["content-type"], "text/plain; charset=utf-8");
}

TEST_F(HttpAdapterTest, FullUrlInsteadOfPathAndTheBaseUrlAlone) {
  const Outcome by_url = Run({{"url", server_->base_url() + "/status/204"},
                              {"method", "DELETE"},
                              {"expect_status", {200, 204}}},
                             json{{"type", "http"}});
  ASSERT_TRUE(by_url.status.ok()) << by_url.status.ToString();
  EXPECT_EQ(by_url.outputs["status"], 204);
  EXPECT_EQ(by_url.outputs["body"], "");
  EXPECT_FALSE(by_url.outputs.contains("json"));
  // A base URL with a path and a trailing slash joins a path without doubling the slash.
  const Outcome joined = Run({{"path", "/x"}}, HttpTarget({{"base_url", server_->base_url() + "/echo/"}}));
  ASSERT_TRUE(joined.status.ok()) << joined.status.ToString();
  EXPECT_EQ(joined.outputs["json"]["path"], "/echo/x");
  const Outcome base_only = Run(json::object(), HttpTarget({{"base_url", server_->base_url() + "/healthz"}}));
  ASSERT_TRUE(base_only.status.ok()) << base_only.status.ToString();
  EXPECT_EQ(base_only.outputs["url"], server_->base_url() + "/healthz");
}

TEST_F(HttpAdapterTest, ExpectStatusAcceptsCodesAndClasses) {
  struct Case {
    std::string path;
    json expect;  // null: the default
    bool ok;
    std::string expected_text;
  };
  const std::vector<Case> cases = {
      {"/status/200", nullptr, true, ""},
      {"/status/299", nullptr, true, ""},
      {"/status/404", nullptr, false, "answered 404 (expected 2xx): {\"status\": 404}"},
      {"/status/302", nullptr, false, "answered 302 (expected 2xx)"},
      {"/status/404", 404, true, ""},
      {"/status/404", "404", true, ""},
      {"/status/418", "4xx", true, ""},
      {"/status/500", json({200, "3xx"}), false, "answered 500 (expected 200, 3xx)"},
      {"/status/201", json({200, 204}), false, "answered 201 (expected 200, 204)"},
  };
  for (const Case& c : cases) {
    json params = {{"path", c.path}};
    if (!c.expect.is_null()) params["expect_status"] = c.expect;
    const Outcome out = Run(params);
    SCOPED_TRACE(c.path + " expect " + c.expect.dump());
    if (c.ok) {
      EXPECT_TRUE(out.status.ok()) << out.status.ToString();
      continue;
    }
    EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
    EXPECT_NE(out.status.message().find("GET " + server_->base_url() + c.path + " " +
                                        c.expected_text),
              std::string::npos)
        << out.status.message();
    EXPECT_EQ(out.outputs["status"], std::stoi(c.path.substr(8))) << "the answer is journaled";
  }
}

TEST_F(HttpAdapterTest, HealthCheckAnswering500FailsWithStatusAndBody) {
  ASSERT_TRUE(server_->SetHealth({}, 500).ok());
  const Outcome out = Run({{"path", "/healthz"}});
  EXPECT_EQ(out.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(out.status.message(),
            "GET " + server_->base_url() +
                "/healthz answered 500 (expected 2xx): {\"status\": \"unhealthy\", \"checks\": "
                "\"failing\", \"poll\": 1}");
  EXPECT_EQ(out.outputs["json"]["status"], "unhealthy");
}

TEST_F(HttpAdapterTest, WaitUntilSucceedsAfter503s) {
  ASSERT_TRUE(server_->SetHealth({503, 503, 200, 200}, 200).ok());
  // The third answer is a 200, but only the fourth has the poll number the JSON condition
  // asks for: every condition must hold at once.
  const Outcome out = Run({{"path", "/healthz"},
                           {"wait_until",
                            {{"status", 200},
                             {"body_contains", R"("ok")"},
                             {"json", {{"path", "/poll"}, {"equals", "4"}}},
                             {"interval", "10ms"}}}},
                          HttpTarget(), milliseconds(60'000));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["polls"], 4);
  EXPECT_EQ(out.outputs["status"], 200);
  EXPECT_EQ(out.outputs["json"]["status"], "healthy");
  EXPECT_EQ(Recorded().size(), 4u);
  ASSERT_GE(progress_.size(), 4u);
  EXPECT_NE(progress_[0].find("waiting for status 200, body containing '\"ok\"', /poll equal to \"4\""),
            std::string::npos)
      << progress_[0];
  EXPECT_NE(progress_[1].find("poll 1: 503"), std::string::npos) << progress_[1];
  EXPECT_NE(progress_[2].find("poll 2: 503"), std::string::npos) << progress_[2];
  EXPECT_NE(progress_[3].find("poll 3: 200"), std::string::npos) << progress_[3];
}

TEST_F(HttpAdapterTest, WaitUntilDefaultsToExpectStatus) {
  ASSERT_TRUE(server_->SetHealth({503}, 200).ok());
  const Outcome out = Run({{"path", "/healthz"},
                           {"expect_status", 200},
                           {"wait_until", {{"interval", "10ms"}}}},
                          HttpTarget(), milliseconds(60'000));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["polls"], 2);
}

TEST_F(HttpAdapterTest, WaitUntilTimesOutNamingTheLastAnswer) {
  ASSERT_TRUE(server_->SetHealth({}, 503).ok());
  const Outcome out = Run({{"path", "/healthz"}, {"wait_until", {{"interval", "50ms"}}}},
                          HttpTarget(), milliseconds(400));
  ASSERT_EQ(out.status.code(), Code::kTimeout) << out.status.ToString();
  const std::string& message = out.status.message();
  EXPECT_NE(message.find("GET " + server_->base_url() + "/healthz: status 2xx did not hold within 400ms"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("; last answer 503: {\"status\": \"unhealthy\""), std::string::npos)
      << message;
  EXPECT_GE(out.outputs["polls"].get<int>(), 1);
  EXPECT_EQ(out.outputs["status"], 503);
  EXPECT_EQ(out.outputs["json"]["status"], "unhealthy");
}

TEST_F(HttpAdapterTest, UnreachableEndpointIsUnavailableWithOneMessage) {
  const std::string url = StoppedServerUrl();
  const Outcome out = Run({{"path", "/healthz"}}, HttpTarget({{"base_url", url}}));
  ASSERT_EQ(out.status.code(), Code::kUnavailable) << out.status.ToString();
  EXPECT_TRUE(out.status.message().starts_with("GET " + url + "/healthz: "))
      << out.status.message();
  EXPECT_EQ(out.status.message().find('\n'), std::string::npos);
  EXPECT_FALSE(out.outputs.contains("status"));

  // While waiting, an unreachable service is one more reason to poll again.
  const Outcome waited = Run({{"path", "/healthz"}, {"wait_until", {{"interval", "50ms"}}}},
                             HttpTarget({{"base_url", url}}), milliseconds(300));
  ASSERT_EQ(waited.status.code(), Code::kTimeout) << waited.status.ToString();
  EXPECT_NE(waited.status.message().find("; last error: GET " + url + "/healthz: "),
            std::string::npos)
      << waited.status.message();
}

TEST_F(HttpAdapterTest, HangingEndpointStopsAtTheStepTimeout) {
  const Outcome out = Run({{"path", "/hang/step"}}, HttpTarget(), milliseconds(300));
  EXPECT_EQ(out.status.code(), Code::kTimeout) << out.status.ToString();
  EXPECT_NE(out.status.message().find("/hang/step"), std::string::npos);
}

TEST_F(HttpAdapterTest, HangingEndpointStopsAtTheRequestTimeout) {
  const Outcome from_action = Run({{"path", "/hang/a"}, {"request_timeout", "200ms"}});
  EXPECT_EQ(from_action.status.code(), Code::kTimeout) << from_action.status.ToString();
  EXPECT_NE(from_action.status.message().find("within 200ms"), std::string::npos);
  const Outcome from_target = Run({{"path", "/hang/t"}}, HttpTarget({{"request_timeout", "250ms"}}));
  EXPECT_EQ(from_target.status.code(), Code::kTimeout) << from_target.status.ToString();
  EXPECT_NE(from_target.status.message().find("within 250ms"), std::string::npos);
}

TEST_F(HttpAdapterTest, CancelStopsAHangingRequestAndAWait) {
  for (const json& params :
       {json{{"path", "/hang/cancel"}},
        json{{"path", "/healthz"}, {"wait_until", {{"interval", "1h"}}}}}) {
    ASSERT_TRUE(server_->Reset().ok());
    ASSERT_TRUE(server_->SetHealth({}, 503).ok());
    std::atomic<bool> cancel{false};
    Invocation invocation = MakeInvocation(params, HttpTarget());
    invocation.cancel = &cancel;
    const Outcome out = CancelOnceRecorded(cancel, [&] { return adapter_->Run(invocation); });
    EXPECT_EQ(out.status.code(), Code::kCancelled) << params.dump() << out.status.ToString();
  }
}

TEST_F(HttpAdapterTest, SecretHeaderValuesNeverReachOutputsMessagesOrProgress) {
  const json target = HttpTarget({{"headers",
                               {{"Authorization", "Bearer tok-AAAA1111"},
                                {"X-Custom-Secret", "cust-BBBB2222"},
                                {"X-Visible", "visible-value"}}},
                              {"secret_headers", {"x-custom-secret"}}});
  const json own_headers = {{"X-Api-Key", "key-CCCC3333"}, {"Cookie", "session=ck-DDDD4444"}};
  const std::vector<std::string> secrets = {"tok-AAAA1111", "cust-BBBB2222", "key-CCCC3333",
                                            "ck-DDDD4444"};
  // /echo answers with the request's headers: a server that echoes them must not leak them.
  const Outcome ok = Run({{"path", "/echo/ok"}, {"headers", own_headers}}, target);
  const Outcome failed =
      Run({{"path", "/echo/failed"}, {"headers", own_headers}, {"expect_status", 201}}, target);
  const Outcome waited = Run({{"path", "/echo/wait"},
                              {"headers", own_headers},
                              {"wait_until", {{"body_contains", "never"}, {"interval", "20ms"}}}},
                             target, milliseconds(300));
  ASSERT_TRUE(ok.status.ok()) << ok.status.ToString();
  ASSERT_EQ(failed.status.code(), Code::kExpectationFailed);
  ASSERT_EQ(waited.status.code(), Code::kTimeout);
  EXPECT_EQ(ok.outputs["json"]["headers"]["x-visible"], "visible-value") << "only secrets go";
  EXPECT_EQ(ok.outputs["json"]["headers"]["authorization"], "***");
  std::string everything;
  for (const Outcome* out : {&ok, &failed, &waited}) {
    everything += out->outputs.dump() + "\n" + out->status.message() + "\n";
  }
  for (const std::string& line : progress_) everything += line + "\n";
  for (const std::string& secret : secrets) {
    EXPECT_EQ(everything.find(secret), std::string::npos) << secret << " in:\n" << everything;
  }
  // They were sent, though.
  const json sent = Recorded().at(0)["headers"];
  EXPECT_EQ(sent["authorization"], "Bearer tok-AAAA1111");
  EXPECT_EQ(sent["x-custom-secret"], "cust-BBBB2222");
  EXPECT_EQ(sent["x-api-key"], "key-CCCC3333");
}

TEST_F(HttpAdapterTest, LargeBodyIsCutInTheOutputs) {
  const Outcome out = Run({{"path", "/bytes/5000"}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["body"], std::string(2048, 'x') + "...");
  EXPECT_EQ(out.outputs["body_bytes"], 5000);
  EXPECT_FALSE(out.outputs.contains("json"));
}

TEST_F(HttpAdapterTest, TlsIsVerifiedByDefault) {
  // https:// to a plain HTTP server fails; it never passes as if nothing were wrong.
  const Outcome plain = Run({{"path", "/healthz"}},
                            HttpTarget({{"base_url", "https://127.0.0.1:" + std::to_string(server_->port())}}));
  EXPECT_EQ(plain.status.code(), Code::kUnavailable) << plain.status.ToString();

  ASSERT_TRUE(testing::MakeSelfSignedCertificate(dir_.path()).ok());
  Result<std::unique_ptr<HttpServer>> tls =
      HttpServer::Start({dir_.path() / "cert.pem", dir_.path() / "key.pem"});
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();
  const json target = {{"type", "http"}, {"base_url", (*tls)->base_url()}};
  const Outcome untrusted = Run({{"path", "/healthz"}}, target);
  EXPECT_EQ(untrusted.status.code(), Code::kUnavailable) << untrusted.status.ToString();
  json trusting = target;
  trusting["ca_file"] = "cert.pem";  // relative to the plan's directory
  const Outcome trusted = Run({{"path", "/healthz"}}, trusting);
  EXPECT_TRUE(trusted.status.ok()) << trusted.status.ToString();
  json unverified = target;
  unverified["verify_tls"] = "false";  // as a `${VAR}` expands
  const Outcome insecure = Run({{"path", "/healthz"}}, unverified);
  EXPECT_TRUE(insecure.status.ok()) << insecure.status.ToString();
}

TEST_F(HttpAdapterTest, RunRefusesParametersThatAreWrongOnceExpanded) {
  const Outcome out = Run({{"path", "/healthz"}, {"expect_status", "${CODE}"}});
  EXPECT_EQ(out.status.code(), Code::kInvalidArgument);
  EXPECT_EQ(out.status.message(), "invalid http action: /expect_status: expected an integer");
  EXPECT_TRUE(Recorded().empty());
}

// ValidateCase::target is merged into {type: http, base_url: http://127.0.0.1:1}; a null
// value removes that key.
class HttpValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(HttpValidateTest, NamesThePointer) {
  const ValidateCase& c = GetParam();
  json target = {{"type", "http"}, {"base_url", "http://127.0.0.1:1"}};
  for (const auto& [key, value] : c.target.items()) {
    if (value.is_null()) {
      target.erase(key);
    } else {
      target[key] = value;
    }
  }
  json params = c.params;
  params["target"] = "app";
  const std::vector<ParamError> errors = MakeHttpAdapter()->Validate("http", target, params);
  http::ExpectCaseErrors(errors, c);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HttpValidateTest,
    ::testing::Values(
        ValidateCase{"everything", {{"method", "DELETE"}, {"path", "/a"}, {"headers", {{"X-A", "b"}}},
                      {"body", {{"on", true}}},
                      {"request_timeout", "5s"}, {"timeout", "1m"},
                      {"wait_until", {{"status", 200}, {"body_contains", "ok"},
                                      {"json", {{"path", "/status"}, {"equals", "healthy"}}},
                                      {"interval", "2s"}}}},
                     {{"headers", {{"Authorization", "Bearer x"}}}, {"verify_tls", true},
                      {"ca_file", "certs/ca.pem"}, {"secret_headers", {"Authorization"}},
                      {"request_timeout", "10s"}},
                     "", false, ""},
        ValidateCase{"references", {{"path", "${P}"}, {"expect_status", "${CODE}"},
                      {"headers", "${HEADERS}"}, {"request_timeout", "${T}"}},
                     {{"base_url", "${APP_URL}"}, {"verify_tls", "${TLS}"}}, "", false, ""},
        ValidateCase{"expect_status", {{"expect_status", {200, "2xx", "204"}}}, {}, "", false, ""},
        ValidateCase{"unknown_key", {{"verb", "GET"}}, {}, "/verb", false, "unknown key 'verb'"},
        ValidateCase{"method", {{"method", "FETCH"}}, {}, "/method", false, "expected one of: GET"},
        ValidateCase{"relative_path", {{"path", "healthz"}}, {}, "/path", false, "starting with '/'"},
        ValidateCase{"path_and_url", {{"path", "/a"}, {"url", "http://h/"}}, {}, "", false,
                     "either 'path'"},
        ValidateCase{"bad_url", {{"url", "ftp://h/"}}, {}, "/url", false, "http:// or https://"},
        ValidateCase{"path_without_base", {{"path", "/a"}}, {{"base_url", nullptr}}, "/path", false,
                     "no base_url"},
        ValidateCase{"nothing_without_base", json::object(), {{"base_url", nullptr}}, "", false,
                     "expected 'path' or 'url'"},
        ValidateCase{"header_name", {{"headers", {{"Bad Name", "v"}}}}, {}, "/headers/Bad Name",
                     false, "header name"},
        ValidateCase{"header_number", {{"headers", {{"X-N", 1}}}}, {}, "/headers/X-N", false,
                     "quote the number"},
        ValidateCase{"body_number", {{"body", 5}}, {}, "/body", false, "expected a string"},
        ValidateCase{"status_range", {{"expect_status", {200, 700}}}, {}, "/expect_status/1",
                     false, "from 100 to 599"},
        ValidateCase{"status_empty", {{"expect_status", json::array()}}, {}, "/expect_status",
                     false, "a list of them"},
        ValidateCase{"interval", {{"wait_until", {{"interval", "soon"}}}}, {},
                     "/wait_until/interval", false, "duration"},
        ValidateCase{"json_pointer", {{"wait_until", {{"json", {{"path", "status"}, {"equals", 1}}}}}},
                     {}, "/wait_until/json/path", false, "JSON pointer"},
        ValidateCase{"json_malformed_pointer",
                     {{"wait_until", {{"json", {{"path", "/a~2"}, {"equals", 1}}}}}}, {},
                     "/wait_until/json/path", false, "not a valid JSON pointer"},
        ValidateCase{"json_without_equals", {{"wait_until", {{"json", {{"path", "/a"}}}}}}, {},
                     "/wait_until/json", false, "'equals'"},
        ValidateCase{"wait_unknown", {{"wait_until", {{"until", 1}}}}, {}, "/wait_until/until",
                     false, "unknown key"},
        ValidateCase{"status_twice", {{"expect_status", 200}, {"wait_until", {{"status", 200}}}},
                     {}, "/wait_until/status", false, "not in both"},
        ValidateCase{"request_timeout_zero", {{"request_timeout", "0s"}}, {}, "/request_timeout",
                     false, "greater than zero"},
        ValidateCase{"target_verify_tls", json::object(), {{"verify_tls", "maybe"}}, "/verify_tls",
                     true, "true or false"},
        ValidateCase{"target_base_url", json::object(), {{"base_url", "localhost:80"}}, "/base_url",
                     true, "http:// or https://"},
        ValidateCase{"target_secret_headers", json::object(), {{"secret_headers", "Authorization"}},
                     "/secret_headers", true, "list of header names"},
        ValidateCase{"target_header_line_break", json::object(), {{"headers", {{"X", "a\nb"}}}},
                     "/headers/X", true, "line break"},
        ValidateCase{"target_unknown_key", json::object(), {{"proxy", "http://p"}}, "/proxy", true,
                     "unknown key 'proxy'"}),
    http::CaseName);

TEST(HttpValidate, OnlyTheHttpAction) {
  const std::vector<ParamError> errors =
      MakeHttpAdapter()->Validate("sql", {{"type", "http"}}, {{"target", "app"}});
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "");
  EXPECT_NE(errors[0].message.find("only the 'http' action"), std::string::npos);
}

}  // namespace
}  // namespace backout::adapters
