// Given/when/then tests of Simulate(): given a plan, when a scenario happens (a step fails,
// times out or is found in doubt, an approval is refused, an abort), then the run takes this
// path: steps started, skipped, `always` steps run, where it pauses, how it ends.
#include "statemachine/simulate.h"

#include <gtest/gtest.h>

#include "statemachine/test_support.h"

namespace backout::sm {
namespace {

using testing::MakePlan;
using Kind = AttemptResult::Kind;
using Finding = StepChecked::Finding;
using Reason = RunPaused::Reason;
using Ids = std::vector<std::string>;

// a: plain; b: with a check; c: idempotent; d: on_failure pause; e: on_failure continue;
// gate: approval; f: after the gate, two attempts; z: always.
const plan::Plan& GatePlan() {
  static const plan::Plan plan = MakePlan({
      {.id = "a"},
      {.id = "b", .has_check = true},
      {.id = "c", .idempotent = true},
      {.id = "d", .on_failure = plan::OnFailure::kPause},
      {.id = "e", .on_failure = plan::OnFailure::kContinue},
      {.id = "gate", .kind = "approval"},
      {.id = "f", .attempts = 2, .backoff_ms = 5000},
      {.id = "z", .always = true},
  });
  return plan;
}

AttemptResult Fails() { return {.kind = Kind::kFails}; }

struct Then {
  RunStatus status;
  Ids started;
  Ids skipped;
  Ids always_run;
  std::optional<RunPaused> pause;
  Ids failed = {};
};

struct Case {
  std::string name;
  Scenario when;
  Then then;
};

const Ids kAll = {"a", "b", "c", "d", "e", "f", "z"};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"everything succeeds", {}, {RunStatus::kSucceeded, kAll, {}, {"z"}, {}}},
      {"a step fails: the rest is skipped, the always step runs",
       StepFailsScenario("a"),
       {RunStatus::kFailed, {"a", "z"}, {"b", "c", "d", "e", "gate", "f"}, {"z"}, {}, {"a"}}},
      {"a timeout is a failure",
       {.attempts = {{"c", {AttemptResult{.kind = Kind::kTimesOut}}}}},
       {RunStatus::kFailed, {"a", "b", "c", "z"}, {"d", "e", "gate", "f"}, {"z"}, {}, {"c"}}},
      {"on_failure pause: the run pauses at the step",
       StepFailsScenario("d"),
       {RunStatus::kPaused, {"a", "b", "c", "d"}, {}, {}, RunPaused{Reason::kStepFailed, "d"},
        {"d"}}},
      {"on_failure pause, then abort: the always step runs",
       {.attempts = {{"d", {Fails()}}}, .on_pause = {AbortCommand{"give up"}}},
       {RunStatus::kAborted, {"a", "b", "c", "d", "z"}, {"e", "gate", "f"}, {"z"}, {}, {"d"}}},
      {"on_failure pause, then resume: the step runs again",
       {.attempts = {{"d", {Fails(), AttemptResult{}}}}, .on_pause = {ResumeCommand{}}},
       {RunStatus::kSucceeded, {"a", "b", "c", "d", "d", "e", "f", "z"}, {}, {"z"}, {}}},
      {"on_failure continue: the run goes on and succeeds",
       StepFailsScenario("e"),
       {RunStatus::kSucceeded, {"a", "b", "c", "d", "e", "f", "z"}, {}, {"z"}, {}, {"e"}}},
      {"retries: the second attempt succeeds",
       {.attempts = {{"f", {Fails(), AttemptResult{}}}}},
       {RunStatus::kSucceeded, {"a", "b", "c", "d", "e", "f", "f", "z"}, {}, {"z"}, {}}},
      {"retries exhausted: the run fails after the always step",
       StepFailsScenario("f"),
       {RunStatus::kFailed, {"a", "b", "c", "d", "e", "f", "f", "z"}, {}, {"z"}, {}, {"f"}}},
      {"the gate is not approved: the run pauses there",
       {.approvals = {{"gate", false}}},
       {RunStatus::kPaused, {"a", "b", "c", "d", "e"}, {}, {}, RunPaused{Reason::kApproval, "gate"}}},
      {"the gate is refused and the run aborted: past the gate only the always step",
       {.approvals = {{"gate", false}}, .on_pause = {AbortCommand{"no"}}},
       {RunStatus::kAborted, {"a", "b", "c", "d", "e", "z"}, {"gate", "f"}, {"z"}, {}}},
      {"the gate is approved while paused",
       {.approvals = {{"gate", false}}, .on_pause = {ApproveCommand{"gate", ""}}},
       {RunStatus::kSucceeded, kAll, {}, {"z"}, {}}},
      {"abort before a step: it and the rest are skipped, the always step runs",
       {.abort_before = "c"},
       {RunStatus::kAborted, {"a", "b", "z"}, {"c", "d", "e", "gate", "f"}, {"z"}, {}}},
      {"in doubt, no check: an operator must resolve",
       {.attempts = {{"a", {AttemptResult{.kind = Kind::kInDoubt}}}}},
       {RunStatus::kPaused, {"a"}, {}, {}, RunPaused{Reason::kInDoubt, "a"}}},
      {"in doubt, resolved as applied: the run goes on",
       {.attempts = {{"a", {AttemptResult{.kind = Kind::kInDoubt}}}},
        .on_pause = {ResolveCommand{"a", true}}},
       {RunStatus::kSucceeded, kAll, {}, {"z"}, {}}},
      {"in doubt with a check that finds it absent: it runs again",
       {.attempts = {{"b", {AttemptResult{.kind = Kind::kInDoubt}, AttemptResult{}}}},
        .checks = {{"b", Finding::kAbsent}}},
       {RunStatus::kSucceeded, {"a", "b", "b", "c", "d", "e", "f", "z"}, {}, {"z"}, {}}},
      {"in doubt with a check that finds it present: it is settled",
       {.attempts = {{"b", {AttemptResult{.kind = Kind::kInDoubt}}}}},
       {RunStatus::kSucceeded, kAll, {}, {"z"}, {}}},
      {"in doubt with an inconclusive check: an operator must resolve",
       {.attempts = {{"b", {AttemptResult{.kind = Kind::kInDoubt}}}},
        .checks = {{"b", Finding::kUnknown}}},
       {RunStatus::kPaused, {"a", "b"}, {}, {}, RunPaused{Reason::kInDoubt, "b"}}},
      {"in doubt and idempotent: it runs again",
       {.attempts = {{"c", {AttemptResult{.kind = Kind::kInDoubt}, AttemptResult{}}}}},
       {RunStatus::kSucceeded, {"a", "b", "c", "c", "d", "e", "f", "z"}, {}, {"z"}, {}}},
      {"the always step fails: the run fails",
       StepFailsScenario("z"),
       {RunStatus::kFailed, kAll, {}, {"z"}, {}, {"z"}}},
  };
  return cases;
}

