// Given/when/then tests of the operator commands and of adapter answers: given a run's
// events, when an operator command (or an adapter's answer) arrives, then these events are
// journaled, or the command is refused with exactly this message. And a round trip: a run
// built only from Decide(), EventOfAnswer() and Accept() replays to exactly the commands
// they were given.
#include "statemachine/operator.h"

#include <gtest/gtest.h>

#include "statemachine/replay.h"
#include "statemachine/test_support.h"

namespace backout::sm {
namespace {

using testing::Number;
using testing::Ok;
using Via = ApprovalGranted::Via;
using FileNote = RunResumed::PlanFileNote;
using Reason = RunPaused::Reason;

// The five-step plan, its approval gate asking for "GO", and two triggers.
const plan::Plan& Plan() {
  static const plan::Plan plan = [] {
    plan::Plan p = testing::FiveStepPlan();
    p.steps[3].action.params.value = {{"prompt", "Go on?"}, {"phrase", "GO"}};
    p.triggers = {{"data_corruption", "critical", "rollback_now", "restore now", {}},
                  {"latency", "minor", "monitor", "", {}}};
    return p;
  }();
  return plan;
}
const RunStarted kStart = testing::FiveStepStart();

std::vector<EventBody> Concat(std::initializer_list<std::vector<EventBody>> parts) {
  std::vector<EventBody> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const std::vector<EventBody> kAwaitingGate =
    Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"),
            {ApprovalRequested{"gate", "Go on?"}, RunPaused{Reason::kApproval, "gate"}}});
const std::vector<EventBody> kCrashedInA = {kStart, StepStarted{"a", 1}};
const std::vector<EventBody> kInDoubtA = {kStart, StepStarted{"a", 1},
                                          RunResumed{FileNote::kUnchanged}, StepInDoubt{"a", 1},
                                          RunPaused{Reason::kInDoubt, "a"}};
const std::vector<EventBody> kSucceeded =
    Concat({{kStart}, Ok("a"), Ok("b"), Ok("c"), {ApprovalGranted{"gate", "GO", Via::kPrompt}},
            Ok("z"), {RunFinished{RunFinished::Ending::kSucceeded}}});
const std::vector<EventBody> kPausedBySignal =
    Concat({{kStart}, Ok("a"), {RunPaused{Reason::kSignal, ""}}});

struct Case {
  std::string name;
  std::vector<EventBody> given;
  OperatorCommand when;
  std::vector<EventBody> then;  // the events journaled (when `refused` is kOk)
  Code refused = Code::kOk;
  std::string message;          // the refusal's exact message
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // approve
      {"approve a step awaiting approval", kAwaitingGate, ApproveCommand{"gate", "GO"},
       {ApprovalGranted{"gate", "GO", Via::kApproveCommand}}},
      {"approve with the wrong phrase", kAwaitingGate, ApproveCommand{"gate", "go"}, {},
       Code::kInvalidArgument, "that is not the confirmation phrase of step 'gate'"},
      {"approve a step the plan lacks", kAwaitingGate, ApproveCommand{"nope", "GO"}, {},
       Code::kInvalidArgument, "the plan has no step 'nope'"},
      {"approve a misspelt step", kAwaitingGate, ApproveCommand{"gaet", "GO"}, {},
       Code::kInvalidArgument, "the plan has no step 'gaet' (did you mean 'gate'?)"},
      {"approve a step that is no approval", kAwaitingGate, ApproveCommand{"a", "GO"}, {},
       Code::kInvalidArgument, "step 'a' is not an approval step"},
      {"approve before the gate is reached", Concat({{kStart}, Ok("a")}),
       ApproveCommand{"gate", "GO"}, {}, Code::kFailedPrecondition,
       "step gate is pending, not awaiting approval"},
      // resolve
      {"resolve an in-doubt step as applied", kInDoubtA, ResolveCommand{"a", true},
       {StepResolved{"a", true}}},
      {"resolve an in-doubt step as not applied", kInDoubtA, ResolveCommand{"a", false},
       {StepResolved{"a", false}}},
      {"resolve a step that is not in doubt", kInDoubtA, ResolveCommand{"b", true}, {},
       Code::kFailedPrecondition, "step b is pending, not in doubt"},
      {"resolve a step the run lacks", kInDoubtA, ResolveCommand{"nope", true}, {},
       Code::kNotFound, "run R has no step nope"},
      {"resolve a misspelt step", kInDoubtA, ResolveCommand{"gaet", true}, {}, Code::kNotFound,
       "run R has no step gaet (did you mean 'gate'?)"},
      // resume
      {"resume a paused run", kPausedBySignal, ResumeCommand{FileNote::kChanged},
       {RunResumed{FileNote::kChanged}}},
      {"resume after a crash marks the running step in doubt", kCrashedInA,
       ResumeCommand{FileNote::kMissing},
       {RunResumed{FileNote::kMissing}, StepInDoubt{"a", 1}}},
      {"resume a finished run", kSucceeded, ResumeCommand{}, {}, Code::kFailedPrecondition,
       "run R has already succeeded"},
      // abort
      {"abort a paused run", kPausedBySignal, AbortCommand{"wrong call", FileNote::kUnchanged},
       {AbortRequested{"wrong call"}, RunResumed{FileNote::kUnchanged}}},
      {"abort after a crash", kCrashedInA, AbortCommand{"stop", FileNote::kUnchanged},
       {AbortRequested{"stop"}, RunResumed{FileNote::kUnchanged}, StepInDoubt{"a", 1}}},
      {"abort again keeps its reason too",
       Concat({kPausedBySignal,
               {AbortRequested{"first"}, RunResumed{FileNote::kUnchanged},
                RunPaused{Reason::kSignal, ""}}}),
       AbortCommand{"second", FileNote::kUnchanged},
       {AbortRequested{"second"}, RunResumed{FileNote::kUnchanged}}},
      {"abort a finished run", kSucceeded, AbortCommand{"late"}, {}, Code::kFailedPrecondition,
       "run R has already succeeded"},
      // note, triage
      {"note on a finished run", kSucceeded, NoteCommand{"all good"}, {NoteAdded{"all good"}}},
      {"queued note while a step runs", kCrashedInA, NoteCommand{"restore slow", "q1"},
       {NoteAdded{"restore slow", "q1"}}},
      {"queued note journaled already (a crash before its file was removed)",
       Concat({kCrashedInA, {NoteAdded{"restore slow", "q1"}}}), NoteCommand{"restore slow", "q1"},
       {}},
      {"another queued note after one journaled",
       Concat({kCrashedInA, {NoteAdded{"restore slow", "q1"}}}), NoteCommand{"still slow", "q2"},
       {NoteAdded{"still slow", "q2"}}},
      {"triage into a running run", Concat({{kStart}, Ok("a")}),
       TriageCommand{"latency", "minor", "monitor", ""},
       {TriageRecorded{"latency", "minor", "monitor", ""}}},
  };
  return cases;
}

