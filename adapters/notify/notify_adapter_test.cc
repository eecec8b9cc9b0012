// Tests of the notify adapter: the message template, each destination (stdout, a file, a URL
// webhook, an http target's webhook against the real scripted server), and that a failed
// notification fails its step only when the step says `required: true`.
#include "adapters/notify/notify_adapter.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

// What the engine passes as Invocation::run_facts.
json Facts() {
  return {{"run_id", "20261121T100000Z-ab12"},
          {"plan", "media-rollback"},
          {"incident", "INC-2041"},
          {"step", "tell"},
          {"step_title", "Tell the channel"},
          {"status", "running"},
          {"operator", "alice"},
          {"elapsed", "3.2s"},
          {"steps_done", 2},
          {"steps_total", 5},
          {"failed_steps", json::array()},
          {"rehearsal", false}};
}

class NotifyAdapterTest : public testing::HttpServerTest {
 protected:
  Invocation MakeInvocation(json params, json target = {{"type", "notify"}}) {
    return testing::InvocationBuilder("notify")
        .Target(std::move(target))
        .Params(std::move(params))
        .StepId("tell")
        .BaseDir(dir_.path())
        .RunFacts(Facts())
        .Build();
  }
  Outcome Run(json params, json target = {{"type", "notify"}}) {
    Outcome outcome = adapter_->Run(MakeInvocation(std::move(params), std::move(target)));
    EXPECT_EQ(UndeclaredOutputs(adapter_->vocabulary(), "notify", outcome.outputs),
              std::vector<std::string>{});
    return outcome;
  }
  // Runs with stdout captured; returns what was printed.
  std::string RunToStdout(json params, Outcome* out) {
    ::testing::internal::CaptureStdout();
    *out = Run(std::move(params));
    return ::testing::internal::GetCapturedStdout();
  }

  testing::TempDir dir_;
  std::unique_ptr<Adapter> adapter_ = MakeNotifyAdapter();
};

TEST_F(NotifyAdapterTest, StdoutGetsTheRenderedMessageOnOneLine) {
  Outcome out;
  const std::string printed = RunToStdout(
      {{"message",
        "Rollback {plan} for {incident}: {status} at step {step} ({elapsed}) by {operator}\n"
        "second\r\n\nline"},
       {"to", "stdout"}},
      &out);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(printed,
            "Rollback media-rollback for INC-2041: running at step tell (3.2s) by alice second "
            "line\n");
  EXPECT_EQ(out.outputs["delivered"], true);
  EXPECT_EQ(out.outputs["to"], "stdout");
  EXPECT_EQ(out.outputs["message"],
            "Rollback media-rollback for INC-2041: running at step tell (3.2s) by alice\n"
            "second\r\n\nline");
  EXPECT_FALSE(out.outputs.contains("error"));
}

TEST_F(NotifyAdapterTest, StdoutIsTheDefaultAndEveryFactRenders) {
  Outcome out;
  const std::string printed = RunToStdout(
      {{"message",
        "{run_id}|{plan}|{incident}|{step}|{step_title}|{status}|{operator}|{elapsed}|"
        "{steps_done}/{steps_total}|{failed_steps}|{rehearsal}|{{plan}}|a}b|}}"}},
      &out);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(printed,
            "20261121T100000Z-ab12|media-rollback|INC-2041|tell|Tell the channel|running|alice|"
            "3.2s|2/5|none|false|{plan}|a}b|}\n");
  Invocation failed = MakeInvocation({{"message", "failed: {failed_steps}"}});
  failed.run_facts["failed_steps"] = {"drop-media", "verify"};
  ::testing::internal::CaptureStdout();
  ASSERT_TRUE(adapter_->Run(failed).status.ok());
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "failed: drop-media, verify\n");
}

TEST_F(NotifyAdapterTest, BracesFromExpandedValuesAreKeptAsWritten) {
  // At run time `${VAR}` values are already in the message: their braces are not
  // placeholders, and a name that is not a fact stays as it is.
  Outcome out;
  const std::string printed = RunToStdout({{"message", "deploy {x} {unknown} { {plan}"}}, &out);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(printed, "deploy {x} {unknown} { media-rollback\n");
}

