// Simulate(plan, scenario) -> the path a run of the plan would take, derived by the state
// machine itself: Decide() says what to do next, the scenario says how each step's attempt
// ends (and what the operator does when the run pauses), and the synthetic events go through
// Apply() exactly as a journaled run's would. Nothing is described by hand, so the failure
// paths that `backout plan` shows are the ones a real run takes.
//
// Pure: no I/O, no clock (each synthetic event is one second after the previous one, plus a
// retry's backoff). Built to be reused: a `backout test PLAN SPEC` can state a scenario and
// compare the path with what it expects. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/operator.h"
#include "statemachine/state.h"

namespace backout::sm {

// How one attempt of a step ends.
struct AttemptResult {
  enum class Kind {
    kSucceeds,
    kFails,     // the adapter answers an error (StepFailed)
    kTimesOut,  // the step's deadline passed (StepFailed with a timeout error)
    kInDoubt,   // the runner dies after StepStarted; a resume finds the step in doubt
  };
  Kind kind = Kind::kSucceeds;
  std::string error;  // the StepFailed error; a default message when empty
  nlohmann::json outputs = nlohmann::json::object();
};

struct Scenario {
  // By step id: how its attempts end, in order; the last entry holds for every later
  // attempt. A step not listed succeeds at every attempt.
  std::map<std::string, std::vector<AttemptResult>> attempts;
  // By step id: what the step's `check:` finds when the step is in doubt. Not listed: the
  // check finds the effect in place.
  std::map<std::string, StepChecked::Finding> checks;
  // By approval step id: false when the approval is not given up front (the run pauses at
  // the gate). Not listed: given (as `run --approve STEP=PHRASE` would).
  std::map<std::string, bool> approvals;
  // An abort requested when the run is about to start this step (before its first attempt).
  std::optional<std::string> abort_before;
  // What the operator does each time the run pauses, in order (one command per pause, each
  // followed by a resume unless it is an abort, which resumes by itself; an approve or a
  // resolve is then resumed). When none is left at a pause, the simulation ends there.
  std::vector<OperatorCommand> on_pause;
  // A guard against a scenario that never ends (a retry loop resumed forever).
  int max_events = 10000;
};

// The path the run took.
struct SimulatedPath {
  RunStatus final_status = RunStatus::kNotStarted;  // kPaused when the run stopped paused
  std::optional<RunPaused> pause;        // where it stopped, when it stopped paused
  std::vector<std::string> started;      // step ids, once per attempt, in order
  // The steps by their status at the end, in plan order.
  std::vector<std::string> succeeded;
  std::vector<std::string> failed;       // the last attempt failed
  std::vector<std::string> skipped;
  std::vector<std::string> always_run;   // `always` steps that were started
  std::vector<RunPaused> pauses;         // every pause on the way, the last one included
  std::vector<std::string> decisions;    // Describe() of every command Decide() gave
  std::vector<Event> events;             // the synthetic journal
  RunState state;                        // the folded end state
};

// Runs the simulation. kInvalidArgument when the scenario names a step the plan does not
// have; Accept()'s refusal of an operator command of on_pause; kFailedPrecondition
// "internal error: ..." when the state machine refuses one of the simulation's events or the
// run does not end within max_events (bugs in the state machine or in this loop).
Result<SimulatedPath> Simulate(const plan::Plan& plan, const Scenario& scenario);

// The scenario "this step fails at every attempt", approvals given, no operator action.
Scenario StepFailsScenario(const std::string& step_id);

// The path as the plan preview (docs/plan-preview.md) and `backout test` (docs/plan-tests.md)
// show it: final_status, paused_at ({reason, step} or null), started, skipped, always_run.
nlohmann::json SimulatedPathJson(const SimulatedPath& path);

}  // namespace backout::sm
