// Given/when/then tests of the transition table: each case folds the `given` events, applies
// the `when` event and checks the resulting run and step states (or the rejection).
// A final test proves that every row of both tables is exercised by some case.
#include "statemachine/state.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "statemachine/test_support.h"

namespace backout::sm {
namespace {

using Via = ApprovalGranted::Via;
using FileNote = RunResumed::PlanFileNote;

using testing::Number;
using testing::Started;
using S = StepStatus;
using R = RunStatus;
using Finding = StepChecked::Finding;

const RunStarted kStart = Started({"a", "b"});

struct Case {
  std::string name;
  std::vector<EventBody> given;
  EventBody when;
  R run_after;
  S step_a_after;           // state of step "a" afterwards
  std::string reject = {};  // non-empty: the event must be rejected with this in the message
};

// Preludes that put step "a" in each state.
const std::vector<EventBody> kPending = {kStart};
const std::vector<EventBody> kRunning = {kStart, StepStarted{"a", 1}};
const std::vector<EventBody> kFailed = {kStart, StepStarted{"a", 1}, StepFailed{"a", 1, "boom", {}}};
const std::vector<EventBody> kInDoubt = {kStart, StepStarted{"a", 1}, RunResumed{},
                                         StepInDoubt{"a", 1}};
const std::vector<EventBody> kAwaiting = {kStart, ApprovalRequested{"a", "go?"}};
const std::vector<EventBody> kPausedApproval = {kStart, ApprovalRequested{"a", "go?"},
                                                RunPaused{RunPaused::Reason::kApproval, "a"}};
const std::vector<EventBody> kPausedInDoubt = {kStart, StepStarted{"a", 1}, RunResumed{},
                                               StepInDoubt{"a", 1},
                                               RunPaused{RunPaused::Reason::kInDoubt, "a"}};
const std::vector<EventBody> kPausedSignal = {kStart, RunPaused{RunPaused::Reason::kSignal, ""}};

std::vector<EventBody> Plus(std::vector<EventBody> v, EventBody e) {
  v.push_back(std::move(e));
  return v;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // Step transitions.
      {"start pending step", kPending, StepStarted{"a", 1}, R::kRunning, S::kRunning},
      {"retry a failed step", kFailed, StepStarted{"a", 2}, R::kRunning, S::kRunning},
      {"re-run an in-doubt step", kInDoubt, StepStarted{"a", 2}, R::kRunning, S::kRunning},
      {"success", kRunning, StepSucceeded{"a", 1, {{"rows", 3}}}, R::kRunning, S::kSucceeded},
      {"failure", kRunning, StepFailed{"a", 1, "x", {}}, R::kRunning, S::kFailed},
      {"skip pending", kPending, StepSkipped{"a", "failing"}, R::kRunning, S::kSkipped},
      {"skip awaiting approval", kAwaiting, StepSkipped{"a", "aborted"}, R::kRunning, S::kSkipped},
      {"in doubt after crash", Plus(kRunning, RunResumed{}), StepInDoubt{"a", 1},
       R::kRunning, S::kInDoubt},
      {"check finds effect", kInDoubt, StepChecked{"a", Finding::kPresent, ""}, R::kRunning,
       S::kSucceeded},
      {"check finds no effect", kInDoubt, StepChecked{"a", Finding::kAbsent, ""}, R::kRunning,
       S::kPending},
      {"check cannot tell", kInDoubt, StepChecked{"a", Finding::kUnknown, "db down"}, R::kRunning,
       S::kInDoubt},
      {"resolved applied", kInDoubt, StepResolved{"a", true}, R::kRunning, S::kSucceeded},
      {"resolved not applied", kInDoubt, StepResolved{"a", false}, R::kRunning, S::kPending},
      {"resolve while paused", kPausedInDoubt, StepResolved{"a", true}, R::kPaused,
       S::kSucceeded},
      {"approval requested", kPending, ApprovalRequested{"a", "go?"}, R::kRunning,
       S::kAwaitingApproval},
      {"approval requested again", kAwaiting, ApprovalRequested{"a", "go?"}, R::kRunning,
       S::kAwaitingApproval},
      {"approval granted", kAwaiting, ApprovalGranted{"a", "GO", Via::kPrompt}, R::kRunning,
       S::kSucceeded},
      {"pre-approved", kPending, ApprovalGranted{"a", "GO", Via::kApproveFlag}, R::kRunning,
       S::kSucceeded},
      {"approve while paused", kPausedApproval, ApprovalGranted{"a", "GO", Via::kApproveCommand},
       R::kPaused, S::kSucceeded},
      // Run transitions.
      {"run starts", {}, kStart, R::kRunning, S::kPending},
      {"pause", kPending, RunPaused{RunPaused::Reason::kSignal, ""}, R::kPaused, S::kPending},
      {"resume after pause", kPausedSignal, RunResumed{}, R::kRunning, S::kPending},
      {"resume after crash", kRunning, RunResumed{FileNote::kChanged}, R::kRunning, S::kRunning},
      {"resume retries the step a pause was about",
       Plus(kFailed, RunPaused{RunPaused::Reason::kStepFailed, "a"}), RunResumed{},
       R::kRunning, S::kPending},
      {"resume with an abort pending leaves the failed step failed",
       Plus(Plus(kFailed, RunPaused{RunPaused::Reason::kStepFailed, "a"}), AbortRequested{"no"}),
       RunResumed{FileNote::kUnchanged}, R::kRunning, S::kFailed},
      {"abort while running", kPending, AbortRequested{"bad"}, R::kRunning, S::kPending},
      {"abort while paused", kPausedSignal, AbortRequested{"bad"}, R::kPaused, S::kPending},
      {"finish succeeded", kPending, RunFinished{RunFinished::Ending::kSucceeded}, R::kSucceeded,
       S::kPending},
      {"finish failed", kPending, RunFinished{RunFinished::Ending::kFailed}, R::kFailed,
       S::kPending},
      {"finish aborted", kPending, RunFinished{RunFinished::Ending::kAborted}, R::kAborted,
       S::kPending},
      {"note while running", kPending, NoteAdded{"n"}, R::kRunning, S::kPending},
      {"note while paused", kPausedSignal, NoteAdded{"n"}, R::kPaused, S::kPending},
      {"note after success", Plus(kPending, RunFinished{RunFinished::Ending::kSucceeded}),
       NoteAdded{"n"}, R::kSucceeded, S::kPending},
      {"note after failure", Plus(kPending, RunFinished{RunFinished::Ending::kFailed}),
       NoteAdded{"n"}, R::kFailed, S::kPending},
      {"note after abort", Plus(kPending, RunFinished{RunFinished::Ending::kAborted}),
       NoteAdded{"n"}, R::kAborted, S::kPending},
      {"triage while running", kPending, TriageRecorded{"data_corruption", "critical", "rollback_now", ""},
       R::kRunning, S::kPending},
      {"triage while paused", kPausedSignal, TriageRecorded{"x", "minor", "monitor", ""},
       R::kPaused, S::kPending},
      {"triage after success", Plus(kPending, RunFinished{RunFinished::Ending::kSucceeded}),
       TriageRecorded{"x", "minor", "monitor", ""}, R::kSucceeded, S::kPending},
      {"triage after failure", Plus(kPending, RunFinished{RunFinished::Ending::kFailed}),
       TriageRecorded{"x", "minor", "monitor", ""}, R::kFailed, S::kPending},
      {"triage after abort", Plus(kPending, RunFinished{RunFinished::Ending::kAborted}),
       TriageRecorded{"x", "minor", "monitor", ""}, R::kAborted, S::kPending},
      {"triage before the run", {}, TriageRecorded{"x", "minor", "monitor", ""},
       R::kNotStarted, S::kPending, "the run is not_started"},
      {"checkpoint while running", kRunning, StepCheckpoint{"a", 1, {{"part", 1}}}, R::kRunning,
       S::kRunning},
      // Rejections: events the tables do not allow.
      {"checkpoint of a pending step", kPending, StepCheckpoint{"a", 1, {}}, R::kRunning,
       S::kPending, "step 'a' is pending"},
      {"checkpoint of another attempt", kRunning, StepCheckpoint{"a", 2, {}}, R::kRunning,
       S::kRunning, "expected attempt 1"},
      {"success without start", kPending, StepSucceeded{"a", 0, {}}, R::kRunning, S::kPending,
       "step 'a' is pending"},
      {"second start while running", kRunning, StepStarted{"a", 2}, R::kRunning, S::kRunning,
       "step 'a' is running"},
      {"wrong attempt number", kPending, StepStarted{"a", 3}, R::kRunning, S::kPending,
       "attempt 3 of step 'a', expected attempt 1"},
      {"outcome for another attempt", kRunning, StepSucceeded{"a", 2, {}}, R::kRunning,
       S::kRunning, "expected attempt 1"},
      {"unknown step", kPending, StepStarted{"zz", 1}, R::kRunning, S::kPending,
       "the plan has no step 'zz'"},
      {"step event before start", {}, StepStarted{"a", 1}, R::kNotStarted, S::kPending,
       "the run is not_started"},
      {"start twice", kPending, kStart, R::kRunning, S::kPending, "the run is running"},
      {"step started while paused", kPausedSignal, StepStarted{"a", 1}, R::kPaused, S::kPending,
       "the run is paused"},
      {"event after finish", Plus(kPending, RunFinished{RunFinished::Ending::kSucceeded}),
       StepStarted{"a", 1}, R::kSucceeded, S::kPending, "the run is succeeded"},
      {"resume a finished run", Plus(kPending, RunFinished{RunFinished::Ending::kFailed}),
       RunResumed{FileNote::kUnchanged}, R::kFailed, S::kPending, "the run is failed"},
      {"pause twice", kPausedSignal, RunPaused{RunPaused::Reason::kSignal, ""}, R::kPaused,
       S::kPending, "the run is paused"},
      {"check on a succeeded step",
       Plus(kRunning, StepSucceeded{"a", 1, {}}), StepChecked{"a", Finding::kPresent, ""},
       R::kRunning, S::kSucceeded, "step 'a' is succeeded"},
      {"resolve a pending step", kPending, StepResolved{"a", true}, R::kRunning, S::kPending,
       "step 'a' is pending"},
      {"in doubt without a start", kPending, StepInDoubt{"a", 0}, R::kRunning, S::kPending,
       "step 'a' is pending"},
      {"skip a running step", kRunning, StepSkipped{"a", "x"}, R::kRunning, S::kRunning,
       "step 'a' is running"},
  };
  return cases;
}

class TransitionTest : public ::testing::TestWithParam<Case> {};

TEST_P(TransitionTest, GivenWhenThen) {
  const Case& c = GetParam();
  // Given
  std::vector<EventBody> all = c.given;
  all.push_back(c.when);
  const std::vector<Event> events = Number(all);
  RunState state;
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_TRUE(Apply(state, events[i]).ok()) << "given event " << i + 1;
  }
  const RunState before = state;
  // When
  const Status s = Apply(state, events.back());
  // Then
  if (!c.reject.empty()) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kCorruption);
    EXPECT_NE(s.message().find(c.reject), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(fmt::format("event #{}", events.back().seq)), std::string::npos);
    EXPECT_EQ(state.last_seq, before.last_seq) << "a rejected event must not change the state";
    EXPECT_EQ(state.status, before.status);
    return;
  }
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ToString(state.status), ToString(c.run_after));
  ASSERT_NE(state.FindStep("a"), nullptr);
  EXPECT_EQ(ToString(state.FindStep("a")->status), ToString(c.step_a_after));
}

