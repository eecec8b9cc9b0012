// The state of a run, rebuilt purely from its events: fold(events) -> state.
//
// Every event is checked against the transition table below before it changes anything; an
// event the table does not allow in the current state is a journal error (kCorruption naming
// the event), never something to skip. The engine applies each event to its in-memory state
// BEFORE journaling it, so a bug that would journal an illegal event fails instead.
//
// Pure: no I/O, no clock, no randomness. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "statemachine/events.h"

namespace backout::sm {

enum class RunStatus { kNotStarted, kRunning, kPaused, kSucceeded, kFailed, kAborted };

enum class StepStatus {
  kPending,           // not run yet, or to be run again (check said absent, resolved not applied)
  kRunning,           // StepStarted journaled, outcome not yet
  kInDoubt,           // started, and a resume found no outcome
  kAwaitingApproval,  // an approval step waiting for its phrase
  kSucceeded,
  kFailed,            // the last attempt failed (a retry may follow)
  kSkipped,
};

std::string_view ToString(RunStatus s);
std::string_view ToString(StepStatus s);

struct RunState;
// The run's status for people: "running", "paused (approval: confirm)",
// "running, abort requested".
std::string DescribeStatus(const RunState& state);

struct StepState {
  std::string id;
  StepStatus status = StepStatus::kPending;
  int attempts = 0;           // StepStarted events so far
  int attempts_in_round = 0;  // since the last operator-driven retry (resume after a pause)
  nlohmann::json outputs = nlohmann::json::object();
  // Every StepCheckpoint of the step, of all its attempts, in journal order: handed to the
  // step's next attempt (adapters::Invocation::checkpoints); no decision reads them.
  nlohmann::json checkpoints = nlohmann::json::array();
  std::string error;          // last failure
  std::string recovered;      // "" | "check" | "resolve": how an in-doubt step was settled
  bool check_inconclusive = false;  // the check could not tell: an operator must resolve
  std::string skip_reason;
  std::string approved_by;
  std::int64_t first_started_us = 0;
  std::int64_t finished_us = 0;
};

struct RunState {
  RunStatus status = RunStatus::kNotStarted;
  RunStarted start;             // the RunStarted payload (plan text and hash)
  bool abort_requested = false;
  // Every AbortRequested's reason, in journal order: the first one aborted the run; later
  // `abort` commands add theirs (none is dropped).
  std::vector<std::string> abort_reasons;
  std::optional<RunPaused> pause;  // why the run is (or was last) paused
  // Queue ids of the queued notes journaled so far (NoteAdded::queue_id).
  std::set<std::string, std::less<>> queued_notes_journaled;
  std::vector<StepState> steps;    // plan order
  std::map<std::string, std::size_t, std::less<>> step_index;
  std::uint64_t last_seq = 0;
  std::int64_t started_us = 0;
  std::int64_t last_event_us = 0;

  const StepState* FindStep(std::string_view id) const;
  bool Finished() const {
    return status == RunStatus::kSucceeded || status == RunStatus::kFailed ||
           status == RunStatus::kAborted;
  }
};

// One row of the step transition table: `event` moves a step from `from` to `to`.
// `when` selects by payload where the payload picks the target state ("present",
// "applied", ...); empty matches any payload. `note` says why the row exists.
struct StepTransition {
  std::string_view event;
  StepStatus from;
  StepStatus to;
  std::string_view when;
  std::string_view note;
};
std::span<const StepTransition> StepTransitionTable();

// One row of the run transition table.
struct RunTransition {
  std::string_view event;
  RunStatus from;
  RunStatus to;
  std::string_view when;
  std::string_view note;
};
std::span<const RunTransition> RunTransitionTable();

// Applies one event. On error (kCorruption, naming the event's seq) `state` is unchanged.
Status Apply(RunState& state, const Event& event);

// Folds a whole run. Events must be in sequence order.
Result<RunState> Fold(std::span<const Event> events);

}  // namespace backout::sm
