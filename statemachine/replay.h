// Replay: re-derive every decision a recorded run made, with today's Decide().
//
// A run's journal holds two kinds of events. Inputs come from the world and the operators
// (an adapter's outcome, a resume, an approval given with `backout approve`, a note, ...).
// Decisions are what the engine journaled because Decide() told it to (which step to start,
// which to skip, when to pause, how the run ends). Replay folds the events one by one and, at
// each decision, asks Decide() what it would do in the state just before that event. When
// every answer equals what the journal recorded, today's state machine would have run the
// recorded run the same way; the first disagreement is reported (or, asked for, every one).
// docs/replay.md has the full mapping of events to the commands that produce them.
//
// The plan is normally the one journaled in RunStarted (`backout replay`, `backout verify`).
// It may also be another one (`backout replay --plan FILE`: would this plan decide the same
// on this history?): DiffSteps() says which steps were added, removed or renamed, and the
// recorded state is laid onto that plan's steps by id (a renamed step by its old id).
//
// Pure: no I/O, no clock. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "plan/plan.h"
#include "statemachine/decide.h"
#include "statemachine/events.h"
#include "statemachine/operator.h"

namespace backout::sm {

// A recorded decision that Decide() does not make (or an input it does not allow).
struct Divergence {
  // Which decision, counted from 1 in journal order; 0 for an input (an approval given with
  // `backout approve` for a step that was not awaiting one).
  int decision = 0;
  std::uint64_t seq = 0;
  std::string event_type;  // "StepStarted", ...
  std::string recorded;    // the event: its type and JSON payload
  std::string derived;     // Describe() of what Decide() answers in the state before it
};

struct ReplaySummary {
  // Decisions compared, the divergent one included.
  int decisions_checked = 0;
  std::optional<Divergence> divergence;  // the first one; empty: every decision matches
  // With ReplayScope::kAll, every divergence after the first, in journal order.
  std::vector<Divergence> later_divergences;
};

// How far Replay() goes. kAll keeps folding the recorded events after a divergence, as they
// happened, and compares every later decision too: each later divergence is what the plan
// decides differently *given the recorded path* (a step the plan would have started first
// stays pending, so the decisions after it name that step again).
enum class ReplayScope { kFirstDivergence, kAll };

struct ReplayOptions {
  ReplayScope scope = ReplayScope::kFirstDivergence;
  // Steps of the replayed plan that are steps of the run under another id: the run's id ->
  // the plan's (DiffSteps()). Other steps match by id; a plan step the run does not have is
  // pending throughout, a run step the plan does not have is left out of its state.
  std::map<std::string, std::string, std::less<>> renamed;
};

// How the replayed plan's steps differ from the journaled plan's.
struct StepChange {
  enum class Kind { kAdded, kRemoved, kRenamed };
  Kind kind = Kind::kAdded;
  std::string id;       // the journaled plan's id (removed, renamed) or the new plan's (added)
  std::string new_id;   // renamed: the new plan's id
  std::size_t position = 0;  // 1-based, in the plan that has the step (renamed: both)
};
std::string_view ToString(StepChange::Kind kind);  // "added", "removed", "renamed"

// The steps of `replayed` that `journaled` lacks (added), those of `journaled` that
// `replayed` lacks (removed), and renames: a step is renamed when the two plans have, at the
// same position, steps with different ids neither plan shares, and the same action (kind,
// target and every parameter). Journaled plan order first (removed, renamed), then added.
std::vector<StepChange> DiffSteps(const plan::Plan& journaled, const plan::Plan& replayed);
// The renames among `changes`, as ReplayOptions::renamed wants them.
std::map<std::string, std::string, std::less<>> Renames(const std::vector<StepChange>& changes);

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
// Stops at the first divergence unless `options.scope` is kAll. `plan` is the plan journaled
// in the run's RunStarted, or another one with `options.renamed` from DiffSteps().
//
// One input is checked too: an ApprovalGranted via `backout approve` is a divergence unless
// its step was awaiting approval in the state before it (`approve` refuses anything else, so
// such an event means the gate was passed without the run ever asking; derived: what Decide
// says there). The phrase is not compared: it is in the journaled plan for anyone to copy.
// Errors: kCorruption when an event is not an allowed transition (as Fold).
Result<ReplaySummary> Replay(std::span<const Event> events, const plan::Plan& plan,
                             const ReplayOptions& options = {});

// Replay() one event at a time, for a run read in one pass: Check each event against the
// state the events before it fold to (the caller folds: Apply after Check), until Check says
// the replay stopped. Keeps the summary and, of the events, at most one ApprovalRequested.
// `plan` must outlive the replayer. Not thread-safe.
class Replayer {
 public:
  Replayer(const plan::Plan& plan, ReplayOptions options)
      : plan_(plan), options_(std::move(options)) {}
  // Compares `event`'s decision (if it records one) with what the plan decides in `before`.
  // True when the replay stops at it (its first divergence, with kFirstDivergence); Check
  // must not be called after that.
  bool Check(const RunState& before, const Event& event);
  const ReplaySummary& summary() const { return summary_; }
  ReplaySummary TakeSummary() && { return std::move(summary_); }

 private:
  // Records a divergence at `event`; true when the replay stops there.
  bool Diverges(const Event& event, int decision, std::string derived);

  const plan::Plan& plan_;
  ReplayOptions options_;
  ReplaySummary summary_;
  std::optional<EventBody> previous_request_;  // the event before, if an ApprovalRequested
};

}  // namespace backout::sm
