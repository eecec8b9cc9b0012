#include "statemachine/state.h"

#include <fmt/format.h>

#include <array>

namespace backout::sm {

std::string_view ToString(RunStatus s) {
  switch (s) {
    case RunStatus::kNotStarted: return "not_started";
    case RunStatus::kRunning: return "running";
    case RunStatus::kPaused: return "paused";
    case RunStatus::kSucceeded: return "succeeded";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kAborted: return "aborted";
  }
  return "?";
}

std::string_view ToString(StepStatus s) {
  switch (s) {
    case StepStatus::kPending: return "pending";
    case StepStatus::kRunning: return "running";
    case StepStatus::kInDoubt: return "in_doubt";
    case StepStatus::kAwaitingApproval: return "awaiting_approval";
    case StepStatus::kSucceeded: return "succeeded";
    case StepStatus::kFailed: return "failed";
    case StepStatus::kSkipped: return "skipped";
  }
  return "?";
}

std::string DescribeStatus(const RunState& state) {
  std::string s(ToString(state.status));
  if (state.status == RunStatus::kPaused && state.pause) {
    s += fmt::format(" ({}{}{})", ToString(state.pause->reason),
                     state.pause->step.empty() ? "" : ": ", state.pause->step);
  }
  if (state.abort_requested && !state.Finished()) s += ", abort requested";
  return s;
}

const StepState* RunState::FindStep(std::string_view id) const {
  auto it = step_index.find(id);
  return it == step_index.end() ? nullptr : &steps[it->second];
}

namespace {
using S = StepStatus;
using R = RunStatus;

constexpr std::array kStepTable = {
    StepTransition{"StepStarted", S::kPending, S::kRunning, "", ""},
    StepTransition{"StepStarted", S::kFailed, S::kRunning, "", "retry"},
    StepTransition{"StepStarted", S::kInDoubt, S::kRunning, "", "idempotent re-run"},
    StepTransition{"StepSucceeded", S::kRunning, S::kSucceeded, "", ""},
    StepTransition{"StepFailed", S::kRunning, S::kFailed, "", ""},
    StepTransition{"StepCheckpoint", S::kRunning, S::kRunning, "",
                   "progress a later attempt builds on"},
    StepTransition{"StepSkipped", S::kPending, S::kSkipped, "", ""},
    StepTransition{"StepSkipped", S::kAwaitingApproval, S::kSkipped, "", ""},
    StepTransition{"StepInDoubt", S::kRunning, S::kInDoubt, "", ""},
    StepTransition{"StepChecked", S::kInDoubt, S::kSucceeded, "present", ""},
    StepTransition{"StepChecked", S::kInDoubt, S::kPending, "absent", ""},
    StepTransition{"StepChecked", S::kInDoubt, S::kInDoubt, "unknown", ""},
    StepTransition{"StepResolved", S::kInDoubt, S::kSucceeded, "applied", ""},
    StepTransition{"StepResolved", S::kInDoubt, S::kPending, "not_applied", ""},
    StepTransition{"ApprovalRequested", S::kPending, S::kAwaitingApproval, "", ""},
    StepTransition{"ApprovalRequested", S::kAwaitingApproval, S::kAwaitingApproval, "", ""},
    StepTransition{"ApprovalGranted", S::kAwaitingApproval, S::kSucceeded, "", ""},
    StepTransition{"ApprovalGranted", S::kPending, S::kSucceeded, "", "pre-approved"},
    StepTransition{"RunResumed", S::kFailed, S::kPending, "",
                   "the operator resumes a run paused on this step's failure: retry it"},
};

constexpr std::array kRunTable = {
    RunTransition{"RunStarted", R::kNotStarted, R::kRunning, "", ""},
    RunTransition{"StepStarted", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepSucceeded", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepFailed", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepCheckpoint", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepSkipped", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepInDoubt", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepChecked", R::kRunning, R::kRunning, "", ""},
    RunTransition{"ApprovalRequested", R::kRunning, R::kRunning, "", ""},
    RunTransition{"ApprovalGranted", R::kRunning, R::kRunning, "", ""},
    RunTransition{"ApprovalGranted", R::kPaused, R::kPaused, "", "approve while paused"},
    RunTransition{"StepResolved", R::kRunning, R::kRunning, "", ""},
    RunTransition{"StepResolved", R::kPaused, R::kPaused, "", "resolve while paused"},
    RunTransition{"RunPaused", R::kRunning, R::kPaused, "", ""},
    RunTransition{"RunResumed", R::kPaused, R::kRunning, "", ""},
    RunTransition{"RunResumed", R::kRunning, R::kRunning, "", "after a crash"},
    RunTransition{"AbortRequested", R::kRunning, R::kRunning, "", ""},
    RunTransition{"AbortRequested", R::kPaused, R::kPaused, "", ""},
    RunTransition{"RunFinished", R::kRunning, R::kSucceeded, "succeeded", ""},
    RunTransition{"RunFinished", R::kRunning, R::kFailed, "failed", ""},
    RunTransition{"RunFinished", R::kRunning, R::kAborted, "aborted", ""},
    RunTransition{"NoteAdded", R::kRunning, R::kRunning, "", ""},
    RunTransition{"NoteAdded", R::kPaused, R::kPaused, "", ""},
    RunTransition{"NoteAdded", R::kSucceeded, R::kSucceeded, "", ""},
    RunTransition{"NoteAdded", R::kFailed, R::kFailed, "", ""},
    RunTransition{"NoteAdded", R::kAborted, R::kAborted, "", ""},
    RunTransition{"TriageRecorded", R::kRunning, R::kRunning, "", ""},
    RunTransition{"TriageRecorded", R::kPaused, R::kPaused, "", ""},
    RunTransition{"TriageRecorded", R::kSucceeded, R::kSucceeded, "", "recorded afterwards"},
    RunTransition{"TriageRecorded", R::kFailed, R::kFailed, "", "recorded afterwards"},
    RunTransition{"TriageRecorded", R::kAborted, R::kAborted, "", "recorded afterwards"},
};

// The step an event is about, or nullptr for run-level events. RunResumed is about the step
// whose failure paused the run (it is retried), unless an abort is pending.
const std::string* StepOf(const EventBody& body, const RunState& state) {
  if (std::holds_alternative<RunResumed>(body)) {
    const bool retry_failed_step = state.status == RunStatus::kPaused && state.pause &&
                                   state.pause->reason == RunPaused::Reason::kStepFailed &&
                                   !state.abort_requested;
    return retry_failed_step ? &state.pause->step : nullptr;
  }
  return std::visit(
      [](const auto& b) -> const std::string* {
        if constexpr (requires { b.step; }) {
          // RunPaused names a step for context only; it is a run-level event.
          if constexpr (std::is_same_v<std::decay_t<decltype(b)>, RunPaused>) return nullptr;
          return &b.step;
        } else {
          return nullptr;
        }
      },
      body);
}

// The payload detail that selects between rows with the same event and source state.
std::string_view WhenOf(const EventBody& body) {
  if (const auto* c = std::get_if<StepChecked>(&body)) return ToString(c->finding);
  if (const auto* r = std::get_if<StepResolved>(&body)) {
    return r->applied ? "applied" : "not_applied";
  }
  if (const auto* f = std::get_if<RunFinished>(&body)) return ToString(f->outcome);
  return "";
}

// A row without a selector matches every payload.
bool WhenMatches(std::string_view row_when, std::string_view event_when) {
  return row_when.empty() || row_when == event_when;
}

template <typename Row, typename Table, typename Status_>
const Row* FindRow(const Table& table, std::string_view event, Status_ from,
                   std::string_view when) {
  for (const Row& row : table) {
    if (row.event == event && row.from == from && WhenMatches(row.when, when)) return &row;
  }
  return nullptr;
}

Status Reject(const Event& e, std::string_view why) {
  return Status::Corruption(fmt::format("event #{} {}: not allowed: {}", e.seq,
                                        TypeName(e.body), why));
}

// Checks the attempt number a step event carries against the step's state.
Status CheckStepPayload(const Event& e, const StepState& step) {
  const auto check = [&](int attempt, int expected) -> Status {
    if (attempt == expected) return Status::Ok();
    return Reject(e, fmt::format("attempt {} of step '{}', expected attempt {}", attempt,
                                 step.id, expected));
  };
  if (const auto* b = std::get_if<StepStarted>(&e.body)) return check(b->attempt, step.attempts + 1);
  if (const auto* b = std::get_if<StepSucceeded>(&e.body)) return check(b->attempt, step.attempts);
  if (const auto* b = std::get_if<StepFailed>(&e.body)) return check(b->attempt, step.attempts);
  if (const auto* b = std::get_if<StepInDoubt>(&e.body)) return check(b->attempt, step.attempts);
  if (const auto* b = std::get_if<StepCheckpoint>(&e.body)) return check(b->attempt, step.attempts);
  return Status::Ok();
}

Status CheckRunPayload(const Event& e) {
  const auto* started = std::get_if<RunStarted>(&e.body);
  if (started == nullptr) return Status::Ok();
  if (started->step_ids.empty()) return Reject(e, "a run needs at least one step");
  for (std::size_t i = 0; i < started->step_ids.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (started->step_ids[i] == started->step_ids[j]) {
        return Reject(e, fmt::format("duplicate step '{}'", started->step_ids[i]));
      }
    }
  }
  return Status::Ok();
}

// Updates a step for an event already checked against the table and CheckStepPayload.
void UpdateStep(StepState& step, const Event& e, StepStatus to) {
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, StepStarted>) {
          step.attempts = b.attempt;
          ++step.attempts_in_round;
          if (step.first_started_us == 0) step.first_started_us = e.time_us;
          step.check_inconclusive = false;
        } else if constexpr (std::is_same_v<T, StepSucceeded>) {
          step.outputs = b.outputs;
          step.error.clear();
        } else if constexpr (std::is_same_v<T, StepFailed>) {
          step.error = b.error;
          step.outputs = b.outputs;
        } else if constexpr (std::is_same_v<T, StepCheckpoint>) {
          step.checkpoints.push_back(b.checkpoint);
        } else if constexpr (std::is_same_v<T, StepSkipped>) {
          step.skip_reason = b.reason;
        } else if constexpr (std::is_same_v<T, StepChecked>) {
          step.check_inconclusive = b.finding == StepChecked::Finding::kUnknown;
          if (b.finding == StepChecked::Finding::kPresent) step.recovered = "check";
        } else if constexpr (std::is_same_v<T, StepResolved>) {
          if (b.applied) step.recovered = "resolve";
        } else if constexpr (std::is_same_v<T, ApprovalGranted>) {
          step.approved_by = e.operator_name;
        } else if constexpr (std::is_same_v<T, RunResumed>) {
          step.attempts_in_round = 0;  // a fresh retry budget
        }
      },
      e.body);
  step.status = to;
  if (to == StepStatus::kSucceeded || to == StepStatus::kFailed || to == StepStatus::kSkipped) {
    step.finished_us = e.time_us;
  }
}

