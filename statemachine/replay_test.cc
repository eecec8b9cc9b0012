// Tests of Replay(): recorded runs, written the way the engine journals them, replay green;
// the same runs with one decision changed diverge at exactly that event.
#include "statemachine/replay.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "statemachine/test_support.h"

namespace backout::sm {
namespace {

using Via = ApprovalGranted::Via;
using FileNote = RunResumed::PlanFileNote;

using testing::MakePlan;
using testing::Number;
using testing::Started;
using Finding = StepChecked::Finding;
using Ending = RunFinished::Ending;
using Reason = RunPaused::Reason;

const plan::Plan& kPlan = testing::FiveStepPlan();
const RunStarted kStart = testing::FiveStepStart();
const std::string kFailing = "an earlier step failed";
const std::string kAborted = "the run was aborted";

using testing::Ok;
std::vector<EventBody> Fails(const std::string& id, int attempt = 1) {
  return {StepStarted{id, attempt}, StepFailed{id, attempt, "boom", {}}};
}

std::vector<EventBody> Concat(std::initializer_list<std::vector<EventBody>> parts) {
  std::vector<EventBody> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<EventBody> WithLastReplaced(std::vector<EventBody> events, EventBody last) {
  events.back() = std::move(last);
  return events;
}

// Recorded runs, as the engine journals them.
const std::vector<EventBody> kStraightRun =
    Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"), {ApprovalGranted{"gate", "GO", Via::kApproveFlag}},
            Ok("z"), {RunFinished{Ending::kSucceeded}}});
const std::vector<EventBody> kApprovedByAnother =
    Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
            {ApprovalRequested{"gate", "?"}, RunPaused{Reason::kApproval, "gate"},
             ApprovalGranted{"gate", "GO", Via::kApproveCommand}, RunResumed{FileNote::kUnchanged}},
            Ok("z"), {RunFinished{Ending::kSucceeded}}});
const std::vector<EventBody> kFailedRunsAlways =
    Concat({{kStart}, Ok("a"), Fails("b"),
            {StepSkipped{"c", kFailing}, StepSkipped{"gate", kFailing}}, Ok("z"),
            {RunFinished{Ending::kFailed}}});

