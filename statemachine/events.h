// The event vocabulary of a run: everything the engine and the operator commands journal.
//
// Events are the state machine's language, so they live here; the journal stores them as
// opaque records (type name + payload text) and the engine converts between the two with
// ToRecordParts / FromRecordParts below. Payloads are JSON objects; docs/events.md lists every
// field. Nothing in an event may hold an expanded `${VAR}` value.
//
// Time and identity (operator, host) arrive with each event, never from a clock inside the
// state machine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace backout::sm {

// What preflight (engine/preflight.h) checked before a run's first effect. Journaled in the
// RunStarted of a run, and in the RunResumed of a resume that came before any step started.
struct PreflightCheck {
  std::string target;              // the target's name; "" for an action without a target
  std::vector<std::string> steps;  // the steps that needed the check, in plan order
  std::string check;               // what was checked, in words (never a secret)

  bool operator==(const PreflightCheck&) const = default;
};
struct PreflightRecord {
  // kNotRun: nothing recorded (the field is absent: a rehearsal, a resume after a step had
  // started, a run journaled before preflight existed). kChecked: every check in `checks`
  // passed (a failed one refuses the run, so it is never journaled). kSkipped: the operator
  // of the event gave --skip-preflight; nothing was checked.
  enum class Mode { kNotRun, kChecked, kSkipped };
  Mode mode = Mode::kNotRun;
  std::vector<PreflightCheck> checks;
};

// A run began. Carries the plan exactly as read, so resume never depends on the file.
struct RunStarted {
  std::string plan_name;
  std::string plan_file;    // absolute path as given when the run started
  std::string plan_text;
  std::string plan_sha256;
  std::string incident;
  std::vector<std::string> step_ids;  // in plan order
  bool rehearsal = false;  // run against throwaway copies of the targets (absent = false)
  PreflightRecord preflight;  // absent = kNotRun
  // The captures the plan's `capture.NAME` references resolved to when the run was created
  // (capture/capture.h: one object per name, as capture::Capture's JSON), so a resume or a
  // replay never looks at another run again. Opaque here; absent when the plan refers to none.
  nlohmann::json captures = nlohmann::json::array();
};

// The intent to perform one attempt of a step: journaled BEFORE the effect starts.
struct StepStarted {
  std::string step;
  int attempt = 1;
};

// The full output log an attempt wrote (RUN/logs/FILE), as it was when the attempt ended: the
// runner hashes the closed file before it journals the outcome, so the hash chain covers the
// log. Journaled as "log": {"file", "bytes", "sha256"}; absent when the attempt wrote none
// (events from before the field decode without one).
struct LogDigest {
  std::string file;  // a plain file name in the run's logs/ directory, never a path
  std::uint64_t bytes = 0;
  std::string sha256;  // lowercase hex
  bool operator==(const LogDigest&) const = default;
};

// The attempt's effect is in place.
struct StepSucceeded {
  std::string step;
  int attempt = 1;
  nlohmann::json outputs = nlohmann::json::object();
  std::optional<LogDigest> log;
};

struct StepFailed {
  std::string step;
  int attempt = 1;
  std::string error;
  nlohmann::json outputs = nlohmann::json::object();  // partial outputs (verify results, ...)
  std::optional<LogDigest> log;
};

// Progress of a running attempt that a later attempt can build on, reported by the adapter
// while it runs (Invocation::checkpoint) and journaled before the adapter goes on: for an
// object-store upload, the multipart upload id and each part the store acknowledged
// (docs/events.md). Opaque to the state machine: the fold keeps every checkpoint of a step
// (StepState::checkpoints) and the engine hands them to the step's next attempt; no decision
// reads them. Never holds a secret (the engine scrubs expanded values out before journaling).
struct StepCheckpoint {
  std::string step;
  int attempt = 1;
  nlohmann::json checkpoint = nlohmann::json::object();
};

struct StepSkipped {
  std::string step;
  std::string reason;
};

// On resume: this attempt started and no outcome was journaled.
struct StepInDoubt {
  std::string step;
  int attempt = 1;
};

// The step's `check:` ran on an in-doubt step.
struct StepChecked {
  enum class Finding { kPresent, kAbsent, kUnknown };
  std::string step;
  Finding finding = Finding::kUnknown;
  std::string detail;
};