class SimulateTest : public ::testing::TestWithParam<Case> {};

TEST_P(SimulateTest, Path) {
  const Case& c = GetParam();
  Result<SimulatedPath> path = Simulate(GatePlan(), c.when);
  ASSERT_TRUE(path.ok()) << path.status().message();
  std::string decisions;
  for (const std::string& d : path->decisions) decisions += d + "\n";
  SCOPED_TRACE(decisions);
  EXPECT_EQ(path->final_status, c.then.status);
  EXPECT_EQ(path->started, c.then.started);
  EXPECT_EQ(path->skipped, c.then.skipped);
  EXPECT_EQ(path->always_run, c.then.always_run);
  EXPECT_EQ(path->failed, c.then.failed);
  ASSERT_EQ(path->pause.has_value(), c.then.pause.has_value());
  if (c.then.pause) {
    EXPECT_EQ(path->pause->reason, c.then.pause->reason);
    EXPECT_EQ(path->pause->step, c.then.pause->step);
  }
  // The synthetic journal folds to the same state: the path is one a real run can journal.
  Result<RunState> folded = Fold(path->events);
  ASSERT_TRUE(folded.ok()) << folded.status().message();
  EXPECT_EQ(folded->status, path->final_status);
}

INSTANTIATE_TEST_SUITE_P(Scenarios, SimulateTest, ::testing::ValuesIn(Cases()),
                         testing::CaseName<Case>);

TEST(SimulateTest, TimeComesWithTheEventsAndIncludesTheBackoff) {
  Result<SimulatedPath> path = Simulate(GatePlan(), StepFailsScenario("f"));
  ASSERT_TRUE(path.ok()) << path.status().message();
  std::vector<std::int64_t> f_started;
  for (const Event& e : path->events) {
    if (const auto* s = std::get_if<StepStarted>(&e.body); s != nullptr && s->step == "f") {
      f_started.push_back(e.time_us);
    }
  }
  ASSERT_EQ(f_started.size(), 2U);
  EXPECT_GE(f_started[1] - f_started[0], 5'000'000);  // the 5s backoff before attempt 2
}

TEST(SimulateTest, AScenarioNamingAnUnknownStepIsRefused) {
  Result<SimulatedPath> path = Simulate(GatePlan(), StepFailsScenario("nope"));
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Code::kInvalidArgument);
  EXPECT_NE(path.status().message().find("'nope'"), std::string::npos);
}

TEST(SimulateTest, ARefusedOperatorCommandIsAnError) {
  // The run pauses at the gate; resolving a step that is not in doubt is refused.
  Scenario scenario{.approvals = {{"gate", false}}, .on_pause = {ResolveCommand{"a", true}}};
  Result<SimulatedPath> path = Simulate(GatePlan(), scenario);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(path.status().message().find("not in doubt"), std::string::npos);
}

}  // namespace
}  // namespace backout::sm
