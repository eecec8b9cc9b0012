// Given/when/then tests of decide(): given a plan and journaled events, when the engine asks,
// then this is the next command.
#include "statemachine/decide.h"

#include <gtest/gtest.h>

#include "statemachine/test_support.h"

namespace backout::sm {
namespace {

using Via = ApprovalGranted::Via;
using FileNote = RunResumed::PlanFileNote;

using testing::MakePlan;
using testing::Number;
using testing::Started;
using testing::StepSpec;
using Finding = StepChecked::Finding;
using Ending = RunFinished::Ending;
using std::chrono::milliseconds;

const plan::Plan& kPlan = testing::FiveStepPlan();
const RunStarted kStart = testing::FiveStepStart();

using testing::Ok;

std::vector<EventBody> Concat(std::initializer_list<std::vector<EventBody>> parts) {
  std::vector<EventBody> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

struct Case {
  std::string name;
  plan::Plan plan;
  std::vector<EventBody> given;
  Command then;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"nothing before the start", kPlan, {}, Idle{"the run has not started"}},
      {"first step first", kPlan, {kStart}, StartStep{"a", 1, {}}},
      {"next step after success", kPlan, Concat({{kStart}, Ok("a")}), StartStep{"b", 1, {}}},
      {"approval gate", kPlan, Concat({{kStart}, Ok("a"), Ok("b"), Ok("c")}),
       AwaitApproval{"gate"}},
      {"gate still awaiting", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"), {ApprovalRequested{"gate", "?"}}}),
       AwaitApproval{"gate"}},
      {"after approval", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"), {ApprovalGranted{"gate", "GO", Via::kPrompt}}}),
       StartStep{"z", 1, {}}},
      {"all done", kPlan, Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
                                  {ApprovalGranted{"gate", "GO", Via::kPrompt}}, Ok("z")}),
       FinishRun{Ending::kSucceeded}},
      {"finished run is idle", kPlan,
       Concat({{kStart}, {RunFinished{Ending::kSucceeded}}}), Idle{"the run has succeeded"}},
      {"paused run is idle", kPlan,
       Concat({{kStart}, {RunPaused{RunPaused::Reason::kSignal, ""}}}),
       Idle{"the run is paused"}},
      // In doubt, by step kind.
      {"in doubt, no check: ask an operator", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, RunResumed{}, StepInDoubt{"a", 1}}}),
       AwaitResolve{"a"}},
      {"in doubt with check: run it", kPlan,
       Concat({{kStart}, Ok("a"), {StepStarted{"b", 1}, RunResumed{}, StepInDoubt{"b", 1}}}),
       RunCheck{"b"}},
      {"check absent: run again", kPlan,
       Concat({{kStart}, Ok("a"),
               {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1},
                StepChecked{"b", Finding::kAbsent, ""}}}),
       StartStep{"b", 2, {}}},
      {"check present: move on", kPlan,
       Concat({{kStart}, Ok("a"),
               {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1},
                StepChecked{"b", Finding::kPresent, ""}}}),
       StartStep{"c", 1, {}}},
      {"check inconclusive: ask an operator", kPlan,
       Concat({{kStart}, Ok("a"),
               {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1},
                StepChecked{"b", Finding::kUnknown, "db down"}}}),
       AwaitResolve{"b"}},
      {"in doubt idempotent: run again", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"),
               {StepStarted{"c", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"c", 1}}}),
       StartStep{"c", 2, {}}},
      {"resolved not applied: run again", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"a", 1},
                StepResolved{"a", false}}}),
       StartStep{"a", 2, {}}},
      {"resolved applied: move on", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"a", 1},
                StepResolved{"a", true}}}),
       StartStep{"b", 1, {}}},
      // Failure handling.
      {"failure with on_failure abort: skip the rest, keep always steps", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}}}),
       SkipStep{"b", "an earlier step failed"}},
      {"failing run still runs always steps", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}},
                StepSkipped{"b", ""}, StepSkipped{"c", ""}, StepSkipped{"gate", ""}}}),
       StartStep{"z", 1, {}}},
      {"failing run finishes failed", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}},
                StepSkipped{"b", ""}, StepSkipped{"c", ""}, StepSkipped{"gate", ""}},
               Ok("z")}),
       FinishRun{Ending::kFailed}},
      {"retry with doubling backoff",
       MakePlan({{.id = "a", .attempts = 3, .backoff_ms = 500}}),
       {Started({"a"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}, StepStarted{"a", 2},
        StepFailed{"a", 2, "x", {}}},
       StartStep{"a", 3, milliseconds(1000)}},
      {"first retry waits the base backoff",
       MakePlan({{.id = "a", .attempts = 3, .backoff_ms = 500}}),
       {Started({"a"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}},
       StartStep{"a", 2, milliseconds(500)}},
      {"retries exhausted", MakePlan({{.id = "a", .attempts = 2}, {.id = "b"}}),
       {Started({"a", "b"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}},
        StepStarted{"a", 2}, StepFailed{"a", 2, "x", {}}},
       SkipStep{"b", "an earlier step failed"}},
      {"on_failure continue",
       MakePlan({{.id = "a", .on_failure = plan::OnFailure::kContinue}, {.id = "b"}}),
       {Started({"a", "b"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}},
       StartStep{"b", 1, {}}},
      {"on_failure continue still succeeds",
       MakePlan({{.id = "a", .on_failure = plan::OnFailure::kContinue}}),
       {Started({"a"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}},
       FinishRun{Ending::kSucceeded}},
      {"on_failure pause", MakePlan({{.id = "a", .on_failure = plan::OnFailure::kPause}}),
       {Started({"a"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}},
       PauseRun{RunPaused::Reason::kStepFailed, "a"}},
      {"resume after a failure pause retries the step",
       MakePlan({{.id = "a", .on_failure = plan::OnFailure::kPause}}),
       {Started({"a"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}},
        RunPaused{RunPaused::Reason::kStepFailed, "a"}, RunResumed{FileNote::kUnchanged}},
       StartStep{"a", 2, {}}},
      // Abort.
      {"abort skips pending steps", kPlan,
       Concat({{kStart}, Ok("a"), {AbortRequested{"wrong call"}}}),
       SkipStep{"b", "the run was aborted"}},
      {"abort skips a gate awaiting approval", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
               {ApprovalRequested{"gate", "?"}, AbortRequested{"no"}}}),
       SkipStep{"gate", "the run was aborted"}},
      {"abort leaves a non-always in-doubt step alone and runs always steps", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"a", 1},
                AbortRequested{"no"}, StepSkipped{"b", ""}, StepSkipped{"c", ""},
                StepSkipped{"gate", ""}}}),
       StartStep{"z", 1, {}}},
      {"abort finishes aborted", kPlan,
       Concat({{kStart, AbortRequested{"no"}, StepSkipped{"a", ""}, StepSkipped{"b", ""},
                StepSkipped{"c", ""}, StepSkipped{"gate", ""}},
               Ok("z")}),
       FinishRun{Ending::kAborted}},
      {"an in-doubt always step is still recovered while aborting", kPlan,
       Concat({{kStart, AbortRequested{"no"}, StepSkipped{"a", ""}, StepSkipped{"b", ""},
                StepSkipped{"c", ""}, StepSkipped{"gate", ""}, StepStarted{"z", 1},
                RunResumed{FileNote::kUnchanged}, StepInDoubt{"z", 1}}}),
       AwaitResolve{"z"}},
      {"a crashed running step is not decided on", kPlan,
       Concat({{kStart, StepStarted{"a", 1}}}), Idle{"step 'a' is running"}},
  };
  return cases;
}

