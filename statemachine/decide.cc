#include "statemachine/decide.h"

#include <fmt/format.h>

#include "base/time.h"

namespace backout::sm {
namespace {

bool RetriesLeft(const StepState& st, const plan::Step& step) {
#ifdef BACKOUT_DECIDE_MUTANT
  // Exists only for tests/replay_mutant_test.cc: one deliberately wrong rule (one retry too
  // many) that replaying the recorded fixtures must catch. Never defined in a real build.
  return st.attempts_in_round <= step.retry.attempts;
#else
  return st.attempts_in_round < step.retry.attempts;
#endif
}

std::chrono::milliseconds BackoffBefore(int attempt_in_round, const plan::Step& step) {
  // attempt_in_round is the number of the attempt about to start (2, 3, ...).
  const int doublings = std::min(attempt_in_round - 2, 20);
  return step.retry.backoff * (std::int64_t{1} << std::max(doublings, 0));
}

bool FailedFinally(const StepState& st, const plan::Step& step) {
  return st.status == StepStatus::kFailed && !RetriesLeft(st, step);
}

}  // namespace

Command Decide(const RunState& state, const plan::Plan& plan) {
  if (state.status == RunStatus::kNotStarted) return Idle{"the run has not started"};
  if (state.Finished()) return Idle{fmt::format("the run has {}", ToString(state.status))};
  if (state.status == RunStatus::kPaused) return Idle{"the run is paused"};
  if (state.steps.size() != plan.steps.size()) {
    return Idle{"the journaled run and the plan disagree on the steps"};
  }

  const bool aborting = state.abort_requested;
  bool failing = false;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const plan::Step& step = plan.steps[i];
    const StepState& st = state.steps[i];
    const bool winding_down = (aborting || failing) && !step.always;
    const std::string wind_down_reason =
        aborting ? "the run was aborted" : "an earlier step failed";

    switch (st.status) {
      case StepStatus::kSucceeded:
      case StepStatus::kSkipped:
        continue;

      case StepStatus::kFailed:
        if (RetriesLeft(st, step) && !winding_down) {
          return StartStep{step.id, st.attempts + 1,
                           BackoffBefore(st.attempts_in_round + 1, step)};
        }
        if (!FailedFinally(st, step)) continue;  // a retry cut short by an abort
        if (step.on_failure == plan::OnFailure::kAbort) failing = true;
        if (step.on_failure == plan::OnFailure::kPause && !winding_down) {
          return PauseRun{RunPaused::Reason::kStepFailed, step.id};
        }
        continue;

      case StepStatus::kInDoubt:
        if (winding_down) continue;
        switch (InDoubtRuleOf(step)) {
          case InDoubtRule::kRunAgain: return StartStep{step.id, st.attempts + 1, {}};
          case InDoubtRule::kCheckDecides:
            if (!st.check_inconclusive) return RunCheck{step.id};
            break;
          case InDoubtRule::kOperatorResolves: break;
        }
        return AwaitResolve{step.id};

      case StepStatus::kPending:
      case StepStatus::kAwaitingApproval:
        if (winding_down) return SkipStep{step.id, wind_down_reason};
        if (state.start.rehearsal) {
          if (const plan::Target* skipped = plan.RehearsalSkipTarget(step)) {
            return SkipStep{step.id, fmt::format("rehearsal: target '{}' is `rehearsal: skip`",
                                                 skipped->name)};
          }
        }
        if (step.action.kind == "approval") return AwaitApproval{step.id};
        return StartStep{step.id, st.attempts + 1, {}};

      case StepStatus::kRunning:
        // Only a live engine has a running step, and it does not ask until the step ends;
        // after a crash, resume marks such steps in doubt first.
        return Idle{fmt::format("step '{}' is running", step.id)};
    }
  }
  if (aborting) return FinishRun{RunFinished::Ending::kAborted};
  if (failing) return FinishRun{RunFinished::Ending::kFailed};
  return FinishRun{RunFinished::Ending::kSucceeded};
}

InDoubtRule InDoubtRuleOf(const plan::Step& step) {
  if (step.IsIdempotent()) return InDoubtRule::kRunAgain;
  if (step.check) return InDoubtRule::kCheckDecides;
  return InDoubtRule::kOperatorResolves;
}

RunFinished::Ending EndingSoFar(const RunState& state, const plan::Plan& plan) {
  if (state.status == RunStatus::kAborted || state.abort_requested) {
    return RunFinished::Ending::kAborted;
  }
  if (state.status == RunStatus::kFailed) return RunFinished::Ending::kFailed;
  for (std::size_t i = 0; i < plan.steps.size() && i < state.steps.size(); ++i) {
    if (FailedFinally(state.steps[i], plan.steps[i]) &&
        plan.steps[i].on_failure == plan::OnFailure::kAbort) {
      return RunFinished::Ending::kFailed;
    }
  }
  return RunFinished::Ending::kSucceeded;
}

std::string Describe(const Command& command) {
  return std::visit(
      [](const auto& c) -> std::string {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, StartStep>) {
          if (c.delay.count() > 0) {
            return fmt::format("StartStep {} attempt {} after {}", c.step, c.attempt,
                               FormatDuration(c.delay));
          }
          return fmt::format("StartStep {} attempt {}", c.step, c.attempt);
        } else if constexpr (std::is_same_v<T, RunCheck>) {
          return fmt::format("RunCheck {}", c.step);
        } else if constexpr (std::is_same_v<T, AwaitApproval>) {
          return fmt::format("AwaitApproval {}", c.step);
        } else if constexpr (std::is_same_v<T, AwaitResolve>) {
          return fmt::format("AwaitResolve {}", c.step);
        } else if constexpr (std::is_same_v<T, SkipStep>) {
          return fmt::format("SkipStep {} ({})", c.step, c.reason);
        } else if constexpr (std::is_same_v<T, PauseRun>) {
          return fmt::format("PauseRun {} {}", ToString(c.reason), c.step);
        } else if constexpr (std::is_same_v<T, FinishRun>) {
          return fmt::format("FinishRun {}", ToString(c.ending));
        } else {
          return fmt::format("Idle ({})", c.why);
        }
      },
      command);
}

}  // namespace backout::sm
