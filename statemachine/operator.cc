#include "statemachine/operator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "base/suggest.h"
#include "base/time.h"

namespace backout::sm {
namespace {

Status AlreadyFinished(const RunState& state, std::string_view run_id) {
  return Status::FailedPrecondition(
      fmt::format("run {} has already {}", run_id, ToString(state.status)));
}

// "run R has no step S", with the nearest step id of the run when S looks like a typo of it.
Status NoSuchStep(const RunState& state, std::string_view run_id, const std::string& step) {
  std::vector<std::string> ids;
  for (const StepState& st : state.steps) ids.push_back(st.id);
  return Status::NotFound(
      fmt::format("run {} has no step {}{}", run_id, step, DidYouMean(step, ids)));
}

// RunResumed, then StepInDoubt for each step whose attempt has no outcome.
EventBatch ResumeEvents(const RunState& state, RunResumed::PlanFileNote plan_file) {
  EventBatch events{RunResumed{plan_file}};
  for (const StepState& st : state.steps) {
    if (st.status == StepStatus::kRunning) events.push_back(StepInDoubt{st.id, st.attempts});
  }
  return events;
}

// Each distinct value of `field` in the plan's triggers, in plan order, comma-separated.
std::string DistinctTriggerValues(const plan::Plan& plan, std::string plan::Trigger::*field) {
  std::vector<std::string> seen;
  for (const plan::Trigger& t : plan.triggers) {
    if (std::find(seen.begin(), seen.end(), t.*field) == seen.end()) seen.push_back(t.*field);
  }
  return fmt::format("{}", fmt::join(seen, ", "));
}

Result<EventBatch> AcceptOne(const RunState& state, const plan::Plan& plan,
                             std::string_view run_id, const ApproveCommand& command) {
  BACKOUT_RETURN_IF_ERROR(CheckApprovals(plan, {{command.step, command.phrase}}));
  const StepState* st = state.FindStep(command.step);
  if (st == nullptr) return NoSuchStep(state, run_id, command.step);
  if (st->status != StepStatus::kAwaitingApproval) {
    return Status::FailedPrecondition(fmt::format("step {} is {}, not awaiting approval",
                                                  command.step, ToString(st->status)));
  }
  return EventBatch{
      ApprovalGranted{command.step, command.phrase, ApprovalGranted::Via::kApproveCommand}};
}

Result<EventBatch> AcceptOne(const RunState& state, const plan::Plan&,
                             std::string_view run_id, const ResolveCommand& command) {
  const StepState* st = state.FindStep(command.step);
  if (st == nullptr) return NoSuchStep(state, run_id, command.step);
  if (st->status != StepStatus::kInDoubt) {
    return Status::FailedPrecondition(
        fmt::format("step {} is {}, not in doubt", command.step, ToString(st->status)));
  }
  return EventBatch{StepResolved{command.step, command.applied}};
}

Result<EventBatch> AcceptOne(const RunState& state, const plan::Plan&,
                             std::string_view run_id, const ResumeCommand& command) {
  if (state.Finished()) return AlreadyFinished(state, run_id);
  return ResumeEvents(state, command.plan_file);
}

Result<EventBatch> AcceptOne(const RunState& state, const plan::Plan&,
                             std::string_view run_id, const AbortCommand& command) {
  if (state.Finished()) return AlreadyFinished(state, run_id);
  // A second abort journals its reason too (the post-mortem keeps every reason given).
  EventBatch events{AbortRequested{command.reason}};
  for (EventBody& e : ResumeEvents(state, command.plan_file)) events.push_back(std::move(e));
  return events;
}

Result<EventBatch> AcceptOne(const RunState& state, const plan::Plan&,
                             std::string_view, const NoteCommand& command) {
  if (!command.queue_id.empty() && state.queued_notes_journaled.contains(command.queue_id)) {
    return EventBatch{};
  }
  return EventBatch{NoteAdded{command.text, command.queue_id}};
}

Result<EventBatch> AcceptOne(const RunState&, const plan::Plan&,
                             std::string_view, const TriageCommand& command) {
  return EventBatch{TriageRecorded{command.issue, command.severity, command.action, command.note}};
}

}  // namespace

Result<EventBatch> Accept(const RunState& state, const plan::Plan& plan, std::string_view run_id,
                          const OperatorCommand& command) {
  return std::visit([&](const auto& c) { return AcceptOne(state, plan, run_id, c); }, command);
}

Status CheckApprovals(const plan::Plan& plan,
                      const std::map<std::string, std::string>& approvals) {
  for (const auto& [id, phrase] : approvals) {
    const plan::Step* step = plan.FindStep(id);
    if (step == nullptr) {
      std::vector<std::string> ids;
      for (const plan::Step& s : plan.steps) ids.push_back(s.id);
      return Status::InvalidArgument(
          fmt::format("the plan has no step '{}'{}", id, DidYouMean(id, ids)));
    }
    if (step->action.kind != "approval") {
      return Status::InvalidArgument(fmt::format("step '{}' is not an approval step", id));
    }
    if (step->action.params.value.value("phrase", "") != phrase) {
      return Status::InvalidArgument(
          fmt::format("that is not the confirmation phrase of step '{}'", id));
    }
  }
  return Status::Ok();
}

Result<TriageCommand> FindTrigger(const plan::Plan& plan, const std::string& issue,
                                  const std::string& severity) {
  if (const plan::Trigger* t = plan.FindTrigger(issue, severity)) {
    return TriageCommand{t->issue, t->severity, t->action, t->note};
  }
  if (plan.triggers.empty()) {
    return Status::InvalidArgument(
        fmt::format("plan '{}' has no triggers: section (docs/plan-format.md)", plan.name));
  }
  return Status::InvalidArgument(fmt::format(
      "plan '{}' has no trigger for issue '{}' at severity '{}'\n  issue types: {}\n  "
      "severities: {}",
      plan.name, issue, severity, DistinctTriggerValues(plan, &plan::Trigger::issue),
      DistinctTriggerValues(plan, &plan::Trigger::severity)));
}

Status CheckRunAgain(const plan::Plan& plan, const std::vector<EarlierRun>& earlier, bool again,
                     bool rehearse) {
  if (again || rehearse) return Status::Ok();
  const EarlierRun* latest = nullptr;
  for (const EarlierRun& run : earlier) {
    if (run.rehearsal || run.status != RunStatus::kSucceeded || run.plan_name != plan.name) {
      continue;
    }
    if (latest == nullptr || run.last_event_us > latest->last_event_us) latest = &run;
  }
  if (latest == nullptr) return Status::Ok();
  const std::string text =
      latest->plan_sha256 == plan.sha256
          ? std::string("the same plan text")
          : fmt::format("another text of the plan, sha256 {}", latest->plan_sha256.substr(0, 12));
  return Status::FailedPrecondition(fmt::format(
      "plan '{}' already succeeded in run {} (finished {}, {}); running it again repeats every "
      "step: add --again to run it anyway",
      plan.name, latest->run_id, FormatUtcMicros(latest->last_event_us), text));
}

EventBody EventOfAnswer(const StartStep& command, AdapterAnswer answer) {
  if (answer.status.code() == Code::kCancelled) {
    return RunPaused{RunPaused::Reason::kSignal, command.step};
  }
  if (answer.status.ok()) {
    return StepSucceeded{command.step, command.attempt, std::move(answer.outputs)};
  }
  return StepFailed{command.step, command.attempt, answer.status.message(),
                    std::move(answer.outputs)};
}

EventBody EventOfAnswer(const RunCheck& command, AdapterAnswer answer) {
  if (answer.status.code() == Code::kCancelled) return RunPaused{RunPaused::Reason::kSignal, ""};
  StepChecked checked{command.step, StepChecked::Finding::kUnknown, answer.status.message()};
  if (answer.status.ok()) {
    checked.finding = StepChecked::Finding::kPresent;
    checked.detail = "the check found the effect in place";
  } else if (answer.status.code() == Code::kExpectationFailed) {
    checked.finding = StepChecked::Finding::kAbsent;
  }
  return checked;
}

}  // namespace backout::sm
