// The post-incident report of a run: every figure in it is replayed from the run's journal
// (its events, and the plan text journaled in RunStarted). BuildReport() is pure: no clock,
// no I/O, no randomness, so the same journal always gives the same report, byte for byte,
// once rendered (report/render.h).
//
// Conventions of the model: times are UTC microseconds since the epoch as journaled (0 means
// "never happened"); durations are milliseconds; an empty string means "none". Lists keep
// journal order (timeline, decisions, errors, notes, triage, interruptions) or plan order
// (steps, verification, backups).
//
// docs/report.md says where each section comes from; docs/report.schema.json describes the
// JSON form.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "plan/plan.h"
#include "capture/capture.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::report {

// The outage window marked in the plan with `downtime: start` / `downtime: end`.
struct Downtime {
  enum class State {
    kNotMarked,   // the plan lacks a `downtime: start` or a `downtime: end` step
    kNotStarted,  // the start step never began
    kOpen,        // begun, and the end step has not succeeded (yet): still down at the end
    kClosed,      // the end step succeeded
  };
  State state = State::kNotMarked;
  std::string start_step;     // the first step marked `downtime: start`
  std::string end_step;       // the last step marked `downtime: end`
  std::int64_t start_us = 0;  // the start step began (its first StepStarted)
  std::int64_t end_us = 0;    // the end step succeeded (0 unless kClosed)
  // kClosed: end - start; kOpen: from the start to the run's last event (a lower bound).
  std::optional<std::int64_t> duration_ms;
};

// What a rehearsal did with one target of the plan (its `rehearsal:` setting).
struct RehearsalTarget {
  std::string target;
  std::string type;      // the target's type ("sqlite", "http")
  std::string handling;  // "copied", "live", "skipped" or "redirected"
  std::vector<std::string> redirected_keys;  // "redirected": the keys used instead (no values)
};

// Who appended events, as the journal recorded it: the operator name a command was given and
// the OS user of the process that appended (journal/journal.h). The operator name is a claim,
// the OS user a fact; the report shows both and reconciles neither.
struct Appender {
  std::string operator_name;
  OsUser os_user;
  std::size_t events = 0;  // events appended as this pair
  bool mismatch = false;   // IdentityMismatch(operator_name, os_user)
};

// Whether an event's operator name is not the name of the OS user that appended it (operator
// "bob" appended by uid 0 "root"; an OS user without a name never matches): what every format
// of the report flags.
bool IdentityMismatch(const std::string& operator_name, const OsUser& os_user);

// "root (uid 0)", or "uid 1234 (no user name)" when the user database had none.
std::string OsUserText(const OsUser& os_user);
// The same, appended to `out` (a report's timeline makes one per event).
void AppendOsUserText(const OsUser& os_user, std::string* out);

struct Summary {
  std::string plan;
  std::string description;
  std::string incident;
  std::string plan_file;
  std::string plan_sha256;
  std::string outcome;         // the run's status: "succeeded", "failed", "paused", ...
  std::string outcome_detail;  // "paused (approval: confirm)", "running, abort requested", ...
  std::string abort_reason;                // the first abort's (the one that aborted the run)
  std::vector<std::string> abort_reasons;  // every abort's, in journal order (none dropped)
  bool rehearsal = false;
  // A rehearsal: each target of the plan, by name, with what the rehearsal did with it
  // (docs/plan-format.md); empty for a real run.
  std::vector<RehearsalTarget> rehearsal_targets;
  std::vector<std::string> operators;  // distinct, in order of their first event
  // Distinct (operator, OS user) pairs, in order of their first event, of the events whose
  // OS user is known; empty for a run journaled before OS users were recorded (record format
  // version 1), whose report stays as it was.
  std::vector<Appender> appenders;
  std::int64_t started_us = 0;         // RunStarted
  std::int64_t ended_us = 0;           // the last event
  std::int64_t total_ms = 0;
  Downtime downtime;
  // The host clock stepped back during the run: event `seq` is `ms` earlier than an event
  // before it. Durations across such a step are counted as 0, never negative.
  struct ClockStep {
    std::uint64_t seq = 0;
    std::int64_t ms = 0;
  };
  std::optional<ClockStep> clock_stepped_back;  // the first (and the largest step's size)
  std::int64_t stood_still_ms = 0;  // every interruption's gap_ms, summed (standing ones: 0)
};

struct TimelineEntry {
  std::uint64_t seq = 0;
  std::int64_t time_us = 0;
  std::int64_t since_start_ms = 0;
  std::string type;  // the event type
  std::string operator_name;
  std::string host;
  // The OS user of the process that appended the event; unset when the record does not know
  // it (OsUser::kUnknownUid: record format version 1).
  std::optional<OsUser> os_user;
  bool identity_mismatch = false;  // IdentityMismatch(operator_name, *os_user)
  std::string step;  // the step the event is about, or ""
  std::string text;  // what happened, in words
  bool key = false;  // a key moment: shown in the post-mortem timeline too

