// decide(state, plan) -> the next command for the engine.
//
// Pure: the same state and plan always give the same command. Each command corresponds to
// the event(s) the engine journals for it, which is what makes replay possible:
//   StartStep      -> StepStarted (then StepSucceeded / StepFailed)
//   RunCheck       -> StepChecked
//   AwaitApproval  -> ApprovalGranted, or ApprovalRequested + RunPaused(approval)
//   AwaitResolve   -> RunPaused(in_doubt)
//   SkipStep       -> StepSkipped
//   PauseRun       -> RunPaused(step_failed)
//   FinishRun      -> RunFinished
//   Idle           -> nothing (the run is finished or paused)
//
// The policy, in plan order, for the first step that is not settled:
//   pending           -> start it (approval steps: await approval); skipped instead when the
//                        run is failing or aborting and the step is not `always`, and in a
//                        rehearsal when its action or check names a `rehearsal: skip` target
//   failed, retries left (attempts_in_round < retry.attempts) -> start the next attempt after
//                        backoff * 2^(n-1)
//   failed, final     -> on_failure continue: settled; abort: settled, the run is failing;
//                        pause: pause the run
//   in doubt          -> idempotent: run again; has a check: run it (unless it was
//                        inconclusive: then await an operator); else await an operator
//                        (while failing or aborting, a non-`always` in-doubt step is left as is)
// When every step is settled: finish as aborted (abort requested), failed (a step failed
// with on_failure abort) or succeeded.
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include "plan/plan.h"
#include "statemachine/state.h"

namespace backout::sm {

struct StartStep {
  std::string step;
  int attempt = 1;
  std::chrono::milliseconds delay{0};  // wait this long first (retry backoff)
  bool operator==(const StartStep&) const = default;
};
struct RunCheck {
  std::string step;
  bool operator==(const RunCheck&) const = default;
};
struct AwaitApproval {
  std::string step;
  bool operator==(const AwaitApproval&) const = default;
};
struct AwaitResolve {
  std::string step;
  bool operator==(const AwaitResolve&) const = default;
};
struct SkipStep {
  std::string step;
  std::string reason;
  bool operator==(const SkipStep&) const = default;
};
struct PauseRun {
  RunPaused::Reason reason = RunPaused::Reason::kStepFailed;
  std::string step;
  bool operator==(const PauseRun&) const = default;
};
struct FinishRun {
  RunFinished::Ending ending = RunFinished::Ending::kSucceeded;
  bool operator==(const FinishRun&) const = default;
};
struct Idle {
  std::string why;
  bool operator==(const Idle&) const = default;
};

using Command = std::variant<StartStep, RunCheck, AwaitApproval, AwaitResolve, SkipStep,
                             PauseRun, FinishRun, Idle>;

// Requires state.start.step_ids to match plan.steps (the engine checks this when it loads a
// run; a mismatch yields Idle with an explanation).
Command Decide(const RunState& state, const plan::Plan& plan);

// What Decide() does with a step a resume finds in doubt (started, no outcome), by the plan
// alone: an idempotent step runs again; else its `check` decides (a check that could not
// tell hands the step to the operator); else the operator resolves it.
enum class InDoubtRule { kRunAgain, kCheckDecides, kOperatorResolves };
InDoubtRule InDoubtRuleOf(const plan::Step& step);

// How the run ends if nothing changes its course, for what is said before it finishes (a
// notify in an `always` step): kAborted once an abort is requested; kFailed once a step has
// failed for good (no retry left) with on_failure abort, or the run finished failed; else
// kSucceeded (so far, while the run is not finished). The same rules Decide() finishes by.
RunFinished::Ending EndingSoFar(const RunState& state, const plan::Plan& plan);

// "StartStep backup attempt 2 after 5.0s", for logs, replay reports and test messages.
std::string Describe(const Command& command);

}  // namespace backout::sm
