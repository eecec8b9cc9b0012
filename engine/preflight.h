// Preflight: everything about a plan that can be known before its first effect, asked of the
// adapters (Adapter::Preflight) for every step, with nothing changed on any target. `run`
// refuses a plan with a failed check before the run is created (exit 2), `resume` before a
// run's first step, `validate --connect` prints every finding.
//
// Each step's action (and its `check`, when it has one) is asked with its target config and
// params expanded as the engine expands them when the step runs: `${VAR}` from the
// environment; `${steps.ID.outputs.PATH}` is left as the literal reference (known only at
// run time: the adapters skip what depends on it). Findings with the same target, check and
// status from several steps are reported once, with every step that led to them.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "base/env.h"
#include "plan/plan.h"
#include "statemachine/events.h"

namespace backout::engine {

struct PreflightItem {
  std::string target;              // the target's name; "" for an action without a target
  std::vector<std::string> steps;  // the steps that led to the check, in plan order
  std::string check;               // what was checked (never a secret)
  Status status;                   // OK, or why the step would fail
};

struct PreflightResult {
  std::vector<PreflightItem> items;  // in plan order of their first step

  bool ok() const;
  int failed() const;  // the number of items whose status is not OK
  // The passed checks, as journaled in RunStarted / RunResumed (mode kChecked). Only a
  // result that is ok() is journaled.
  sm::PreflightRecord Record() const;
};

struct PreflightOptions {
  const adapters::Registry* registry = nullptr;  // not owned
  Env* env = Env::Default();                     // `${VAR}` values; not owned
  std::filesystem::path base_dir;                // the plan file's directory
  const std::atomic<bool>* cancel = nullptr;
  // Values no finding may carry besides the expanded `${VAR}` values (which are scrubbed
  // always): the journal key's text.
  std::vector<std::string> secrets;
  // The captures the plan's `capture.NAME` references resolved to (sm::RunStarted::captures):
  // a restore from one is checked as a restore from its backup file.
  nlohmann::json captures = nlohmann::json::array();
};

// Runs every step's preflight in plan order. Never changes a target. `plan` has passed
// validation (every target exists). An adapter that throws (a bug) is a failed finding, never
// a crash.
PreflightResult Preflight(const plan::Plan& plan, const PreflightOptions& options);

// "step restore (target appdb): restore source backups/pre.db does not exist": one line for
// a finding, as `run` prints a failed one and `validate --connect` every one.
std::string DescribeFinding(const PreflightItem& item);

}  // namespace backout::engine