  bool operator==(const TimelineEntry&) const = default;
};

// The first approval granted for a step: who, and through what ("prompt", "--approve",
// "approve").
struct StepApproval {
  std::string by;
  std::string via;
};

// One time a step was found in doubt (started, no outcome) and how that was settled.
struct InDoubt {
  enum class Settled {
    kUnsettled,  // still in doubt at the end of the journal
    kCheck,      // the step's check answered (effect_in_place says what it found)
    kResolve,    // an operator answered with `backout resolve`
    kRerun,      // run again without asking (idempotent)
  };
  int attempt = 0;
  std::int64_t since_us = 0;  // StepInDoubt
  Settled settled = Settled::kUnsettled;
  std::optional<bool> effect_in_place;  // check: present/absent; resolve: applied/not
  std::string by;                       // operator of the settling event
  std::int64_t at_us = 0;               // the settling event
  std::string detail;                   // the check's detail (also of inconclusive checks)
};

struct StepReport {
  std::string id;
  std::string title;
  std::string kind;    // the action: "sql", "backup", "approval", ...
  std::string status;  // the step's final status ("succeeded", "skipped", ...)
  plan::Downtime downtime = plan::Downtime::kNone;
  bool always = false;
  int attempts = 0;
  std::optional<std::int64_t> planned_ms;
  // From the step's start (first StepStarted; for an approval, its request) to its outcome;
  // includes retries and any interruption in between. Unset until both are journaled.
  std::optional<std::int64_t> actual_ms;
  std::int64_t started_us = 0;
  std::int64_t finished_us = 0;
  std::string recovered;  // "" | "check" | "resolve" (as the state machine records it)
  std::optional<StepApproval> approval;  // also in RunReport::decisions
  // Each needs a crash and a resume of the run, so these are kept whole, also by a
  // ReportBuilder in Lists::kHandOver.
  std::vector<InDoubt> in_doubt;
  std::string skip_reason;
  std::string error;  // the last failure's message
};

// An approval granted, or an in-doubt step resolved.
struct Decision {
  enum class Kind { kApproval, kResolve };
  Kind kind = Kind::kApproval;
  std::string step;
  std::string by;
  std::int64_t at_us = 0;
  std::string answer;  // the phrase, or "applied" / "not applied"
  std::string via;     // approvals: "prompt", "--approve", "approve"; resolves: "resolve"
  std::int64_t requested_us = 0;          // approvals: ApprovalRequested (0: given up front)
  std::optional<std::int64_t> waited_ms;  // approvals: from the request to the grant

  bool operator==(const Decision&) const = default;
};

// One check of a `verify` step, as its outputs recorded it (adapters/sqlite's `checks`).
struct VerificationCheck {
  std::string step;
  std::string check;
  nlohmann::json expected;
  nlohmann::json observed;
  bool pass = false;
  std::string message;
};

// The outputs of a `backup` step.
struct Backup {
  std::string step;
  std::string path;
  std::int64_t bytes = 0;
  std::string sha256;
};

// A table (or collection) a restore loaded, with the rows (records, items) it loaded when the
// adapter counted them.
struct RestoredTable {
  std::string name;
  std::optional<std::int64_t> rows;
};

// A restore the run made: a succeeded step that loaded a target from a saved copy, as its
// outputs recorded it: postgres, sqlite and json_store `restore`, dynamodb `import`, a `file`
// step whose operation was `restore`.
struct Restore {
  std::string step;
  std::string target;  // the plan's target name
  std::string kind;    // the action: "restore", "import", "file"
  std::string source;  // what was loaded (the backup file or directory)
  std::string into;    // the file or store written, when the target is one ("" otherwise)
  std::int64_t bytes = 0;
  std::string sha256;  // of the source as loaded
  std::vector<RestoredTable> tables;  // in the adapter's order (PostgreSQL full restores: none)
  std::optional<std::int64_t> rows;   // all tables' rows, when every table's count is known
};

// What preflight checked before the run's first effect (journaled in RunStarted, and in the
// RunResumed of a resume before any step had started), or that an operator skipped it.
struct Preflight {
  std::string event;  // "RunStarted" | "RunResumed"
  std::string by;     // the operator of that event (who skipped, when skipped)
  std::int64_t at_us = 0;
  bool skipped = false;
  std::vector<sm::PreflightCheck> checks;  // every one passed

  bool operator==(const Preflight&) const = default;
};

