// The http and notify adapters inside the real `backout` binary: a plan that switches
// maintenance mode, waits for health, echoes its headers back, notifies on stdout and over a
// webhook, against the scripted server; nothing secret in the journal; one clear failure for
// a health check answering 500; placeholder errors at plan time with file:line:col.
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/example.h"
#include "tests/support/http_server.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kToken = "tok-9f8e7d6c5b4a";
constexpr const char* kHookKey = "hook-key-FFFF6666";

constexpr const char* kPlan = R"yaml(version: 1
name: http-e2e
incident: INC-7
targets:
  app:
    type: http
    base_url: "APP_URL"
    headers: { Authorization: "Bearer ${APP_TOKEN}", X-Hook-Key: hook-key-FFFF6666 }
    secret_headers: [X-Hook-Key]
steps:
  - id: maintenance-on
    http: { target: app, method: POST, path: /admin/maintenance, body: '{"on":true}', expect_status: [200, 204] }
  - id: healthy
    http:
      target: app
      path: /healthz
      wait_until: { status: 200, body_contains: '"ok"', json: { path: /status, equals: healthy }, interval: 10ms }
    timeout: 1m
  - id: echo
    http: { target: app, path: /echo/headers }
  - id: tell
    notify: { message: "Rollback {plan} for {incident}: {status} at step {step} by {operator}", to: stdout }
  - id: hook
    notify: { target: app, path: /hooks/incident, message: "{plan} done ({steps_done}/{steps_total})" }
  - id: maintenance-off
    http: { target: app, method: DELETE, path: /admin/maintenance }
    always: true
)yaml";

class HttpPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<HttpServer>> started = HttpServer::Start();
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    server_ = std::move(started).value();
    WriteFile(dir_.path() / "plan.yaml", Plan());
  }

  // The plan on this test's server. Its URL is written out, not a `${VAR}`: the engine
  // would rightly mask an expanded variable in every message, and the tests read them.
  std::string Plan() const {
    std::string plan = kPlan;
    plan.replace(plan.find("APP_URL"), 7, server_->base_url());
    return plan;
  }

  ProcessResult Backout(const std::vector<std::string>& args) const {
    ProcessSpec spec;
    spec.argv = {BackoutBinary().string()};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {{"BACKOUT_JOURNAL", (dir_.path() / "journal").string()},
                {"BACKOUT_OPERATOR", "tester"},
                {"APP_TOKEN", kToken}};
    spec.cwd = dir_.path();
    return RunProcess(spec);
  }

  TempDir dir_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpPlanTest, RunsEndToEndAndJournalsNoSecret) {
  ASSERT_TRUE(server_->SetHealth({503, 503}, 200).ok());
  const ProcessResult run = Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);

  // The notification is one line of its own on stdout.
  EXPECT_TRUE(Contains(run.out, "\nRollback http-e2e for INC-7: running at step tell by tester\n"))
      << Show(run);
  const Result<json> state = server_->State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->at("maintenance"), false);
  EXPECT_EQ(state->at("maintenance_changes"), 2);
  const Result<json> recorded = server_->Recorded();
  ASSERT_TRUE(recorded.ok());
  json hook;
  for (const json& request : *recorded) {
    if (request["path"] == "/hooks/incident") hook = request;
  }
  ASSERT_FALSE(hook.is_null()) << recorded->dump();
  EXPECT_EQ(json::parse(hook["body"].get<std::string>())["text"], "http-e2e done (4/6)");
  EXPECT_EQ(hook["headers"]["authorization"], std::string("Bearer ") + kToken) << "sent, though";

  const ProcessResult events = Backout({"events", run_id, "--json"});
  ASSERT_EQ(events.exit_code, 0) << Show(events);
  EXPECT_TRUE(Contains(events.out, R"("polls":3)")) << events.out;
  const ProcessResult exported = Backout({"export", run_id});
  ASSERT_EQ(exported.exit_code, 0) << Show(exported);
  for (const std::string& text : {run.out, run.err, events.out, exported.out}) {
    EXPECT_FALSE(Contains(text, kToken)) << text;
  }
  // The hook key is written in clear in the plan, so the journaled plan text has it; the
  // server echoed it back in a body, and no other event and no output line may.
  EXPECT_FALSE(Contains(run.out + run.err, kHookKey)) << Show(run);
  std::istringstream lines(events.out);
  for (std::string line; std::getline(lines, line);) {
    if (json::parse(line)["type"] == "RunStarted") continue;
    EXPECT_FALSE(Contains(line, kHookKey)) << line;
  }
  EXPECT_TRUE(Contains(events.out, R"("x-hook-key":"***")")) << events.out;
}

TEST_F(HttpPlanTest, HealthCheckAnswering500FailsTheRunWithOneClearMessage) {
  ASSERT_TRUE(server_->SetHealth({}, 500).ok());
  std::string plan = Plan();
  plan.replace(plan.find("      wait_until:"), plan.find("    timeout: 1m") - plan.find("      wait_until:"), "");
  WriteFile(dir_.path() / "plan.yaml", plan);
  const ProcessResult run = Backout({"run", "plan.yaml"});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  EXPECT_TRUE(Contains(run.out, "GET " + server_->base_url() +
                                    "/healthz answered 500 (expected 2xx): {\"status\": "
                                    "\"unhealthy\""))
      << Show(run);
  EXPECT_EQ(server_->State()->at("maintenance"), false) << "the always step ran";
}

TEST_F(HttpPlanTest, ValidateNamesAnUnknownPlaceholderWhereItIs) {
  std::string plan = Plan();
  plan.replace(plan.find("{operator}"), 10, "{operatr}");
  WriteFile(dir_.path() / "plan.yaml", plan);
  const ProcessResult check = Backout({"validate", "plan.yaml"});
  EXPECT_EQ(check.exit_code, 2) << Show(check);
  EXPECT_TRUE(Contains(check.out + check.err, "plan.yaml:22:24: error: unknown placeholder {operatr}")) << Show(check);
  EXPECT_TRUE(Contains(check.out + check.err, "unknown placeholder {operatr}")) << Show(check);
}

}  // namespace
}  // namespace backout::testing