std::string DescribeAll(const std::vector<EventBody>& events) {
  std::string out;
  for (const EventBody& e : events) {
    out += std::string(TypeName(e)) + " " + EncodePayload(e).dump() + "\n";
  }
  return out;
}

class OperatorTest : public ::testing::TestWithParam<Case> {};

TEST_P(OperatorTest, GivenWhenThen) {
  const Case& c = GetParam();
  const Result<RunState> state = Fold(Number(c.given));  // given
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  const Result<EventBatch> got = Accept(*state, Plan(), "R", c.when);  // when
  if (c.refused != Code::kOk) {                                    // then
    ASSERT_FALSE(got.ok()) << DescribeAll(*got);
    EXPECT_EQ(got.status().code(), c.refused);
    EXPECT_EQ(got.status().message(), c.message);
    return;
  }
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(DescribeAll(*got), DescribeAll(c.then));
  // What is accepted is an allowed transition.
  std::vector<EventBody> after = c.given;
  after.insert(after.end(), got->begin(), got->end());
  EXPECT_TRUE(Fold(Number(after)).ok()) << Fold(Number(after)).status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Table, OperatorTest, ::testing::ValuesIn(Cases()),
                         testing::CaseName<Case>);

TEST(CheckApprovals, EmptyIsFine) { EXPECT_TRUE(CheckApprovals(Plan(), {}).ok()); }

TEST(FindTrigger, FindsTheRow) {
  const Result<TriageCommand> t = FindTrigger(Plan(), "data_corruption", "critical");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, (TriageCommand{"data_corruption", "critical", "rollback_now", "restore now"}));
}

