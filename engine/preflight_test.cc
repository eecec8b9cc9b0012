// engine::Preflight against a probe adapter: what each step's adapter is asked (expanded
// `${VAR}`, `${steps...}` left literal, the step's check too), how findings are deduplicated,
// scrubbed of expanded values, and what is journaled.
#include "engine/preflight.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/command/command_adapter.h"
#include "engine/plan_check.h"
#include "plan/parser.h"
#include "testing/fake_env.h"

namespace backout::engine {
namespace {

using adapters::PreflightFinding;

// Serves `command` targets; Preflight answers by the program (argv[0]) and records requests.
class ProbeAdapter final : public adapters::Adapter {
 public:
  const adapters::AdapterVocabulary& vocabulary() const override {
    return adapters::CommandVocabulary();
  }
  std::vector<adapters::ParamError> Validate(std::string_view, const nlohmann::json&,
                                             const nlohmann::json&) const override {
    return {};
  }
  adapters::Outcome Run(const adapters::Invocation&) override {
    ADD_FAILURE() << "preflight ran a step";
    return {Status::FailedPrecondition("no")};
  }
  std::vector<PreflightFinding> Preflight(const adapters::PreflightRequest& request) override {
    requests.push_back(request);
    const nlohmann::json& argv = request.params.at("argv");
    const std::string program = argv.at(0);
    if (program == "throws") throw std::runtime_error("a bug");
    if (program == "missing") {
      return {{"program missing", Status::NotFound("program missing is not found")}};
    }
    if (program == "echoes") return {{"argument " + argv.at(1).get<std::string>(), {}}};
    return {{"working directory " + request.target.value("cwd", "."), {}}};
  }
  std::vector<adapters::PreflightRequest> requests;
};

class PreflightTest : public ::testing::Test {
 protected:
  PreflightTest() {
    auto probe = std::make_unique<ProbeAdapter>();
    probe_ = probe.get();
    registry_.Add(std::move(probe));
    env_.SetVar("WORKDIR", "srv-app");
    env_.SetVar("TOKEN", "s3cr3t-token");
  }

  PreflightResult Check(const std::string& steps) {
    const std::string text =
        "version: 1\nname: p\ntargets:\n  ops: { type: command, cwd: \"${WORKDIR}\" }\n"
        "steps:\n" + steps;
    plan::ParseOutcome parsed = plan::ParsePlan(text, "plan.yaml", PlanVocabulary(registry_));
    EXPECT_TRUE(parsed.ok()) << parsed.diagnostics.front().ToString();
    return Preflight(*parsed.plan, PreflightOptions{.registry = &registry_,
                                                     .env = &env_,
                                                     .base_dir = "/plans",
                                                     .cancel = nullptr,
                                                     .secrets = {}});
  }

  adapters::Registry registry_;
  ProbeAdapter* probe_ = nullptr;
  testing::FakeEnv env_;
};

TEST_F(PreflightTest, AsksEveryActionAndCheckWithVariablesExpandedAndStepOutputsLiteral) {
  const PreflightResult result = Check(R"(
  - id: first
    command: { target: ops, argv: [ok, "${TOKEN}"] }
  - id: second
    command: { target: ops, argv: [ok, "${steps.first.outputs.output_tail}"] }
    check: { command: { target: ops, argv: [ok] } }
)");
  ASSERT_EQ(probe_->requests.size(), 3u);
  EXPECT_EQ(probe_->requests[0].action, "command");
  EXPECT_EQ(probe_->requests[0].target["cwd"], "srv-app");
  EXPECT_EQ(probe_->requests[0].params["argv"][1], "s3cr3t-token");
  EXPECT_EQ(probe_->requests[0].base_dir, "/plans");
  EXPECT_EQ(probe_->requests[1].params["argv"][1], "${steps.first.outputs.output_tail}");
  EXPECT_EQ(probe_->requests[2].params["argv"], nlohmann::json({"ok"}));  // the check
  // One finding for the three: same target, same check, same answer.
  ASSERT_EQ(result.items.size(), 1u);
  EXPECT_EQ(result.items[0].steps, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(result.items[0].target, "ops");
  EXPECT_TRUE(result.ok());
  // Like every value expanded from the environment, WORKDIR's is masked in what is shown.
  EXPECT_EQ(DescribeFinding(result.items[0]),
            "steps first, second (target ops): ok: working directory ***");
  const sm::PreflightRecord record = result.Record();
  EXPECT_EQ(record.mode, sm::PreflightRecord::Mode::kChecked);
  ASSERT_EQ(record.checks.size(), 1u);
  EXPECT_EQ(record.checks[0].steps, result.items[0].steps);
}

TEST_F(PreflightTest, FailedFindingsAreCountedDescribedAndNotJournaled) {
  const PreflightResult result = Check(R"(
  - id: first
    command: { target: ops, argv: [ok] }
  - id: restart
    command: { target: ops, argv: [missing] }
  - id: broken
    command: { target: ops, argv: [throws] }
)");
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.failed(), 2);
  ASSERT_EQ(result.items.size(), 3u);
  EXPECT_EQ(DescribeFinding(result.items[1]),
            "step restart (target ops): program missing is not found");
  EXPECT_EQ(result.items[2].status.code(), Code::kFailedPrecondition);
  EXPECT_NE(result.items[2].status.message().find("internal error: a bug"), std::string::npos);
  EXPECT_EQ(result.Record().checks.size(), 1u);  // only what passed
}

TEST_F(PreflightTest, ExpandedVariablesNeverReachAFinding) {
  const PreflightResult result = Check(R"(
  - id: first
    command: { target: ops, argv: [echoes, "token=${TOKEN}"] }
)");
  ASSERT_EQ(result.items.size(), 1u);
  EXPECT_EQ(result.items[0].check, "argument token=***");
}

TEST_F(PreflightTest, CancelledStopsWithAFailedFinding) {
  std::atomic<bool> cancel{true};
  plan::ParseOutcome parsed = plan::ParsePlan(
      "version: 1\nname: p\ntargets:\n  ops: { type: command }\nsteps:\n"
      "  - id: first\n    command: { target: ops, argv: [ok] }\n",
      "plan.yaml", PlanVocabulary(registry_));
  ASSERT_TRUE(parsed.ok());
  const PreflightResult result = Preflight(
      *parsed.plan, PreflightOptions{.registry = &registry_, .env = &env_, .cancel = &cancel});
  EXPECT_TRUE(probe_->requests.empty());
  ASSERT_EQ(result.items.size(), 1u);
  EXPECT_EQ(result.items[0].status.code(), Code::kCancelled);
}

}  // namespace
}  // namespace backout::engine
