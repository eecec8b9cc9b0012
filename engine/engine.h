// The engine: the only loop with side effects. It asks the state machine what to do next,
// journals the intent, calls the adapter, journals the outcome (design section 2):
//
//   loop: command = Decide(fold(journal), plan)
//         StartStep: append StepStarted (durable) -> adapter.Run -> append outcome (durable)
//         ...
//
// Crash semantics: an effect never starts before its StepStarted is durable, and the next
// decision is never taken before the previous outcome is durable. A SIGKILL anywhere leaves
// a journal from which Resume() continues exactly (in-doubt policy in statemachine/decide.h).
// SIGINT/SIGTERM set the cancel flag: the engine stops at the next safe point (a running
// command is stopped and its step left in doubt), journals RunPaused and returns.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "engine/progress.h"
#include "engine/session.h"
#include "statemachine/state.h"

namespace backout::engine {

struct DriveOptions {
  const adapters::Registry* registry = nullptr;
  // Approvals given up front (--approve STEP=PHRASE); checked against the plan before use
  // (sm::CheckApprovals).
  std::map<std::string, std::string> approvals;
  // Asks the operator on a terminal; returns nullopt at end of input. Empty when there is no
  // terminal: an approval then pauses the run (exit 3).
  std::function<std::optional<std::string>(const std::string& prompt)> ask;
  Progress* progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  // Values no output, error or progress line may carry, besides the `${VAR}` values the
  // engine registers itself (the journal key: a step could still print it from a file).
  std::vector<std::string> secrets;
};

// Runs decisions until the run finishes or pauses; returns the run's status then.
// Errors are journal failures or internal errors (the run is left resumable).
Result<sm::RunStatus> Drive(RunSession& session, const DriveOptions& options);

}  // namespace backout::engine