TEST(FindTrigger, NamesWhatThePlanHas) {
  const Result<TriageCommand> t = FindTrigger(Plan(), "latency", "critical");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(t.status().message(),
            "plan 'test' has no trigger for issue 'latency' at severity 'critical'\n"
            "  issue types: data_corruption, latency\n  severities: critical, minor");
  plan::Plan none = Plan();
  none.triggers.clear();
  EXPECT_EQ(FindTrigger(none, "latency", "minor").status().message(),
            "plan 'test' has no triggers: section (docs/plan-format.md)");
}

struct AnswerCase {
  std::string name;
  Command when;  // a StartStep or a RunCheck
  Status answer;
  EventBody then;
};

const std::vector<AnswerCase>& AnswerCases() {
  static const std::vector<AnswerCase> cases = {
      {"action succeeded", StartStep{"a", 2, {}}, Status::Ok(),
       StepSucceeded{"a", 2, {{"rows", 3}}}},
      {"action failed", StartStep{"a", 1, {}}, Status::ExpectationFailed("exit 1"),
       StepFailed{"a", 1, "exit 1", {{"rows", 3}}}},
      {"action timed out", StartStep{"a", 1, {}}, Status::Timeout("after 5s"),
       StepFailed{"a", 1, "after 5s", {{"rows", 3}}}},
      {"action interrupted", StartStep{"a", 1, {}}, Status::Cancelled("signal"),
       RunPaused{Reason::kSignal, "a"}},
      {"check found the effect", RunCheck{"b"}, Status::Ok(),
       StepChecked{"b", StepChecked::Finding::kPresent, "the check found the effect in place"}},
      {"check found no effect", RunCheck{"b"}, Status::ExpectationFailed("0 rows"),
       StepChecked{"b", StepChecked::Finding::kAbsent, "0 rows"}},
      {"check could not tell", RunCheck{"b"}, Status::Unavailable("no connection"),
       StepChecked{"b", StepChecked::Finding::kUnknown, "no connection"}},
      {"check interrupted", RunCheck{"b"}, Status::Cancelled("signal"),
       RunPaused{Reason::kSignal, ""}},
  };
  return cases;
}

class AnswerTest : public ::testing::TestWithParam<AnswerCase> {};

TEST_P(AnswerTest, GivenWhenThen) {
  const AnswerCase& c = GetParam();
  const AdapterAnswer answer{c.answer, {{"rows", 3}}};
  const EventBody got = std::visit(
      [&](const auto& command) -> EventBody {
        using T = std::decay_t<decltype(command)>;
        if constexpr (std::is_same_v<T, StartStep> || std::is_same_v<T, RunCheck>) {
          return EventOfAnswer(command, answer);
        } else {
          ADD_FAILURE() << "not a command an adapter answers";
          return NoteAdded{};
        }
      },
      c.when);
  EXPECT_EQ(DescribeAll({got}), DescribeAll({c.then}));
}

INSTANTIATE_TEST_SUITE_P(Table, AnswerTest, ::testing::ValuesIn(AnswerCases()),
                         testing::CaseName<AnswerCase>);

// The round trip. A run is driven the way the engine and the CLI drive it, but only through
// the pure functions: Decide() says what to do, EventOfAnswer() turns a scripted answer into
// its event, Accept() turns each operator command into its events. Replaying the journal so
// built gives back every decision (RecordedDecision) and every operator command
// (RecordedOperatorCommands), exactly and in order.
class RoundTrip {
 public:
  // Applies `bodies` as one batch; returns false (and fails the test) if any is illegal.
  void Journal(const std::vector<EventBody>& bodies) {
    for (const EventBody& body : bodies) {
      events_.push_back(Event{.seq = events_.size() + 1, .body = body});
      const Status applied = Apply(state_, events_.back());
      ASSERT_TRUE(applied.ok()) << applied.ToString();
    }
  }

