// How runs and events look on the terminal and as JSON (status, events).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/journal.h"
#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::cli {

nlohmann::json RunToJson(const std::string& run_id, const sm::RunState& state,
                         std::size_t event_count);
std::string RunToText(const std::string& run_id, const sm::RunState& state,
                      std::size_t event_count);
// One line per run for `status` without a run id.
std::string RunSummaryLine(const std::string& run_id, const sm::RunState& state);

// What `backout abort` did, for the operator, once the run has wound down as far as it could
// (state: after the abort and its resume): that the abort and its reason(s) are journaled,
// which steps will not run, how each `always` step went (a failed one: its error, and that
// what it does is not done), which steps are left in doubt, and the run's status now.
std::string AbortOutcomeText(const std::string& run_id, const sm::RunState& state,
                             const plan::Plan& plan);

nlohmann::json EventToJson(const journal::Record& record);
std::string EventToText(const journal::Record& record, const sm::Event& event);


}  // namespace backout::cli
