// How runs and events look on the terminal and as JSON (status, events).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/journal.h"
#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::cli {

// The output of `report`, `export` and `plan`: `text` on stdout when `output_file` is empty,
// else written to it atomically (mode 0600). False, after printing "backout: error: cannot
// write the WHAT: ..." on stderr, when the file cannot be written (a usage error, exit 2: the
// -o path is unusable, not the journal).
bool WriteOutput(const std::string& text, const std::string& output_file, std::string_view what);

// What `status` knows of a run besides its journal: whether a runner holds it now.
struct RunLiveness {
  std::optional<journal::RunHolder> runner;  // journal::Journal::Holder
  std::size_t queued_notes = 0;              // journal/note_queue.h, not journaled yet
};
// A run that is running by its journal but that no runner holds: its runner died (SIGKILL,
// power, lost host) and only `backout resume` carries it on.
bool Interrupted(const sm::RunState& state, const RunLiveness& liveness);

nlohmann::json RunToJson(const std::string& run_id, const sm::RunState& state,
                         std::size_t event_count, const RunLiveness& liveness);
std::string RunToText(const std::string& run_id, const sm::RunState& state,
                      std::size_t event_count, const RunLiveness& liveness);
// One line per run for `status` without a run id.
std::string RunSummaryLine(const std::string& run_id, const sm::RunState& state,
                           const RunLiveness& liveness);

// What `backout abort` did, for the operator, once the run has wound down as far as it could
// (state: after the abort and its resume): that the abort and its reason(s) are journaled,
// which steps will not run, how each `always` step went (a failed one: its error, and that
// what it does is not done), which steps are left in doubt, and the run's status now.
std::string AbortOutcomeText(const std::string& run_id, const sm::RunState& state,
                             const plan::Plan& plan);

// One event of `events --json`: the record's fields, with os_user and os_uid null when the
// record does not know its OS user (record format version 1).
nlohmann::json EventToJson(const journal::Record& record);
// One line of `events`: "#SEQ TIME OPERATOR@HOST as OS_USER (uid N) TYPE DETAIL", the OS user
// flagged "[mismatch]" when it is not the operator, and left out when unknown.
std::string EventToText(const journal::Record& record, const sm::Event& event);


}  // namespace backout::cli
