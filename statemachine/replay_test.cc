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

// ---------------------------------------------------------------------------------------
// Tampered histories: what `backout verify` catches beyond the chain and the transitions.
// Each is a recorded run with an event deleted or changed such that every event is still an
// allowed transition; the replay against the run's own plan names the event that gives it away.
// ---------------------------------------------------------------------------------------

struct TamperCase {
  std::string name;
  std::vector<EventBody> recorded;
  std::uint64_t caught_at;  // the seq replay names
  int decision;             // Divergence::decision (0: an input)
  std::string derived;
};

std::vector<EventBody> Without(std::vector<EventBody> events, std::size_t index) {
  events.erase(events.begin() + static_cast<std::ptrdiff_t>(index));
  return events;
}

const std::vector<TamperCase>& TamperCases() {
  // kApprovedByAnother: #8 ApprovalRequested, #9 RunPaused, #10 ApprovalGranted via approve,
  // #11 RunResumed, #12 StepStarted z.
  static const std::vector<TamperCase> cases = {
      {"deleted approval: the next step starts past a gate nobody passed",
       Without(kApprovedByAnother, 9), 11, 5, "AwaitApproval gate"},
      {"approval request and pause deleted: approve of a gate that never asked",
       Without(Without(kApprovedByAnother, 7), 7), 8, 0,
       "AwaitApproval gate; the step was not awaiting approval, which `backout approve` "
       "requires"},
      {"skipped step: its events deleted", Without(Without(kStraightRun, 3), 3), 4, 2,
       "StartStep b attempt 1"},
      {"resolution forged to not applied: the run went on as if it were applied",
       Concat({{kStart, StepStarted{"a", 1}, RunResumed{FileNote::kUnchanged},
                StepInDoubt{"a", 1}, RunPaused{Reason::kInDoubt, "a"}, StepResolved{"a", false},
                RunResumed{FileNote::kUnchanged}},
               Ok("b")}),
       8, 3, "StartStep a attempt 2"},
      {"resolution pause forged where the step's check decides",
       Concat({{kStart}, Ok("a"),
                 {StepStarted{"b", 1}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"b", 1},
                  RunPaused{Reason::kInDoubt, "b"}}}),
       7, 3, "RunCheck b"},
  };
  return cases;
}

void PrintTo(const TamperCase& c, std::ostream* os) { *os << c.name; }

class TamperedReplay : public ::testing::TestWithParam<TamperCase> {};

TEST_P(TamperedReplay, NamesTheEventThatGivesItAway) {
  // Given a tampered history whose every event is an allowed transition,
  const TamperCase& c = GetParam();
  const std::vector<Event> events = Number(c.recorded);
  ASSERT_TRUE(Fold(events).ok()) << "the transition tables alone would catch this case";
  // when it is replayed against its own plan,
  const Result<ReplaySummary> outcome = Replay(events, kPlan);
  // then the replay names the event, what it records and what the plan decides there.
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  ASSERT_TRUE(outcome->divergence.has_value());
  EXPECT_EQ(outcome->divergence->seq, c.caught_at);
  EXPECT_EQ(outcome->divergence->event_type, TypeName(events[c.caught_at - 1].body));
  EXPECT_EQ(outcome->divergence->decision, c.decision);
  EXPECT_EQ(outcome->divergence->derived, c.derived);
}

INSTANTIATE_TEST_SUITE_P(Table, TamperedReplay, ::testing::ValuesIn(TamperCases()),
                         testing::CaseName<TamperCase>);

TEST(Replay, AResolutionOfAStepNotInDoubtIsNotATransition) {
  // Given a StepResolved for a step that succeeded, the transition tables refuse it.
  const std::vector<Event> events =
      Number(Concat({{kStart}, Ok("a"), {StepResolved{"a", true}}}));
  const Result<ReplaySummary> outcome = Replay(events, kPlan);
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), Code::kCorruption);
  EXPECT_NE(outcome.status().message().find("event #4 StepResolved"), std::string::npos)
      << outcome.status().message();
}

// ---------------------------------------------------------------------------------------
// --all: the recorded events are folded on after a divergence, and every later decision is
// compared too.
// ---------------------------------------------------------------------------------------

TEST(ReplayAll, ListsEveryDivergenceInJournalOrder) {
  // Given a failed run whose skip reason and outcome were both changed,
  std::vector<EventBody> recorded = WithLastReplaced(kFailedRunsAlways, RunFinished{Ending::kSucceeded});
  recorded[5] = StepSkipped{"c", kAborted};
  const std::vector<Event> events = Number(recorded);
  // when replayed for every divergence,
  const Result<ReplaySummary> outcome = Replay(events, kPlan, {.scope = ReplayScope::kAll});
  // then both are listed, and every decision was compared.
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->decisions_checked, 6);
  ASSERT_TRUE(outcome->divergence.has_value());
  EXPECT_EQ(outcome->divergence->seq, 6u);
  EXPECT_EQ(outcome->divergence->decision, 3);
  EXPECT_EQ(outcome->divergence->derived, "SkipStep c (an earlier step failed)");
  ASSERT_EQ(outcome->later_divergences.size(), 1u);
  EXPECT_EQ(outcome->later_divergences[0].seq, 10u);
  EXPECT_EQ(outcome->later_divergences[0].decision, 6);
  EXPECT_EQ(outcome->later_divergences[0].derived, "FinishRun failed");

  // Without --all the replay stops at the first.
  const Result<ReplaySummary> first = Replay(events, kPlan);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->decisions_checked, 3);
  EXPECT_TRUE(first->later_divergences.empty());
}