TEST_F(NotifyAdapterTest, FileIsAppendedRelativeToThePlanDirectory) {
  const json params = {{"message", "{step}: {status}"}, {"to", {{"file", "notes/incident.log"}}}};
  const Outcome first = Run(params);
  const Outcome second = Run({{"message", "two\nlines"}, {"to", {{"file", "notes/incident.log"}}}});
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_EQ(testing::ReadFile(dir_.path() / "notes" / "incident.log"), "tell: running\ntwo lines\n");
  EXPECT_EQ(first.outputs["to"], "file notes/incident.log");
  EXPECT_EQ(first.outputs["delivered"], true);
}

TEST_F(NotifyAdapterTest, FileIsNeverAppendedThroughALink) {
  testing::WriteFile(dir_.path() / "victim", "victim\n");
  fs::create_directories(dir_.path() / "notes");
  fs::create_symlink(dir_.path() / "victim", dir_.path() / "notes" / "incident.log");
  const Outcome out =
      Run({{"message", "m"}, {"to", {{"file", "notes/incident.log"}}}, {"required", true}});
  EXPECT_EQ(out.status.code(), Code::kIOError) << out.status.ToString();
  EXPECT_EQ(testing::ReadFile(dir_.path() / "victim"), "victim\n");
}

TEST_F(NotifyAdapterTest, UnwritableFileFailsTheStepOnlyWhenRequired) {
  testing::WriteFile(dir_.path() / "blocker", "a file where a directory should be");
  const json params = {{"message", "m"}, {"to", {{"file", "blocker/incident.log"}}}};
  const Outcome optional = Run(params);
  ASSERT_TRUE(optional.status.ok()) << optional.status.ToString();
  EXPECT_EQ(optional.outputs["delivered"], false);
  EXPECT_NE(optional.outputs["error"].get<std::string>().find("blocker/incident.log"),
            std::string::npos);
  json required = params;
  required["required"] = true;
  const Outcome failed = Run(required);
  EXPECT_EQ(failed.status.code(), Code::kIOError);
  EXPECT_EQ(failed.outputs["delivered"], false);
  EXPECT_EQ(failed.outputs["error"], failed.status.message());
}

TEST_F(NotifyAdapterTest, UrlWebhookGetsSlackJsonAndItsPathIsNeverShown) {
  const std::string url = server_->base_url() + "/hooks/services/T000/B000/SECRETPATHKEY";
  const Outcome out = Run({{"message", "{plan}: {status}"}, {"to", {{"url", url}}}});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["delivered"], true);
  EXPECT_EQ(out.outputs["status"], 200);
  EXPECT_EQ(out.outputs["to"], "url " + server_->base_url() + "/...");
  EXPECT_EQ(out.outputs.dump().find("SECRETPATHKEY"), std::string::npos);
  const json sent = Recorded().at(0);
  EXPECT_EQ(sent["method"], "POST");
  EXPECT_EQ(sent["path"], "/hooks/services/T000/B000/SECRETPATHKEY");
  EXPECT_EQ(sent["headers"]["content-type"], "application/json");
  EXPECT_EQ(json::parse(sent["body"].get<std::string>()), json({{"text", "media-rollback: running"}}));
}

// In a rehearsal every message is marked, and a plain webhook URL (the real channel) is not
// posted to: the line goes to stdout instead.
TEST_F(NotifyAdapterTest, RehearsalMarksTheMessageAndPostsToNoWebhookUrl) {
  const std::string url = server_->base_url() + "/hooks/services/T000/B000/SECRETPATHKEY";
  Invocation inv = MakeInvocation({{"message", "{plan}: {status}"}, {"to", {{"url", url}}}});
  inv.run_facts["rehearsal"] = true;
  ::testing::internal::CaptureStdout();
  const Outcome out = adapter_->Run(inv);
  const std::string printed = ::testing::internal::GetCapturedStdout();
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(printed, "[REHEARSAL] media-rollback: running\n");
  EXPECT_EQ(out.outputs["message"], "[REHEARSAL] media-rollback: running");
  EXPECT_EQ(out.outputs["to"],
            "stdout (a rehearsal: not posted to url " + server_->base_url() + "/...)");
  EXPECT_EQ(out.outputs.dump().find("SECRETPATHKEY"), std::string::npos);
  EXPECT_EQ(Recorded(), json::array()) << "the real webhook must get nothing";

  inv = MakeInvocation({{"message", "{plan}"}, {"to", {{"file", "notes/incident.log"}}}});
  inv.run_facts["rehearsal"] = true;
  ASSERT_TRUE(adapter_->Run(inv).status.ok());
  EXPECT_EQ(testing::ReadFile(dir_.path() / "notes" / "incident.log"),
            "[REHEARSAL] media-rollback\n");
}

