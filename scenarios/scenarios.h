// Running plan test scenarios (`backout test`, docs/plan-tests.md) on the state machine alone:
// each scenario (a spec's, scenarios/spec.h, or a built-in one) becomes an sm::Scenario and
// sm::Simulate derives the path, as the plan preview derives its failure paths; the spec's
// expectations are then checked against that path.
//
// Pure: no adapter, no target, no journal, no environment. Thread safety: plain values.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "plan/plan.h"
#include "scenarios/spec.h"
#include "statemachine/simulate.h"

namespace backout::scenarios {

// The built-in scenarios of a plan, in plan order: everything succeeds; then for each step:
// it fails; it times out; it is found in doubt (an idempotent step runs again; a step with a
// check: the check finds it applied, not applied, or cannot tell; otherwise the operator
// resolves it applied and not applied); an abort is requested before it; for an approval: it
// is not given (the run pauses) and it is refused (aborted at the gate). A scenario that
// stops at a pause (on_failure: pause, an operator's answer awaited) also has its variant
// "..., aborted at the pause".
std::vector<Case> BuiltinCases(const plan::Plan& plan);

struct Outcome {
  std::string name;
  Status error;             // the scenario could not be run (an operator action refused, ...)
  sm::SimulatedPath path;   // when it ran
  std::vector<std::string> failures;  // the expectations that did not hold, one line each

  bool passed() const { return error.ok() && failures.empty(); }
};

// Simulates `c` on `plan` (checked: the ids `c` names are the plan's) and checks its
// expectations. An operator action is applied to the step the run paused at; an action left
// over when the run does not pause again is an error of the scenario.
Outcome RunCase(const plan::Plan& plan, const Case& c);

// A scenario's outcome as JSON (docs/plan-tests.md): name, passed, error, failures, and the
// path: the plan preview's fields (sm::SimulatedPathJson) plus succeeded, failed and pauses.
nlohmann::json OutcomeJson(const Outcome& outcome);

// The outcome for people: "ok   NAME" (or "FAIL NAME" with each failure), then the path:
// steps run, skipped, `always` steps, pauses, final status.
std::string OutcomeText(const Outcome& outcome);

}  // namespace backout::scenarios