INSTANTIATE_TEST_SUITE_P(Table, TransitionTest, ::testing::ValuesIn(Cases()), testing::CaseName<Case>);

// Every row of both transition tables is exercised by an accepted case above.
TEST(TransitionTable, EveryRowIsCovered) {
  std::set<std::tuple<std::string, int, int>> step_seen, run_seen;
  for (const Case& c : Cases()) {
    if (!c.reject.empty()) continue;
    std::vector<EventBody> all = c.given;
    all.push_back(c.when);
    const std::vector<Event> events = Number(all);
    RunState state;
    for (std::size_t i = 0; i + 1 < events.size(); ++i) ASSERT_TRUE(Apply(state, events[i]).ok());
    const R run_from = state.status;
    const S step_from = state.FindStep("a") ? state.FindStep("a")->status : S::kPending;
    ASSERT_TRUE(Apply(state, events.back()).ok()) << c.name;
    const std::string type(TypeName(events.back().body));
    run_seen.emplace(type, static_cast<int>(run_from), static_cast<int>(state.status));
    const bool about_a = std::visit(
        [](const auto& b) {
          if constexpr (requires { b.step; }) return b.step == "a";
          return false;
        },
        events.back().body);
    const bool step_a_changed = step_from != state.FindStep("a")->status;
    if ((about_a && !std::holds_alternative<RunPaused>(events.back().body)) ||
        (std::holds_alternative<RunResumed>(events.back().body) && step_a_changed)) {
      step_seen.emplace(type, static_cast<int>(step_from),
                        static_cast<int>(state.FindStep("a")->status));
    }
  }
  for (const StepTransition& row : StepTransitionTable()) {
    EXPECT_TRUE(step_seen.contains({std::string(row.event), static_cast<int>(row.from),
                                    static_cast<int>(row.to)}))
        << "step row not covered: " << row.event << " " << ToString(row.from) << " -> "
        << ToString(row.to);
  }
  for (const RunTransition& row : RunTransitionTable()) {
    EXPECT_TRUE(run_seen.contains({std::string(row.event), static_cast<int>(row.from),
                                   static_cast<int>(row.to)}))
        << "run row not covered: " << row.event << " " << ToString(row.from) << " -> "
        << ToString(row.to);
  }
}