class DecideTest : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTest, GivenWhenThen) {
  const Case& c = GetParam();
  const Result<RunState> state = Fold(Number(c.given));  // given
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const Command got = Decide(*state, c.plan);  // when
  EXPECT_EQ(Describe(got), Describe(c.then));  // then (readable on failure)
  EXPECT_TRUE(got == c.then);
}

INSTANTIATE_TEST_SUITE_P(Table, DecideTest, ::testing::ValuesIn(Cases()), testing::CaseName<Case>);

TEST(Decide, IsDeterministic) {
  const auto events = Number(Concat({{kStart}, Ok("a")}));
  const RunState state = *Fold(events);
  EXPECT_TRUE(Decide(state, kPlan) == Decide(state, kPlan));
}

TEST(Decide, PlanMismatchIsIdle) {
  const RunState state = *Fold(Number({Started({"only"})}));
  EXPECT_TRUE(std::holds_alternative<Idle>(Decide(state, kPlan)));
}

// EndingSoFar: what an `always` notify says ({ending}) before the run has finished.
Ending EndingOf(const plan::Plan& plan, const std::vector<EventBody>& given) {
  return EndingSoFar(*Fold(Number(given)), plan);
}

TEST(EndingSoFar, SucceededWhileNothingFailedForGood) {
  EXPECT_EQ(EndingOf(kPlan, Concat({{kStart}, Ok("a")})), Ending::kSucceeded);
  // A failure with a retry left is not final yet.
  const plan::Plan retried = MakePlan({{.id = "a", .attempts = 2}});
  EXPECT_EQ(EndingOf(retried, {Started({"a"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}}),
            Ending::kSucceeded);
  // A failure the plan lets pass (on_failure: continue) does not fail the run.
  const plan::Plan tolerant =
      MakePlan({{.id = "a", .on_failure = plan::OnFailure::kContinue}, {.id = "b"}});
  EXPECT_EQ(
      EndingOf(tolerant, {Started({"a", "b"}), StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}}),
      Ending::kSucceeded);
}

TEST(EndingSoFar, FailedOnceAStepFailedForGoodWithOnFailureAbort) {
  EXPECT_EQ(EndingOf(kPlan, Concat({{kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}}}})),
            Ending::kFailed);
  EXPECT_EQ(EndingOf(kPlan, Concat({{kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}},
                                     RunFinished{Ending::kFailed}}})),
            Ending::kFailed);
}

TEST(EndingSoFar, AbortedOnceAnAbortIsRequestedEvenAfterAFailure) {
  EXPECT_EQ(EndingOf(kPlan, Concat({{kStart, AbortRequested{"stop"}}})), Ending::kAborted);
  EXPECT_EQ(EndingOf(kPlan, Concat({{kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "x", {}},
                                     AbortRequested{"stop"}}})),
            Ending::kAborted);
}

// Every abort's reason is kept, in order.
TEST(Fold, KeepsEveryAbortReason) {
  const RunState state = *Fold(Number(Concat(
      {{kStart, RunPaused{RunPaused::Reason::kSignal, ""}, AbortRequested{"first"},
        RunResumed{FileNote::kUnchanged}, RunPaused{RunPaused::Reason::kSignal, ""},
        AbortRequested{"second"}}})));
  EXPECT_EQ(state.abort_reasons, (std::vector<std::string>{"first", "second"}));
}

}  // namespace
}  // namespace backout::sm