  // One decision, acted on with `answer` when it runs an adapter; false when idle.
  bool Step(const Status& answer) {
    const Command command = Decide(state_, Plan());
    if (std::holds_alternative<Idle>(command)) return false;
    decisions_.push_back(command);
    std::visit(
        [&](const auto& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, StartStep>) {
            decisions_.back() = StartStep{c.step, c.attempt, {}};  // the delay is not journaled
            Journal({StepStarted{c.step, c.attempt}, EventOfAnswer(c, AdapterAnswer{answer})});
          } else if constexpr (std::is_same_v<T, RunCheck>) {
            Journal({EventOfAnswer(c, AdapterAnswer{answer})});
          } else if constexpr (std::is_same_v<T, AwaitApproval>) {
            Journal({ApprovalRequested{c.step, "Go on?"}, RunPaused{Reason::kApproval, c.step}});
          } else if constexpr (std::is_same_v<T, AwaitResolve>) {
            Journal({RunPaused{Reason::kInDoubt, c.step}});
          } else if constexpr (std::is_same_v<T, SkipStep>) {
            Journal({StepSkipped{c.step, c.reason}});
          } else if constexpr (std::is_same_v<T, PauseRun>) {
            Journal({RunPaused{c.reason, c.step}});
          } else if constexpr (std::is_same_v<T, FinishRun>) {
            Journal({RunFinished{c.ending}});
          }
        },
        command);
    return true;
  }

  void Operator(const OperatorCommand& command) {
    const Result<EventBatch> events = Accept(state_, Plan(), "R", command);
    ASSERT_TRUE(events.ok()) << events.status().ToString();
    operator_commands_.push_back(command);
    Journal(*events);
  }

  // The next decision is a StartStep, and the runner is killed right after journaling its
  // StepStarted: no answer.
  void Crash() {
    const Command command = Decide(state_, Plan());
    const auto* start = std::get_if<StartStep>(&command);
    ASSERT_NE(start, nullptr) << Describe(command);
    decisions_.push_back(command);
    Journal({StepStarted{start->step, start->attempt}});
  }

  void ExpectReplayGivesBack() const {
    std::vector<Command> decisions;
    for (std::size_t i = 0; i < events_.size(); ++i) {
      if (std::optional<Command> d =
              RecordedDecision(events_[i].body, i == 0 ? nullptr : &events_[i - 1].body)) {
        decisions.push_back(*d);
      }
    }
    ASSERT_EQ(decisions.size(), decisions_.size());
    for (std::size_t i = 0; i < decisions.size(); ++i) {
      EXPECT_EQ(Describe(decisions[i]), Describe(decisions_[i])) << "decision " << i;
      EXPECT_TRUE(decisions[i] == decisions_[i]) << "decision " << i;
    }
    EXPECT_TRUE(RecordedOperatorCommands(events_) == operator_commands_);
    const Result<ReplaySummary> replayed = Replay(events_, Plan());
    ASSERT_TRUE(replayed.ok()) << replayed.status().ToString();
    EXPECT_FALSE(replayed->divergence.has_value()) << replayed->divergence->derived;
    EXPECT_EQ(replayed->decisions_checked, static_cast<int>(decisions_.size()));
  }

 private:
  RunState state_;
  std::vector<Event> events_;
  std::vector<Command> decisions_;
  std::vector<OperatorCommand> operator_commands_;
};

TEST(RoundTrip, ReplayGivesBackEveryCommand) {
  RoundTrip run;
  run.Journal({kStart});
  run.Operator(TriageCommand{"data_corruption", "critical", "rollback_now", "restore now"});
  // a: crashes mid-step, in doubt after the resume, resolved as not applied, run again.
  run.Crash();  // StartStep a
  run.Operator(ResumeCommand{FileNote::kChanged});
  ASSERT_TRUE(run.Step(Status::Ok()));  // AwaitResolve a
  run.Operator(ResolveCommand{"a", false});
  run.Operator(ResumeCommand{FileNote::kUnchanged});
  ASSERT_TRUE(run.Step(Status::Ok()));  // StartStep a 2
  // b: crashes, its check finds the effect absent, then runs again.
  run.Crash();  // StartStep b
  run.Operator(ResumeCommand{FileNote::kUnchanged});
  ASSERT_TRUE(run.Step(Status::ExpectationFailed("0 rows")));  // RunCheck b
  ASSERT_TRUE(run.Step(Status::Ok()));                         // StartStep b 2
  run.Operator(NoteCommand{"b redone after its check"});
  ASSERT_TRUE(run.Step(Status::Ok()));  // StartStep c
  ASSERT_TRUE(run.Step(Status::Ok()));  // AwaitApproval gate: paused
  run.Operator(ApproveCommand{"gate", "GO"});
  run.Operator(AbortCommand{"wrong call", FileNote::kMissing});
  while (run.Step(Status::Ok())) {
  }  // z runs (always), the run finishes aborted
  run.Operator(NoteCommand{"done"});
  run.ExpectReplayGivesBack();
}

