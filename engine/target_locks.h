// Target locks: the runner lock each database target's adapter keeps (adapters/adapter.h,
// Adapter::Lock), taken by the engine before anything of a step is journaled.
//
// Why here and not inside a step: a lock that cannot be had is not something a step did.
// Taken inside the adapter's Run, "another runner holds the database" became a StepFailed,
// and the run could end `failed` because a second runner, or the dying session of this
// run's own killed runner, was in the way. Taken before StepStarted, it never becomes a step
// outcome: a fresh `run` is refused before its run is created (exit 5), and a run under way
// pauses (RunPaused{locked}, exit 3) with the holder named, to be resumed later.
//
// Only kLocked and kCancelled from an adapter are acted on. Any other failure to lock (the
// server is down, the directory is not writable) is left to the step, which meets the same
// failure in Run and journals it as before (retry, on_failure).
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include "adapters/adapter.h"
#include "base/env.h"
#include "base/status.h"
#include "engine/rehearsal.h"
#include "plan/plan.h"

namespace backout::engine {

struct LockContext {
  const adapters::Registry* registry = nullptr;
  Env* env = nullptr;  // ${VAR} in target configs
  std::string run_id;
  std::filesystem::path base_dir;  // the plan's directory
  const std::atomic<bool>* cancel = nullptr;
  const RehearsalCopies* copies = nullptr;  // a rehearsal locks its copies, not the originals
  // How long a holder of this same run (a killed runner whose session is still closing) is
  // waited for.
  std::chrono::milliseconds same_run_wait{30000};
};

// Locks target `name` of `plan`. Ok also when the target has no lock, or when locking failed
// in a way the step itself will report (see above). kLocked naming the target and the
// holder; kCancelled when SIGINT/SIGTERM came while waiting.
Status LockTarget(const plan::Plan& plan, const std::string& name, const LockContext& context);

// Locks every target that a step or a check of `plan` uses, stopping at the first refusal.
Status LockPlanTargets(const plan::Plan& plan, const LockContext& context);

}  // namespace backout::engine
