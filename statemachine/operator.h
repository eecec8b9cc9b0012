// The rest of the Decider: what an operator's command and an adapter's answer become.
//
// Decide() (decide.h) says what the engine does next; the functions here say which events an
// operator command (approve, resolve, abort, note, triage, resume) journals, or why it is
// refused, and which event an adapter's answer to a StartStep or RunCheck journals. The CLI
// and the engine only parse, call, append and print: every rule about which command is
// allowed when lives here, and replay (replay.h) reads the commands back from the events.
//
// Pure: no I/O, no clock. What needs the world (the plan file on disk, the adapter's answer)
// arrives in the command. Thread safety: plain values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "plan/plan.h"
#include "statemachine/decide.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::sm {

// The events one command journals, as one batch, in order.
using EventBatch = std::vector<EventBody>;

// `backout approve RUN STEP --phrase P`, while the step awaits approval.
struct ApproveCommand {
  std::string step;
  std::string phrase;
  bool operator==(const ApproveCommand&) const = default;
};

// `backout resolve RUN STEP --applied | --not-applied`, for a step in doubt.
struct ResolveCommand {
  std::string step;
  bool applied = false;
  bool operator==(const ResolveCommand&) const = default;
};

// `backout resume RUN` (and the resume that `abort` does): `plan_file` is how the plan file
// on disk compares with the journaled text, found by the caller.
struct ResumeCommand {
  RunResumed::PlanFileNote plan_file = RunResumed::PlanFileNote::kUnchanged;
  bool operator==(const ResumeCommand&) const = default;
};

// `backout abort RUN --reason R`: the abort is requested, then the run is resumed to run its
// `always` steps.
struct AbortCommand {
  std::string reason;
  RunResumed::PlanFileNote plan_file = RunResumed::PlanFileNote::kUnchanged;
  bool operator==(const AbortCommand&) const = default;
};

// `backout note RUN TEXT`, journaled directly (`queue_id` empty) or from the run's note
// queue (journal/note_queue.h) by whoever writes the run next.
struct NoteCommand {
  std::string text;
  std::string queue_id;
  bool operator==(const NoteCommand&) const = default;
};

// `backout triage ... --run RUN`: the recommendation (a row of the plan's `triggers:`) to
// journal. FindTrigger() below finds it.
struct TriageCommand {
  std::string issue;
  std::string severity;
  std::string action;
  std::string note;
  bool operator==(const TriageCommand&) const = default;
};

using OperatorCommand = std::variant<ApproveCommand, ResolveCommand, ResumeCommand,
                                     AbortCommand, NoteCommand, TriageCommand>;

// The events `command` journals, as one batch, or its refusal. `state` and `plan` are a
// run's (the plan journaled in its RunStarted); `run_id` only names the run in messages.
// Refusals:
//   approve: kInvalidArgument as CheckApprovals; kFailedPrecondition "step S is STATUS, not
//            awaiting approval"
//   resolve: kNotFound "run R has no step S"; kFailedPrecondition "step S is STATUS, not in
//            doubt"
//   resume, abort: kFailedPrecondition "run R has already STATUS" for a finished run
//   note, triage: never; a queued note already journaled (its queue_id is in
//            state.queued_notes_journaled) journals nothing, so it is journaled exactly once
// A resume journals RunResumed and StepInDoubt for every step that was running when the
// previous runner stopped; an abort journals AbortRequested before that (every abort does,
// also when one was requested already, so that each reason is kept).
Result<EventBatch> Accept(const RunState& state, const plan::Plan& plan, std::string_view run_id,
                          const OperatorCommand& command);

// Checks approvals given up front (step -> phrase; `--approve`, and `backout approve`)
// against the plan: the step exists, is an approval, the phrase matches. kInvalidArgument
// naming the problem otherwise.
Status CheckApprovals(const plan::Plan& plan, const std::map<std::string, std::string>& approvals);

// The plan's `triggers:` row for an issue type and severity, as the command that journals
// it. kInvalidArgument when the plan has no triggers, or none for these (listing the issue
// types and severities it has).
Result<TriageCommand> FindTrigger(const plan::Plan& plan, const std::string& issue,
                                  const std::string& severity);

// A run already in the journal, as `backout run` sees it before starting another one.
struct EarlierRun {
  std::string run_id;
  std::string plan_name;    // RunStarted's
  std::string plan_sha256;  // RunStarted's
  bool rehearsal = false;
  // How a finished run ended (its RunFinished); kRunning for one not finished, paused or not.
  RunStatus status = RunStatus::kNotStarted;
  std::int64_t last_event_us = 0;  // for a finished run: when it finished
};

// Whether a new run of `plan` may start, given the runs in the same journal. A rollback that
// already succeeded is rarely meant to run again (it would switch maintenance on again, take
// another emergency dump, ...), so without `again` it is refused when an earlier run of the
// same plan succeeded and was no rehearsal: kFailedPrecondition naming the latest such run,
// when it finished, whether its plan text was this one, and `--again`. "The same plan" is a
// plan of the same `name:`: an edited text of a rollback is still that rollback. A new
// rehearsal (`rehearse`) is never refused: it changes no production target.
Status CheckRunAgain(const plan::Plan& plan, const std::vector<EarlierRun>& earlier, bool again,
                     bool rehearse);

// An adapter's answer to one action or check: the adapter's own result type, copied, since
// the state machine does not know adapters.
struct AdapterAnswer {
  Status status;
  nlohmann::json outputs = nlohmann::json::object();
};

// The event the engine journals for `answer` to the command it ran:
//   StartStep: ok -> StepSucceeded (with the outputs); kCancelled -> RunPaused(signal) naming
//              the step, and no outcome, so a resume finds the step in doubt; else StepFailed
//              (the error and the partial outputs)
//   RunCheck:  ok -> StepChecked present ("the check found the effect in place");
//              kExpectationFailed -> absent; else unknown (an operator must resolve), with
//              the answer's message as the detail; kCancelled -> RunPaused(signal) naming no
//              step (no finding: a resume checks again)
EventBody EventOfAnswer(const StartStep& command, AdapterAnswer answer);
EventBody EventOfAnswer(const RunCheck& command, AdapterAnswer answer);

}  // namespace backout::sm