// An operator's answer for an in-doubt step (`backout resolve`).
struct StepResolved {
  std::string step;
  bool applied = false;
};

struct ApprovalRequested {
  std::string step;
  std::string prompt;
};

// The approver is the event's operator.
struct ApprovalGranted {
  // How the phrase was given; journaled as "prompt", "--approve" and "approve". The first two
  // are the engine acting on an AwaitApproval, the third an operator's input.
  enum class Via {
    kPrompt,          // typed at the runner's terminal prompt
    kApproveFlag,     // given up front with `run`/`resume --approve STEP=PHRASE`
    kApproveCommand,  // given with `backout approve` while the run was paused
  };
  std::string step;
  std::string phrase;
  Via via = Via::kPrompt;
};

struct RunPaused {
  // kLocked: a target's runner lock (adapters/adapter.h, Adapter::Lock) could not be had
  // before a step started; nothing of the step ran.
  enum class Reason { kApproval, kInDoubt, kSignal, kStepFailed, kLocked };
  Reason reason = Reason::kSignal;
  std::string step;  // the step concerned (empty for kSignal and kLocked between steps)
};

// A runner took the run up again (after a pause or a crash).
struct RunResumed {
  // The plan file on disk against the journaled text; journaled as "unchanged", "changed" and
  // "missing". The run always goes on with the journaled plan: this is for people.
  enum class PlanFileNote { kUnchanged, kChanged, kMissing };
  PlanFileNote plan_file_note = PlanFileNote::kUnchanged;
  PreflightRecord preflight;  // absent = kNotRun
  // The captures the plan's `capture.NAME` references resolved to when the run was created
  // (capture/capture.h: one object per name, as capture::Capture's JSON), so a resume or a
  // replay never looks at another run again. Opaque here; absent when the plan refers to none.
  nlohmann::json captures = nlohmann::json::array();
};

struct AbortRequested {
  std::string reason;
};

struct RunFinished {
  enum class Ending { kSucceeded, kFailed, kAborted };
  Ending outcome = Ending::kSucceeded;  // journaled as "outcome"
};

struct NoteAdded {
  std::string text;
  // A note queued while a runner held the run (journal/note_queue.h): its queue id, so it is
  // journaled once only. Absent from the payload (empty) for a note journaled directly.
  std::string queue_id;
};

// Why the rollback started: a row of the plan's decision matrix chosen by `backout triage`.
struct TriageRecorded {
  std::string issue;
  std::string severity;
  std::string action;  // "rollback_now" | "forward_fix" | "monitor"
  std::string note;
};

using EventBody =
    std::variant<RunStarted, StepStarted, StepSucceeded, StepFailed, StepSkipped, StepInDoubt,
                 StepChecked, StepResolved, ApprovalRequested, ApprovalGranted, RunPaused,
                 RunResumed, AbortRequested, RunFinished, NoteAdded, TriageRecorded,
                 StepCheckpoint>;

struct Event {
  std::uint64_t seq = 0;
  std::int64_t time_us = 0;  // UTC microseconds
  std::string operator_name;
  std::string host;
  EventBody body;
};

// "StepStarted", ...
std::string_view TypeName(const EventBody& body);

// JSON payload of a body, and back. Decode failures are kCorruption naming the field; an
// enum's unknown string names the field, the value and the values allowed.
nlohmann::json EncodePayload(const EventBody& body);
Result<EventBody> DecodePayload(std::string_view type, const nlohmann::json& payload);

// The step log an outcome (StepSucceeded, StepFailed) vouches for; nullopt for any other
// event and for an outcome without a log. Points into `body`.
struct StepLogOf {
  const std::string& step;
  int attempt;
  const LogDigest& digest;
};
std::optional<StepLogOf> LogOf(const EventBody& body);

std::string_view ToString(StepChecked::Finding f);
std::string_view ToString(RunPaused::Reason r);
std::string_view ToString(RunFinished::Ending e);
std::string_view ToString(ApprovalGranted::Via v);
std::string_view ToString(RunResumed::PlanFileNote n);
std::string_view ToString(PreflightRecord::Mode m);

}  // namespace backout::sm
