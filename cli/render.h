// How runs and events look on the terminal and as JSON (status, events).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/journal.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::cli {

nlohmann::json RunToJson(const std::string& run_id, const sm::RunState& state,
                         std::size_t event_count);
std::string RunToText(const std::string& run_id, const sm::RunState& state,
                      std::size_t event_count);
// One line per run for `status` without a run id.
std::string RunSummaryLine(const std::string& run_id, const sm::RunState& state);

nlohmann::json EventToJson(const journal::Record& record);
std::string EventToText(const journal::Record& record, const sm::Event& event);


}  // namespace backout::cli