// `run` of a plan with an earlier run in the journal: refused without --again only after a
// succeeded, non-rehearsal run of a plan of the same name.
struct AgainCase {
  std::string name;
  std::vector<EarlierRun> earlier;
  bool again = false;
  bool rehearse = false;
  std::string refusal;  // the exact message; empty: allowed
};

constexpr std::int64_t kMorning = 1'764'925'200'000'000;  // 2025-12-05T09:00:00Z
const std::string kSha = std::string(64, 'a');
const std::string kOtherSha = std::string(64, 'b');

EarlierRun Earlier(std::string id, RunStatus status, std::string name = "test",
                   std::string sha = kSha, bool rehearsal = false, std::int64_t at = kMorning) {
  return EarlierRun{.run_id = std::move(id),
                    .plan_name = std::move(name),
                    .plan_sha256 = std::move(sha),
                    .rehearsal = rehearsal,
                    .status = status,
                    .last_event_us = at};
}

class RunAgainTest : public ::testing::TestWithParam<AgainCase> {};

TEST_P(RunAgainTest, Decides) {
  const AgainCase& c = GetParam();
  plan::Plan plan = Plan();
  plan.sha256 = kSha;
  const Status s = CheckRunAgain(plan, c.earlier, c.again, c.rehearse);
  if (c.refusal.empty()) {
    EXPECT_TRUE(s.ok()) << s.ToString();
  } else {
    EXPECT_EQ(s.code(), Code::kFailedPrecondition);
    EXPECT_EQ(s.message(), c.refusal);
  }
}

const std::string kRefusedR1 =
    "plan 'test' already succeeded in run R1 (finished 2025-12-05T09:00:00.000000Z, the same "
    "plan text); running it again repeats every step: add --again to run it anyway";

INSTANTIATE_TEST_SUITE_P(
    Table, RunAgainTest,
    ::testing::Values(
        AgainCase{"an empty journal", {}},
        AgainCase{"an earlier success", {Earlier("R1", RunStatus::kSucceeded)}, false, false,
                  kRefusedR1},
        AgainCase{"an earlier success with --again", {Earlier("R1", RunStatus::kSucceeded)}, true},
        AgainCase{"a rehearsal after a success", {Earlier("R1", RunStatus::kSucceeded)}, false,
                  true},
        AgainCase{"an earlier failure", {Earlier("R1", RunStatus::kFailed)}},
        AgainCase{"an earlier abort", {Earlier("R1", RunStatus::kAborted)}},
        AgainCase{"an earlier run still running", {Earlier("R1", RunStatus::kRunning)}},
        AgainCase{"an earlier run paused", {Earlier("R1", RunStatus::kPaused)}},
        AgainCase{"an earlier rehearsal that succeeded",
                  {Earlier("R1", RunStatus::kSucceeded, "test", kSha, /*rehearsal=*/true)}},
        AgainCase{"another plan's success",
                  {Earlier("R1", RunStatus::kSucceeded, "other-plan")}},
        AgainCase{"an edited text of the plan",
                  {Earlier("R1", RunStatus::kSucceeded, "test", kOtherSha)}, false, false,
                  "plan 'test' already succeeded in run R1 (finished "
                  "2025-12-05T09:00:00.000000Z, another text of the plan, sha256 bbbbbbbbbbbb); "
                  "running it again repeats every step: add --again to run it anyway"},
        AgainCase{"the latest of two successes is named",
                  {Earlier("R2", RunStatus::kSucceeded, "test", kSha, false, kMorning + 60'000'000),
                   Earlier("R1", RunStatus::kSucceeded)},
                  false, false,
                  "plan 'test' already succeeded in run R2 (finished "
                  "2025-12-05T09:01:00.000000Z, the same plan text); running it again repeats "
                  "every step: add --again to run it anyway"},
        AgainCase{"a failure after a success still asks",
                  {Earlier("R1", RunStatus::kSucceeded),
                   Earlier("R2", RunStatus::kFailed, "test", kSha, false, kMorning + 1)},
                  false, false, kRefusedR1}),
    testing::CaseName<AgainCase>);

}  // namespace
}  // namespace backout::sm