// ---------------------------------------------------------------------------------------
// Replaying against another plan: the step changes, and the decisions it makes differently.
// ---------------------------------------------------------------------------------------

struct PlanEditCase {
  std::string name;
  std::vector<testing::StepSpec> plan;  // the edited plan (the run's is FiveStepPlan)
  std::vector<EventBody> recorded;
  std::vector<std::string> changes;      // "added y 5", "removed b 2", "renamed c c2 3"
  std::vector<std::pair<std::uint64_t, std::string>> divergences;  // seq, derived (--all)
};

const testing::StepSpec kA{.id = "a"};
const testing::StepSpec kB{.id = "b", .has_check = true};
const testing::StepSpec kC{.id = "c", .idempotent = true};
const testing::StepSpec kGate{.id = "gate", .kind = "approval"};
const testing::StepSpec kZ{.id = "z", .always = true};

const std::vector<EventBody> kCrashedInC =
    Concat({{kStart}, Ok("a"), Ok("b"), {StepStarted{"c", 1}, RunResumed{}, StepInDoubt{"c", 1}},
            Ok("c", 2)});

const std::vector<PlanEditCase>& PlanEdits() {
  static const std::vector<PlanEditCase> cases = {
      {"the same plan decides the same", {kA, kB, kC, kGate, kZ}, kStraightRun, {}, {}},
      {"a renamed step with the same action is the same step",
       {kA, kB, {.id = "c2", .idempotent = true}, kGate, kZ}, kStraightRun, {"renamed c c2 3"},
       {}},
      {"a removed step: its start diverges, the rest follows",
       {kA, kC, kGate, kZ}, kStraightRun, {"removed b 2"}, {{4, "StartStep c attempt 1"}}},
      {"an added step: every later decision names it",
       {kA, kB, kC, kGate, {.id = "y"}, kZ}, kStraightRun, {"added y 5"},
       {{9, "StartStep y attempt 1"}, {11, "StartStep y attempt 1"}}},
      {"a step no longer idempotent: the crashed step waits for an operator",
       {kA, kB, {.id = "c"}, kGate, kZ}, kCrashedInC, {}, {{9, "AwaitResolve c"}}},
      // The recorded path left b failed with a retry to spare: every later decision differs.
      {"a retry allowed now: the failed run would have tried again",
       {kA, {.id = "b", .has_check = true, .attempts = 2}, kC, kGate, kZ}, kFailedRunsAlways,
       {},
       {{6, "StartStep b attempt 2"}, {7, "StartStep b attempt 2"},
        {8, "StartStep b attempt 2"}, {10, "StartStep b attempt 2"}}},
  };
  return cases;
}

std::string ChangeText(const StepChange& c) {
  return c.kind == StepChange::Kind::kRenamed
             ? fmt::format("renamed {} {} {}", c.id, c.new_id, c.position)
             : fmt::format("{} {} {}", ToString(c.kind), c.id, c.position);
}

void PrintTo(const PlanEditCase& c, std::ostream* os) { *os << c.name; }

class PlanEditReplay : public ::testing::TestWithParam<PlanEditCase> {};

TEST_P(PlanEditReplay, ReportsTheStepChangesAndEveryDecisionThatDiffers) {
  // Given a run recorded with the five-step plan and an edited plan,
  const PlanEditCase& c = GetParam();
  const plan::Plan edited = MakePlan(c.plan);
  // when the step changes are listed and the run is replayed against the edit,
  const std::vector<StepChange> changes = DiffSteps(kPlan, edited);
  const Result<ReplaySummary> outcome = Replay(
      Number(c.recorded), edited, {.scope = ReplayScope::kAll, .renamed = Renames(changes)});
  // then the changes and the divergences are the expected ones.
  std::vector<std::string> change_texts;
  for (const StepChange& change : changes) change_texts.push_back(ChangeText(change));
  EXPECT_EQ(change_texts, c.changes);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  std::vector<std::pair<std::uint64_t, std::string>> got;
  if (outcome->divergence) got.emplace_back(outcome->divergence->seq, outcome->divergence->derived);
  for (const Divergence& d : outcome->later_divergences) got.emplace_back(d.seq, d.derived);
  EXPECT_EQ(got, c.divergences);
}

INSTANTIATE_TEST_SUITE_P(Table, PlanEditReplay, ::testing::ValuesIn(PlanEdits()),
                         testing::CaseName<PlanEditCase>);

TEST(DiffSteps, ARenameNeedsTheSamePositionAndTheSameAction) {
  // Given an edit that swaps an sql step for a differently named approval at its position,
  const plan::Plan edited = MakePlan({kA, kB, {.id = "c2", .kind = "approval"}, kGate, kZ});
  // then it is a removal and an addition, not a rename.
  std::vector<std::string> texts;
  for (const StepChange& change : DiffSteps(kPlan, edited)) texts.push_back(ChangeText(change));
  EXPECT_EQ(texts, (std::vector<std::string>{"removed c 3", "added c2 3"}));
}

}  // namespace
}  // namespace backout::sm