// Run-level effects of an event already checked against the table and CheckRunPayload.
void UpdateRun(RunState& state, const Event& e, RunStatus to) {
  if (const auto* started = std::get_if<RunStarted>(&e.body)) {
    for (const std::string& id : started->step_ids) {
      state.step_index.emplace(id, state.steps.size());
      StepState step;
      step.id = id;
      state.steps.push_back(std::move(step));
    }
    state.start = *started;
    state.started_us = e.time_us;
  } else if (const auto* paused = std::get_if<RunPaused>(&e.body)) {
    state.pause = *paused;
  } else if (const auto* abort = std::get_if<AbortRequested>(&e.body)) {
    state.abort_requested = true;
    state.abort_reasons.push_back(abort->reason);
  } else if (const auto* note = std::get_if<NoteAdded>(&e.body)) {
    if (!note->queue_id.empty()) state.queued_notes_journaled.insert(note->queue_id);
  }
  state.status = to;
}

}  // namespace

std::span<const StepTransition> StepTransitionTable() { return kStepTable; }
std::span<const RunTransition> RunTransitionTable() { return kRunTable; }

Status Apply(RunState& state, const Event& event) {
  if (event.seq != state.last_seq + 1) {
    return Reject(event, fmt::format("expected event #{}", state.last_seq + 1));
  }
  const std::string_view type = TypeName(event.body);
  const std::string_view when = WhenOf(event.body);
  const auto* run_row = FindRow<RunTransition>(kRunTable, type, state.status, when);
  if (run_row == nullptr) {
    return Reject(event, fmt::format("the run is {}", ToString(state.status)));
  }
  BACKOUT_RETURN_IF_ERROR(CheckRunPayload(event));

  // Check everything before mutating, so a rejected event leaves `state` untouched.
  StepState* step = nullptr;
  const StepTransition* step_row = nullptr;
  if (const std::string* step_id = StepOf(event.body, state)) {
    auto it = state.step_index.find(*step_id);
    if (it == state.step_index.end()) {
      return Reject(event, fmt::format("the plan has no step '{}'", *step_id));
    }
    step = &state.steps[it->second];
    step_row = FindRow<StepTransition>(kStepTable, type, step->status, when);
    if (step_row == nullptr) {
      return Reject(event, fmt::format("step '{}' is {}", step->id, ToString(step->status)));
    }
    BACKOUT_RETURN_IF_ERROR(CheckStepPayload(event, *step));
  }

  if (step != nullptr) UpdateStep(*step, event, step_row->to);
  UpdateRun(state, event, run_row->to);
  state.last_seq = event.seq;
  state.last_event_us = event.time_us;
  return Status::Ok();
}

Result<RunState> Fold(std::span<const Event> events) {
  RunState state;
  for (const Event& e : events) BACKOUT_RETURN_IF_ERROR(Apply(state, e));
  return state;
}

}  // namespace backout::sm
