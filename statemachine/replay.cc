#include "statemachine/replay.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/utf8.h"
#include "statemachine/state.h"

namespace backout::sm {
namespace {

// True when `event` finishes the AwaitApproval that `previous` (its ApprovalRequested)
// began: the engine pauses, or takes the phrase typed at the prompt, right after asking.
bool ContinuesApprovalRequest(const EventBody& event, const EventBody* previous) {
  const auto* request = previous == nullptr ? nullptr : std::get_if<ApprovalRequested>(previous);
  if (request == nullptr) return false;
  if (const auto* paused = std::get_if<RunPaused>(&event)) {
    return paused->reason == RunPaused::Reason::kApproval && paused->step == request->step;
  }
  if (const auto* granted = std::get_if<ApprovalGranted>(&event)) {
    return granted->via == ApprovalGranted::Via::kPrompt && granted->step == request->step;
  }
  return false;
}

std::optional<Command> CommandOfPause(const RunPaused& paused) {
  switch (paused.reason) {
    case RunPaused::Reason::kApproval: return AwaitApproval{paused.step};
    case RunPaused::Reason::kInDoubt: return AwaitResolve{paused.step};
    case RunPaused::Reason::kStepFailed: return PauseRun{paused.reason, paused.step};
    case RunPaused::Reason::kSignal: return std::nullopt;  // the operator stopped the runner
    case RunPaused::Reason::kLocked: return std::nullopt;  // another runner had a target
  }
  return std::nullopt;
}

// The decision as the journal can show it: the retry backoff is not journaled.
Command WithoutDelay(Command command) {
  if (auto* start = std::get_if<StartStep>(&command)) start->delay = {};
  return command;
}

std::string DescribeEvent(const EventBody& event) {
  return fmt::format("{} {}", TypeName(event), DumpJson(EncodePayload(event)));
}

// The step a command names; nullptr for FinishRun and Idle.
std::string* StepOf(Command& command) {
  return std::visit(
      [](auto& c) -> std::string* {
        if constexpr (requires { c.step; }) {
          return &c.step;
        } else {
          return nullptr;
        }
      },
      command);
}

// `recorded` in the replayed plan's step ids.
Command Renamed(Command recorded, const ReplayOptions& options) {
  if (std::string* step = StepOf(recorded)) {
    if (auto it = options.renamed.find(*step); it != options.renamed.end()) *step = it->second;
  }
  return recorded;
}

// `state` (folded from the run's events, its steps the journaled plan's) laid onto `plan`'s
// steps: each plan step takes the state of the run's step with its id (or the id it was
// renamed from), a step the run does not have is pending. nullopt when the steps are the
// journaled ones already, so that a replay against its own plan copies nothing.
std::optional<RunState> OntoPlan(const RunState& state, const plan::Plan& plan,
                                 const ReplayOptions& options) {
  const bool same_steps = std::equal(
      state.start.step_ids.begin(), state.start.step_ids.end(), plan.steps.begin(),
      plan.steps.end(), [](const std::string& id, const plan::Step& step) { return id == step.id; });
  if (same_steps || state.steps.empty()) return std::nullopt;
  std::vector<std::string> ids;
  for (const plan::Step& step : plan.steps) ids.push_back(step.id);
  std::map<std::string, std::string, std::less<>> run_id_of;  // plan id -> the run's id
  for (const auto& [from, to] : options.renamed) run_id_of[to] = from;
  RunState projected = state;
  projected.steps.clear();
  projected.step_index.clear();
  for (const std::string& id : ids) {
    const auto renamed = run_id_of.find(id);
    const StepState* recorded = state.FindStep(renamed == run_id_of.end() ? id : renamed->second);
    StepState step = recorded == nullptr ? StepState{} : *recorded;
    step.id = id;
    projected.step_index[id] = projected.steps.size();
    projected.steps.push_back(std::move(step));
  }
  projected.start.step_ids = std::move(ids);
  return projected;
}

Command DecideOnPlan(const RunState& state, const plan::Plan& plan,
                     const ReplayOptions& options) {
  if (std::optional<RunState> projected = OntoPlan(state, plan, options)) {
    return Decide(*projected, plan);
  }
  return Decide(state, plan);
}

// An approval given with `backout approve` for a step that was not awaiting one: `approve`
// refuses that, so the gate was passed without the run asking.
bool ApprovedUnasked(const RunState& state, const EventBody& event) {
  const auto* granted = std::get_if<ApprovalGranted>(&event);
  if (granted == nullptr || granted->via != ApprovalGranted::Via::kApproveCommand) return false;
  const StepState* step = state.FindStep(granted->step);
  return step == nullptr || step->status != StepStatus::kAwaitingApproval;
}

bool SameAction(const plan::Action& a, const plan::Action& b) {
  return a.kind == b.kind && a.target == b.target && a.params.value == b.params.value;
}

}  // namespace

std::optional<Command> RecordedDecision(const EventBody& event, const EventBody* previous) {
  if (ContinuesApprovalRequest(event, previous)) return std::nullopt;
  return std::visit(
      [](const auto& e) -> std::optional<Command> {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, StepStarted>) {
          return StartStep{e.step, e.attempt, {}};
        } else if constexpr (std::is_same_v<T, StepChecked>) {
          return RunCheck{e.step};
        } else if constexpr (std::is_same_v<T, StepSkipped>) {
          return SkipStep{e.step, e.reason};
        } else if constexpr (std::is_same_v<T, ApprovalRequested>) {
          return AwaitApproval{e.step};
        } else if constexpr (std::is_same_v<T, ApprovalGranted>) {
          // `backout approve` is an operator's input; the other two are the engine acting
          // on an AwaitApproval (a phrase given with --approve or typed at the prompt).
          if (e.via == ApprovalGranted::Via::kApproveCommand) return std::nullopt;
          return AwaitApproval{e.step};
        } else if constexpr (std::is_same_v<T, RunPaused>) {
          return CommandOfPause(e);
        } else if constexpr (std::is_same_v<T, RunFinished>) {
          return FinishRun{e.outcome};
        } else {
          return std::nullopt;
        }
      },
      event);
}