TEST_F(NotifyAdapterTest, FailingWebhookFailsTheStepOnlyWhenRequired) {
  ASSERT_TRUE(server_->SetHookStatus(500).ok());
  const std::string url = server_->base_url() + "/hooks/SECRETPATHKEY";
  const json params = {{"message", "m"}, {"to", {{"url", url}}}};
  const Outcome optional = Run(params);
  ASSERT_TRUE(optional.status.ok()) << optional.status.ToString();
  EXPECT_EQ(optional.outputs["delivered"], false);
  EXPECT_EQ(optional.outputs["status"], 500);
  EXPECT_EQ(optional.outputs["error"],
            "POST " + server_->base_url() + "/... answered 500 (expected 2xx): {\"received\": true}");
  json required = params;
  required["required"] = true;
  const Outcome failed = Run(required);
  EXPECT_EQ(failed.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(failed.status.message().find("SECRETPATHKEY"), std::string::npos);
  EXPECT_EQ(failed.outputs["delivered"], false);
}

TEST_F(NotifyAdapterTest, UnreachableWebhookFailsTheStepOnlyWhenRequired) {
  const std::string url = StoppedServerUrl() + "/hooks/x";
  const Outcome optional = Run({{"message", "m"}, {"to", {{"url", url}}}});
  ASSERT_TRUE(optional.status.ok()) << optional.status.ToString();
  EXPECT_EQ(optional.outputs["delivered"], false);
  const Outcome failed = Run({{"message", "m"}, {"to", {{"url", url}}}, {"required", "true"}});
  EXPECT_EQ(failed.status.code(), Code::kUnavailable) << failed.status.ToString();
}

TEST_F(NotifyAdapterTest, TargetWebhookUsesTheTargetsHeadersAndKeepsThemSecret) {
  const json target = HttpTarget({{"headers", {{"Authorization", "Bearer hook-EEEE5555"}}}});
  const Outcome out =
      Run({{"target", "app"}, {"path", "/hooks/incident"}, {"message", "{incident} done"}}, target);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.outputs["delivered"], true);
  EXPECT_EQ(out.outputs["to"], "target app (" + server_->base_url() + "/hooks/incident)");
  const json sent = Recorded().at(0);
  EXPECT_EQ(sent["path"], "/hooks/incident");
  EXPECT_EQ(sent["headers"]["authorization"], "Bearer hook-EEEE5555");
  EXPECT_EQ(json::parse(sent["body"].get<std::string>()), json({{"text", "INC-2041 done"}}));

  // An endpoint that echoes the request into its error answer does not leak the header.
  const Outcome failed = Run({{"target", "app"}, {"path", "/echo/x"}, {"message", "m"}},
                             HttpTarget({{"headers", {{"Authorization", "Bearer hook-EEEE5555"}}},
                                         {"base_url", server_->base_url()}}));
  ASSERT_TRUE(failed.status.ok());
  EXPECT_EQ(failed.outputs.dump().find("hook-EEEE5555"), std::string::npos);
}

TEST_F(NotifyAdapterTest, HangingWebhookStopsAtTheStepTimeoutOrOnCancel) {
  const json params = {{"target", "app"}, {"path", "/hang/hook"}, {"message", "m"}};
  Invocation timed = MakeInvocation(params, HttpTarget());
  timed.timeout = milliseconds(300);
  const Outcome timed_out = adapter_->Run(timed);
  ASSERT_TRUE(timed_out.status.ok()) << "not required: " << timed_out.status.ToString();
  EXPECT_EQ(timed_out.outputs["delivered"], false);
  EXPECT_NE(timed_out.outputs["error"].get<std::string>().find("no complete answer within"),
            std::string::npos);

  ASSERT_TRUE(server_->Reset().ok());
  std::atomic<bool> cancel{false};
  Invocation cancelled = MakeInvocation(params, HttpTarget());
  cancelled.cancel = &cancel;
  const Outcome out = CancelOnceRecorded(cancel, [&] { return adapter_->Run(cancelled); });
  EXPECT_EQ(out.status.code(), Code::kCancelled) << "even when not required";
}