// A capture the run compared with or restored from (capture/capture.h), as resolved when
// the run was created and journaled in its RunStarted: taken by whom, when, in which run.
struct CaptureUsed {
  std::string name;
  std::string run_id;     // the run that took it
  std::string plan_name;  // that run's plan
  std::int64_t taken_us = 0;
  std::string by;
  std::string host;
  std::vector<std::string> targets;  // what it took, by target name
  std::vector<capture::CapturedBackup> backups;
};

struct StepError {
  std::string step;
  int attempt = 0;
  std::int64_t at_us = 0;
  std::string message;

  bool operator==(const StepError&) const = default;
};

struct Note {
  std::string by;
  std::int64_t at_us = 0;
  std::string text;

  bool operator==(const Note&) const = default;
};

struct Triage {
  std::string by;
  std::int64_t at_us = 0;
  std::string issue;
  std::string severity;
  std::string action;  // "rollback_now" | "forward_fix" | "monitor"
  std::string note;

  bool operator==(const Triage&) const = default;
};

// A time the run stood still: a pause (RunPaused until the next RunResumed), or a crash (a
// RunResumed found the run still running: its runner died without pausing). A crash gap runs
// from the runner's last event to that RunResumed; events other commands journaled meanwhile
// (notes, triage, `approve`, `resolve`, the abort request) do not shorten it.
struct Interruption {
  enum class Kind { kPause, kCrash };
  Kind kind = Kind::kPause;
  std::string reason;  // pauses: "approval", "in_doubt", "signal", "step_failed", "locked"
  std::string step;    // pauses: the step concerned, or ""
  std::int64_t from_us = 0;
  std::int64_t until_us = 0;           // the RunResumed; 0 while it still stands
  std::optional<std::int64_t> gap_ms;  // unset while it still stands
  std::string resumed_by;
  std::vector<std::string> in_doubt_steps;  // found in doubt by that RunResumed

  bool operator==(const Interruption&) const = default;
};

// Whether the run's chain head is signed (Ed25519, BACKOUT_SIGNING_KEY_FILE) and what checking
// the signature found. The report cannot check it (it is pure): the caller fills it.
struct SignatureStatus {
  enum class State {
    kUnsigned,    // no signature in the run
    kUnchecked,   // signed, but no public key was given to check it with
    kVerified,    // the last signature checks out with the given public key
    kFailed,      // a signature does not check out (or the run should be signed and is not)
  };
  State state = State::kUnsigned;
  std::string key_fingerprint;  // of the signing key, as the signature names it ("" unsigned)
  std::uint64_t covers_seq = 0;  // the seq of the head the last signature covers (0: none)
};

// A step's full output log as an outcome event journaled it (sm::LogDigest): its digest is
// covered by the hash chain, so the log file can be checked against it.
struct StepLog {
  std::string step;
  int attempt = 0;
  std::uint64_t seq = 0;  // the event that journaled the digest
  std::string file;       // the file's name in the run's logs/ directory
  std::uint64_t bytes = 0;
  std::string sha256;

  bool operator==(const StepLog&) const = default;
};

// What the report's facts rest on: the chain, its head, who wrote it where, and what was
// checked. BuildReport fills everything from the records but the checks' results:
// `chain_verified` is its argument; `decisions_verified` and `signature` are left for the
// caller to set (not re-derived and kUnsigned until it does).
struct Integrity {
  std::size_t events = 0;
  std::uint64_t head_seq = 0;  // the last record's seq
  std::string head_hash;       // hex hash of the last record
  // The chain mode the records say ("sha256" or "hmac-sha256", journal::ChainModeName): a run
  // re-chained from keyed to plain shows "sha256" here, whatever it claims elsewhere.
  std::string chain_mode;
  std::vector<std::string> hosts;  // every host that appended a record, in order of first
  bool chain_verified = false;
  // Every journaled decision re-derived with today's state machine (what `replay` checks):
  // true all match, false one diverges, nullopt not re-derived.
  std::optional<bool> decisions_verified;
  SignatureStatus signature;
};

struct RunReport {
  std::string run_id;
  Summary summary;
  std::vector<TimelineEntry> timeline;
  std::vector<StepReport> steps;
  std::vector<Decision> decisions;
  std::vector<VerificationCheck> verification;
  std::vector<Backup> backups;
  std::vector<Restore> restores;
  std::vector<Preflight> preflight;  // empty: none journaled (rehearsals, older runs)
  std::vector<CaptureUsed> captures;  // empty: the plan refers to none
  std::vector<StepError> errors;
  std::vector<Note> notes;
  std::vector<Triage> triage;
  std::vector<Interruption> interruptions;
  std::vector<StepLog> logs;  // journal order
  Integrity integrity;
  // The plan text journaled in RunStarted (`${VAR}`s unexpanded, as the file held it), when
  // the caller asked for it (`report --embed-plan`); BuildReport leaves it unset.
  std::optional<std::string> plan_text;
};