std::vector<OperatorCommand> RecordedOperatorCommands(std::span<const Event> events) {
  std::vector<OperatorCommand> commands;
  auto add = [&commands](auto command) {
    commands.emplace_back(std::in_place_type<decltype(command)>, std::move(command));
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventBody& body = events[i].body;
    if (const auto* granted = std::get_if<ApprovalGranted>(&body)) {
      if (granted->via == ApprovalGranted::Via::kApproveCommand) {
        add(ApproveCommand{granted->step, granted->phrase});
      }
    } else if (const auto* resolved = std::get_if<StepResolved>(&body)) {
      add(ResolveCommand{resolved->step, resolved->applied});
    } else if (const auto* abort = std::get_if<AbortRequested>(&body)) {
      const auto* resumed =
          i + 1 < events.size() ? std::get_if<RunResumed>(&events[i + 1].body) : nullptr;
      add(AbortCommand{abort->reason, resumed == nullptr ? RunResumed::PlanFileNote::kUnchanged
                                                         : resumed->plan_file_note});
      if (resumed != nullptr) ++i;  // the abort's own resume
    } else if (const auto* resumed = std::get_if<RunResumed>(&body)) {
      add(ResumeCommand{resumed->plan_file_note});
    } else if (const auto* note = std::get_if<NoteAdded>(&body)) {
      add(NoteCommand{note->text, note->queue_id});
    } else if (const auto* triage = std::get_if<TriageRecorded>(&body)) {
      add(TriageCommand{triage->issue, triage->severity, triage->action, triage->note});
    }
  }
  return commands;
}

std::string_view ToString(StepChange::Kind kind) {
  switch (kind) {
    case StepChange::Kind::kAdded: return "added";
    case StepChange::Kind::kRemoved: return "removed";
    case StepChange::Kind::kRenamed: return "renamed";
  }
  return "?";
}

std::vector<StepChange> DiffSteps(const plan::Plan& journaled, const plan::Plan& replayed) {
  auto unshared = [](const plan::Plan& plan, const plan::Plan& other) {
    std::vector<bool> out;
    for (const plan::Step& step : plan.steps) out.push_back(other.FindStep(step.id) == nullptr);
    return out;
  };
  const std::vector<bool> removed = unshared(journaled, replayed);
  std::vector<bool> added = unshared(replayed, journaled);
  std::vector<StepChange> changes;
  for (std::size_t i = 0; i < journaled.steps.size(); ++i) {
    if (!removed[i]) continue;
    const plan::Step& old_step = journaled.steps[i];
    if (i < replayed.steps.size() && added[i] &&
        SameAction(old_step.action, replayed.steps[i].action)) {
      changes.push_back({StepChange::Kind::kRenamed, old_step.id, replayed.steps[i].id, i + 1});
      added[i] = false;
    } else {
      changes.push_back({StepChange::Kind::kRemoved, old_step.id, "", i + 1});
    }
  }
  for (std::size_t i = 0; i < replayed.steps.size(); ++i) {
    if (added[i]) changes.push_back({StepChange::Kind::kAdded, replayed.steps[i].id, "", i + 1});
  }
  return changes;
}

std::map<std::string, std::string, std::less<>> Renames(const std::vector<StepChange>& changes) {
  std::map<std::string, std::string, std::less<>> renamed;
  for (const StepChange& change : changes) {
    if (change.kind == StepChange::Kind::kRenamed) renamed[change.id] = change.new_id;
  }
  return renamed;
}

Result<ReplaySummary> Replay(std::span<const Event> events, const plan::Plan& plan,
                             const ReplayOptions& options) {
  Replayer replayer(plan, options);
  RunState state;
  for (const Event& event : events) {
    if (replayer.Check(state, event)) break;
    BACKOUT_RETURN_IF_ERROR(Apply(state, event));
  }
  return std::move(replayer).TakeSummary();
}

bool Replayer::Diverges(const Event& event, int decision, std::string derived) {
  Divergence d{.decision = decision,
               .seq = event.seq,
               .event_type = std::string(TypeName(event.body)),
               .recorded = DescribeEvent(event.body),
               .derived = std::move(derived)};
  if (!summary_.divergence) {
    summary_.divergence = std::move(d);
  } else {
    summary_.later_divergences.push_back(std::move(d));
  }
  return options_.scope == ReplayScope::kFirstDivergence;
}

bool Replayer::Check(const RunState& before, const Event& event) {
  const EventBody* previous = previous_request_ ? &*previous_request_ : nullptr;
  bool stops = false;
  if (std::optional<Command> recorded = RecordedDecision(event.body, previous)) {
    ++summary_.decisions_checked;
    const Command derived = DecideOnPlan(before, plan_, options_);
    stops = !(WithoutDelay(derived) == Renamed(*recorded, options_)) &&
            Diverges(event, summary_.decisions_checked, Describe(derived));
  } else if (ApprovedUnasked(before, event.body)) {
    stops = Diverges(event, 0,
                     fmt::format("{}; the step was not awaiting approval, which "
                                 "`backout approve` requires",
                                 Describe(DecideOnPlan(before, plan_, options_))));
  }
  // Only an ApprovalRequested matters as the event before the next (RecordedDecision).
  if (std::holds_alternative<ApprovalRequested>(event.body)) {
    previous_request_ = event.body;
  } else {
    previous_request_.reset();
  }
  return stops;
}

}  // namespace backout::sm