struct Case {
  std::string name;
  plan::Plan plan;
  std::vector<EventBody> recorded;
  int decisions;                  // decisions checked
  std::uint64_t diverges_at = 0;  // 0: replays green
  std::string derived = {};       // what Decide() says at the divergent event
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // Green: every decision is re-derived.
      {"straight run pre-approved", kPlan, kStraightRun, 6},
      {"paused at approval approved by another operator", kPlan, kApprovedByAnother, 6},
      {"approval typed at the prompt after the request", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
               {ApprovalRequested{"gate", "?"}, ApprovalGranted{"gate", "GO", Via::kPrompt}},
               Ok("z"), {RunFinished{Ending::kSucceeded}}}),
       6},
      {"resumed while awaiting approval pauses with RunPaused alone", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
               {ApprovalRequested{"gate", "?"}, RunPaused{Reason::kApproval, "gate"},
                RunResumed{FileNote::kUnchanged}, RunPaused{Reason::kApproval, "gate"}}}),
       5},
      {"crash then check absent then run again", kPlan,
       Concat({{kStart}, Ok("a"),
               {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1},
                StepChecked{"b", Finding::kAbsent, "Expectation failed"}},
               Ok("b", 2)}),
       4},
      {"crash then idempotent re-run", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"),
               {StepStarted{"c", 1}, RunResumed{}, StepInDoubt{"c", 1}}, Ok("c", 2)}),
       4},
      {"crash then pause for resolve then resolved", kPlan,
       Concat({{kStart, StepStarted{"a", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"a", 1},
                RunPaused{Reason::kInDoubt, "a"}, StepResolved{"a", false},
                RunResumed{FileNote::kUnchanged}},
               Ok("a", 2)}),
       3},
      {"failure skips the rest and runs always steps", kPlan, kFailedRunsAlways, 6},
      {"retries after a backoff", MakePlan({{.id = "a", .attempts = 3, .backoff_ms = 500}}),
       Concat({{Started({"a"})}, Fails("a"), Fails("a", 2), Ok("a", 3),
               {RunFinished{Ending::kSucceeded}}}),
       4},
      {"pause on failure then resume retries",
       MakePlan({{.id = "a", .on_failure = plan::OnFailure::kPause}}),
       Concat({{Started({"a"})}, Fails("a"),
               {RunPaused{Reason::kStepFailed, "a"}, RunResumed{FileNote::kUnchanged}}, Ok("a", 2),
               {RunFinished{Ending::kSucceeded}}}),
       4},
      {"abort at the gate", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
               {ApprovalRequested{"gate", "?"}, RunPaused{Reason::kApproval, "gate"},
                AbortRequested{"wrong call"}, RunResumed{FileNote::kUnchanged},
                StepSkipped{"gate", kAborted}},
               Ok("z"), {RunFinished{Ending::kAborted}}}),
       7},
      {"signals notes and triage are inputs", kPlan,
       Concat({{kStart, TriageRecorded{"data_corruption", "critical", "rollback_now", ""}},
               Ok("a"), {RunPaused{Reason::kSignal, ""}, NoteAdded{"n"}, RunResumed{}},
               Ok("b")}),
       2},

      // Divergent: one decision changed; replay names that event.
      {"a step started out of order", kPlan, Concat({{kStart}, Ok("b")}), 1, 2,
       "StartStep a attempt 1"},
      {"a skipped step that should have run", kPlan,
       Concat({{kStart}, Ok("a"), {StepSkipped{"b", kFailing}}}), 2, 4, "StartStep b attempt 1"},
      {"a finish with the wrong outcome", kPlan,
       WithLastReplaced(kFailedRunsAlways, RunFinished{Ending::kSucceeded}), 6, 10,
       "FinishRun failed"},
      {"a skip with the wrong reason", kPlan,
       Concat({{kStart}, Ok("a"), Fails("b"), {StepSkipped{"c", kAborted}}}), 3, 6,
       "SkipStep c (an earlier step failed)"},
      {"a retry the plan does not allow", kPlan, Concat({{kStart}, Fails("a"), Ok("a", 2)}), 2,
       4, "SkipStep b (an earlier step failed)"},
      {"a step run again that its check should have settled", kPlan,
       Concat({{kStart}, Ok("a"),
               {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1}},
               Ok("b", 2)}),
       3, 7, "RunCheck b"},
      {"a pause for resolve where the check should run", kPlan,
       Concat({{kStart}, Ok("a"),
               {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1},
                RunPaused{Reason::kInDoubt, "b"}}}),
       3, 7, "RunCheck b"},
      {"an approval granted before its turn", kPlan,
       Concat({{kStart}, Ok("a"), {ApprovalGranted{"gate", "GO", Via::kApproveFlag}}}), 2, 4,
       "StartStep b attempt 1"},
      {"a pause for another step than the one requested", kPlan,
       Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
               {ApprovalRequested{"gate", "?"}, RunPaused{Reason::kApproval, "z"}}}),
       5, 9, "AwaitApproval gate"},
  };
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class ReplayTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReplayTest, RederivesEveryDecision) {
  const Case& c = GetParam();
  const std::vector<Event> events = Number(c.recorded);
  const Result<ReplaySummary> outcome = Replay(events, c.plan);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->decisions_checked, c.decisions);
  if (c.diverges_at == 0) {
    EXPECT_FALSE(outcome->divergence.has_value())
        << "diverged at #" << outcome->divergence->seq << ": recorded "
        << outcome->divergence->recorded << ", derived " << outcome->divergence->derived;
    return;
  }
  ASSERT_TRUE(outcome->divergence.has_value());
  const Divergence& d = *outcome->divergence;
  EXPECT_EQ(d.seq, c.diverges_at);
  EXPECT_EQ(d.event_type, TypeName(events[c.diverges_at - 1].body));
  EXPECT_EQ(d.derived, c.derived);
  EXPECT_EQ(d.recorded, fmt::format("{} {}", d.event_type,
                                    EncodePayload(events[c.diverges_at - 1].body).dump()));
}

INSTANTIATE_TEST_SUITE_P(Table, ReplayTest, ::testing::ValuesIn(Cases()), testing::CaseName<Case>);

// Which events record a decision, and which command each one records.
struct MappingCase {
  std::string name;
  EventBody event;
  std::optional<EventBody> previous;
  std::optional<Command> decision;
};

