// Replay: re-derive every decision a recorded run made, with today's Decide().
//
// A run's journal holds two kinds of events. Inputs come from the world and the operators
// (an adapter's outcome, a resume, an approval given with `backout approve`, a note, ...).
// Decisions are what the engine journaled because Decide() told it to (which step to start,
// which to skip, when to pause, how the run ends). Replay folds the events one by one and, at
// each decision, asks Decide() what it would do in the state just before that event. When
// every answer equals what the journal recorded, today's state machine would have run the
// recorded run the same way; the first disagreement is reported. docs/replay.md has the full
// mapping of events to the commands that produce them.
//
// Pure: no I/O, no clock. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/plan.h"
#include "statemachine/decide.h"
#include "statemachine/events.h"
#include "statemachine/operator.h"

namespace backout::sm {

// The first recorded decision that today's Decide() does not make.
struct Divergence {
  std::uint64_t seq = 0;
  std::string event_type;  // "StepStarted", ...
  std::string recorded;    // the event: its type and JSON payload
  std::string derived;     // Describe() of what Decide() answers in the state before it
};

struct ReplaySummary {
  // Decisions compared, the divergent one included.
  int decisions_checked = 0;
  std::optional<Divergence> divergence;  // empty: every decision matches
};

// The command a decision event records, with StartStep's delay left at zero (the journal
// does not keep it). nullopt for inputs. `previous` is the event before `event` (nullptr for
// the first): an approval gate's ApprovalRequested and the RunPaused or prompted
// ApprovalGranted right after it come from one AwaitApproval, so the second is not a
// decision of its own.
std::optional<Command> RecordedDecision(const EventBody& event, const EventBody* previous);

// The operator commands a run's events record, in journal order: the inverse of Accept()
// (operator.h). ApprovalGranted via `backout approve` -> ApproveCommand, StepResolved ->
// ResolveCommand, AbortRequested and the RunResumed journaled with it -> AbortCommand, any
// other RunResumed -> ResumeCommand, NoteAdded -> NoteCommand, TriageRecorded ->
// TriageCommand. (An abort of a run whose abort was requested already journals what a resume
// does, and reads back as one.)
std::vector<OperatorCommand> RecordedOperatorCommands(std::span<const Event> events);

// Folds `events` and checks every decision among them against Decide(state before, plan).
// Stops at the first divergence. `plan` must be the plan journaled in the run's RunStarted.
// Errors: kCorruption when an event is not an allowed transition (as Fold).
Result<ReplaySummary> Replay(std::span<const Event> events, const plan::Plan& plan);

}  // namespace backout::sm