TEST(Fold, KeepsOutputsApproverAndRecovery) {
  const auto events = Number({kStart, StepStarted{"a", 1},
                              StepSucceeded{"a", 1, {{"path", "/b/x.db"}}},
                              ApprovalRequested{"b", "ok?"},
                              ApprovalGranted{"b", "GO", Via::kPrompt}});
  const Result<RunState> state = Fold(events);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->FindStep("a")->outputs["path"], "/b/x.db");
  EXPECT_EQ(state->FindStep("b")->approved_by, "alice");
  EXPECT_EQ(state->last_seq, 5u);
}

TEST(Fold, KeepsEveryCheckpointOfAStepAcrossAttempts) {
  const auto events =
      Number({kStart, StepStarted{"a", 1}, StepCheckpoint{"a", 1, {{"upload_id", "u"}}},
              StepCheckpoint{"a", 1, {{"part", 1}}}, StepFailed{"a", 1, "cut", {}},
              StepStarted{"a", 2}, StepCheckpoint{"a", 2, {{"part", 2}}}});
  const Result<RunState> state = Fold(events);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const nlohmann::json expected = {{{"upload_id", "u"}}, {{"part", 1}}, {{"part", 2}}};
  EXPECT_EQ(state->FindStep("a")->checkpoints, expected);
  EXPECT_EQ(ToString(state->FindStep("a")->status), "running");
}

TEST(Fold, RejectsGapsInSequence) {
  std::vector<Event> events = Number({kStart, StepStarted{"a", 1}});
  events[1].seq = 3;
  const Result<RunState> state = Fold(events);
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.status().message().find("expected event #2"), std::string::npos);
}

TEST(Fold, CheckFindingMarksRecovery) {
  const auto events = Number(Plus(kInDoubt, StepChecked{"a", Finding::kPresent, "found"}));
  const Result<RunState> state = Fold(events);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->FindStep("a")->recovered, "check");
}

}  // namespace
}  // namespace backout::sm