const std::vector<MappingCase>& Mapping() {
  static const std::vector<MappingCase> cases = {
      {"StepStarted", StepStarted{"a", 2}, {}, StartStep{"a", 2, {}}},
      {"StepChecked", StepChecked{"b", Finding::kPresent, ""}, {}, RunCheck{"b"}},
      {"StepSkipped", StepSkipped{"c", kAborted}, {}, SkipStep{"c", kAborted}},
      {"ApprovalRequested", ApprovalRequested{"gate", "?"}, {}, AwaitApproval{"gate"}},
      {"ApprovalGranted via --approve", ApprovalGranted{"gate", "GO", Via::kApproveFlag}, {},
       AwaitApproval{"gate"}},
      {"ApprovalGranted via prompt", ApprovalGranted{"gate", "GO", Via::kPrompt}, {},
       AwaitApproval{"gate"}},
      {"ApprovalGranted via prompt after its request", ApprovalGranted{"gate", "GO", Via::kPrompt},
       ApprovalRequested{"gate", "?"}, std::nullopt},
      {"ApprovalGranted via approve", ApprovalGranted{"gate", "GO", Via::kApproveCommand}, {},
       std::nullopt},
      {"RunPaused approval", RunPaused{Reason::kApproval, "gate"}, {}, AwaitApproval{"gate"}},
      {"RunPaused approval after its request", RunPaused{Reason::kApproval, "gate"},
       ApprovalRequested{"gate", "?"}, std::nullopt},
      {"RunPaused approval after another request", RunPaused{Reason::kApproval, "gate"},
       ApprovalRequested{"other", "?"}, AwaitApproval{"gate"}},
      {"RunPaused in_doubt", RunPaused{Reason::kInDoubt, "a"}, {}, AwaitResolve{"a"}},
      {"RunPaused step_failed", RunPaused{Reason::kStepFailed, "a"}, {},
       PauseRun{Reason::kStepFailed, "a"}},
      {"RunPaused signal", RunPaused{Reason::kSignal, ""}, {}, std::nullopt},
      {"RunPaused locked", RunPaused{Reason::kLocked, "a"}, {}, std::nullopt},
      {"RunFinished", RunFinished{Ending::kAborted}, {}, FinishRun{Ending::kAborted}},
      {"RunStarted", kStart, {}, std::nullopt},
      {"StepSucceeded", StepSucceeded{"a", 1, {}}, {}, std::nullopt},
      {"StepFailed", StepFailed{"a", 1, "x", {}}, {}, std::nullopt},
      {"StepInDoubt", StepInDoubt{"a", 1}, {}, std::nullopt},
      {"StepResolved", StepResolved{"a", true}, {}, std::nullopt},
      {"RunResumed", RunResumed{FileNote::kUnchanged}, {}, std::nullopt},
      {"AbortRequested", AbortRequested{"no"}, {}, std::nullopt},
      {"NoteAdded", NoteAdded{"n"}, {}, std::nullopt},
      {"TriageRecorded", TriageRecorded{"perf", "minor", "monitor", ""}, {}, std::nullopt},
  };
  return cases;
}

void PrintTo(const MappingCase& c, std::ostream* os) { *os << c.name; }

class RecordedDecisionTest : public ::testing::TestWithParam<MappingCase> {};

TEST_P(RecordedDecisionTest, MapsTheEventToItsCommand) {
  const MappingCase& c = GetParam();
  const std::optional<Command> got =
      RecordedDecision(c.event, c.previous ? &*c.previous : nullptr);
  ASSERT_EQ(got.has_value(), c.decision.has_value())
      << (got ? Describe(*got) : std::string("no decision"));
  if (got) {
    EXPECT_EQ(Describe(*got), Describe(*c.decision));
  }
}

INSTANTIATE_TEST_SUITE_P(Table, RecordedDecisionTest, ::testing::ValuesIn(Mapping()),
                         testing::CaseName<MappingCase>);

TEST(Replay, AnIllegalEventIsAJournalError) {
  const std::vector<Event> events = Number({kStart, StepSucceeded{"a", 1, {}}});
  const Result<ReplaySummary> outcome = Replay(events, kPlan);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), Code::kCorruption);
  EXPECT_NE(outcome.status().message().find("event #2 StepSucceeded"), std::string::npos)
      << outcome.status().message();
}

TEST(Replay, TheRetryDelayIsNotCompared) {
  // The journal does not keep the backoff, so a recorded retry matches whatever delay
  // today's plan asks for.
  const plan::Plan slow = MakePlan({{.id = "a", .attempts = 2, .backoff_ms = 60'000}});
  const std::vector<Event> events =
      Number(Concat({{Started({"a"})}, Fails("a"), Ok("a", 2)}));
  const Result<ReplaySummary> outcome = Replay(events, slow);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_FALSE(outcome->divergence.has_value());
  EXPECT_EQ(outcome->decisions_checked, 2);
}

}  // namespace
}  // namespace backout::sm