// How many entries each list of a RunReport that grows with the run's events has (or would
// have: ReportBuilder::Lists::kHandOver keeps none of them).
struct EventListSizes {
  std::size_t timeline = 0;
  std::size_t key_moments = 0;  // timeline entries with `key`
  std::size_t decisions = 0;
  std::size_t errors = 0;
  std::size_t notes = 0;
  std::size_t triage = 0;
  std::size_t interruptions = 0;
  std::size_t preflight = 0;
  std::size_t logs = 0;
};

// Builds the report of run `run_id`. Preconditions: `events` are `records` decoded, in order,
// and `state` is their fold; `plan` is the plan journaled in their RunStarted (see
// history::SnapshotOfRecords and history::PlanFromJournal). `chain_verified` says whether the
// records' hash chain was checked (the report cannot check it itself: it is pure).
RunReport BuildReport(const std::string& run_id, const std::vector<journal::Record>& records,
                   const std::vector<sm::Event>& events, const sm::RunState& state,
                   const plan::Plan& plan, bool chain_verified);

// BuildReport one event at a time, for a run read in one pass (journal::Journal::ScanRun).
//
// Construct it once the run's first event (RunStarted) is folded: `state` is that fold (or a
// later one of the same run) and `plan` the plan journaled in it. Then Add() every record
// with its event, in order, and Finish() with the fold of all of them. Every Add() returns
// the timeline entry of its event, valid until the next call, so a caller can write the
// timeline out as it goes (report/render.h).
//
// What it keeps is bounded by the run's steps, except the lists that grow with the run's
// events (timeline, decisions, errors, notes, triage, interruptions, preflight, logs; see
// EventListSizes): Lists::kHold keeps them whole in the report; Lists::kHandOver keeps of
// them only the entries the last Add() (or EndOfEvents()) finished, in made(), and drops them
// at the next call, so that a caller writes them out as they come (to a spool, cli/report_spool.h,
// or from a pass of its own per list, report/render.h ListsFromPasses) and what the builder
// holds stays bounded by the steps. Not thread-safe.
class ReportBuilder {
 public:
  enum class Lists { kHold, kHandOver };
  ReportBuilder(std::string run_id, const sm::RunState& state, const plan::Plan& plan,
                Lists keep);
  ~ReportBuilder();
  ReportBuilder(const ReportBuilder&) = delete;
  ReportBuilder& operator=(const ReportBuilder&) = delete;

  const TimelineEntry& Add(const journal::Record& record, const sm::Event& event);

  // The last interruption, still open or still collecting the steps found in doubt on its
  // resume, is finished only by the end of the events: call this after the last Add() to
  // find it in made() (Finish calls it).
  void EndOfEvents();

  // The entries of the lists that grow with events that the last Add() or EndOfEvents()
  // finished (Lists::kHandOver; with kHold, every entry so far).
  const RunReport& made() const { return report_; }

  // Every list's entries so far, held or handed over.
  EventListSizes sizes() const;

  // How many list entries the builder holds now (timeline, decisions, errors, notes, triage,
  // interruptions, preflight, logs): with Lists::kHandOver, at most what one event finishes.
  std::size_t held_entries() const;

  // The report; `state` folds every event added. Call once. With Lists::kHandOver, its
  // lists that grow with events are empty: sizes() says how long they are.
  RunReport Finish(const sm::RunState& state, const plan::Plan& plan, bool chain_verified);

 private:
  class Pass;
  // Lists::kHandOver: counts what the last call made, then drops it.
  void DropMade();

  RunReport report_;
  std::unique_ptr<Pass> pass_;
  Lists keep_;
  EventListSizes dropped_;  // handed over and dropped (kHandOver)
  std::size_t key_moments_ = 0;
  std::int64_t latest_us_ = 0;  // for Summary::clock_stepped_back
  std::optional<Summary::ClockStep> clock_stepped_back_;
  Digest head_hash_{};  // of the last record added
  journal::ChainMode head_chain_mode_{};
};

std::string_view ToString(Downtime::State s);     // "not_marked", "not_started", ...
std::string_view ToString(InDoubt::Settled s);    // "unsettled", "check", "resolve", "rerun"
std::string_view ToString(Decision::Kind k);      // "approval", "resolve"
std::string_view ToString(Interruption::Kind k);  // "pause", "crash"
std::string_view ToString(plan::Downtime d);      // "", "start", "end"
std::string_view ToString(SignatureStatus::State s);  // "unsigned", "unchecked", "verified", "failed"

}  // namespace backout::report
