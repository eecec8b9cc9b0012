// Plan test specs (`backout test PLAN SPEC`, docs/plan-tests.md): scenarios a team scripts
// against a plan ("if restore-files fails, maintenance-off still runs and the run ends
// failed") and the path each one must take. A scenario is run by the state machine alone
// (scenarios/scenarios.h, over sm::Simulate): no adapter, no target, no journal, no secret.
//
// ParseSpec is pure: it reads only the text and the plan it is given, and reports every
// problem with file:line:col (unknown keys and step ids with a did-you-mean). Thread safety:
// plain values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::scenarios {

// What the operator does when the run pauses, applied to the step it paused at.
enum class OperatorAction { kAbort, kResume, kApprove, kResolveApplied, kResolveNotApplied };
std::string_view ToString(OperatorAction action);

// What happens in a scenario (a spec's `when:`).
struct When {
  std::vector<std::string> fails;      // these steps fail ...
  std::vector<std::string> times_out;  // ... or time out: at every attempt,
  std::optional<int> times;            // or only at the first `times` attempts
  // This step's first attempt is in doubt (the runner dies after it started); a later
  // attempt succeeds. `check` is what its `check:` finds then (a step with a check only).
  std::string in_doubt;
  std::optional<sm::StepChecked::Finding> check;
  std::vector<std::string> refuse_approval;  // approval steps not approved up front
  std::string abort_at;                      // an abort is requested before this step starts
  std::vector<OperatorAction> operator_actions;  // one per pause, in order
};

// What must hold of the path (a spec's `expect:`); every field is optional.
struct Expect {
  std::optional<sm::RunStatus> status;  // how the run ends (kPaused: it stops paused)
  std::vector<std::string> runs;          // started at least once
  std::vector<std::string> does_not_run;  // never started
  std::vector<std::string> skips;         // skipped
  std::vector<std::string> succeeds;      // ended succeeded
  std::vector<std::string> fails;         // ended failed
  std::optional<std::vector<std::string>> pauses_at;  // every pause, in order, exactly
  std::optional<std::vector<std::string>> started;    // every attempt started, in order, exactly
};

struct Case {
  std::string name;
  When when;
  std::optional<Expect> expect;  // none for the built-in scenarios: only the path is shown
  plan::SourceLoc loc;           // the scenario in the spec ({0, 0} for a built-in one)
};

struct Spec {
  std::string file;
  std::vector<Case> cases;
};

struct SpecParse {
  std::optional<Spec> spec;                // set when there is no error
  std::vector<plan::Diagnostic> diagnostics;

  bool ok() const { return spec.has_value(); }
};

// Parses a spec written for `plan` (every step id it names must be one of the plan's).
SpecParse ParseSpec(std::string_view text, std::string_view source_file, const plan::Plan& plan);

}  // namespace backout::scenarios
