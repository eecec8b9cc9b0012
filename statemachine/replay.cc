#include "statemachine/replay.h"

#include <fmt/format.h>

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

Result<ReplaySummary> Replay(std::span<const Event> events, const plan::Plan& plan) {
  ReplaySummary summary;
  RunState state;
  const EventBody* previous = nullptr;
  for (const Event& event : events) {
    if (std::optional<Command> recorded = RecordedDecision(event.body, previous)) {
      ++summary.decisions_checked;
      const Command derived = Decide(state, plan);
      if (!(WithoutDelay(derived) == *recorded)) {
        summary.divergence = Divergence{.seq = event.seq,
                                        .event_type = std::string(TypeName(event.body)),
                                        .recorded = DescribeEvent(event.body),
                                        .derived = Describe(derived)};
        return summary;
      }
    }
    BACKOUT_RETURN_IF_ERROR(Apply(state, event));
    previous = &event.body;
  }
  return summary;
}

}  // namespace backout::sm