// ValidateCase::target null: no target ({type: notify}).
class NotifyValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(NotifyValidateTest, NamesThePointer) {
  const ValidateCase& c = GetParam();
  const json target = c.target.is_null() ? json{{"type", "notify"}} : c.target;
  json params = c.params;
  if (!c.target.is_null()) params["target"] = "app";
  const std::vector<ParamError> errors = MakeNotifyAdapter()->Validate("notify", target, params);
  http::ExpectCaseErrors(errors, c);
}

const json kHttpTarget = {{"type", "http"}, {"base_url", "http://127.0.0.1:1"}};

INSTANTIATE_TEST_SUITE_P(
    Table, NotifyValidateTest,
    ::testing::Values(
        ValidateCase{"stdout", {{"message", "{plan} {status}"}, {"to", "stdout"}}, nullptr, "",
                     false, ""},
        ValidateCase{"file", {{"message", "m"}, {"to", {{"file", "notes/x.log"}}}, {"required", true}},
                     nullptr, "", false, ""},
        ValidateCase{"url_reference",
                     {{"message", "${GREETING} {plan} $${literal} {{x}}"},
                      {"to", {{"url", "${SLACK_WEBHOOK}"}}}, {"timeout", "10s"}},
                     nullptr, "", false, ""},
        ValidateCase{"target", {{"message", "m"}, {"path", "/hooks/incident"}}, kHttpTarget, "",
                     false, ""},
        ValidateCase{"unknown_placeholder", {{"message", "at {plans}"}}, nullptr, "/message",
                     false, "unknown placeholder {plans} (known: run_id, plan,"},
        ValidateCase{"lone_brace", {{"message", "a { b"}}, nullptr, "/message", false,
                     "'{' at byte 2 starts no placeholder"},
        ValidateCase{"no_message", json::object(), nullptr, "", false, "expected 'message'"},
        ValidateCase{"empty_message", {{"message", ""}}, nullptr, "/message", false, "empty"},
        ValidateCase{"message_number", {{"message", 5}}, nullptr, "/message", false,
                     "expected a string"},
        ValidateCase{"to_word", {{"message", "m"}, {"to", "slack"}}, nullptr, "/to", false,
                     "expected stdout, {file: PATH} or {url: URL}"},
        ValidateCase{"to_two", {{"message", "m"}, {"to", {{"file", "a"}, {"url", "http://h"}}}},
                     nullptr, "/to", false, "expected stdout"},
        ValidateCase{"to_unknown", {{"message", "m"}, {"to", {{"mail", "ops@x"}}}}, nullptr,
                     "/to/mail", false, "unknown key 'mail'"},
        ValidateCase{"to_empty_file", {{"message", "m"}, {"to", {{"file", ""}}}}, nullptr,
                     "/to/file", false, "empty"},
        ValidateCase{"to_bad_url", {{"message", "m"}, {"to", {{"url", "hooks.slack.com/x"}}}},
                     nullptr, "/to/url", false, "http:// or https://"},
        ValidateCase{"required", {{"message", "m"}, {"required", "maybe"}}, nullptr, "/required",
                     false, "true or false"},
        ValidateCase{"path_without_target", {{"message", "m"}, {"path", "/x"}}, nullptr, "/path",
                     false, "needs a target"},
        ValidateCase{"target_and_to", {{"message", "m"}, {"to", "stdout"}}, kHttpTarget, "/to",
                     false, "leave out 'to'"},
        ValidateCase{"target_without_base", {{"message", "m"}}, json{{"type", "http"}}, "", false,
                     "expected 'path' or 'url'"},
        ValidateCase{"target_config", {{"message", "m"}, {"path", "/x"}},
                     json{{"type", "http"}, {"base_url", "http://h"}, {"verify_tls", "no"}},
                     "/verify_tls", true, "true or false"},
        ValidateCase{"unknown_key", {{"message", "m"}, {"channel", "#ops"}}, nullptr, "/channel",
                     false, "unknown key 'channel'"}),
    http::CaseName);

}  // namespace
}  // namespace backout::adapters
