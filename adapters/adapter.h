// The adapter interface: how the engine asks a target system to do one action.
//
// Adapters know nothing of the journal, the state machine or the CLI. The engine hands them
// a fully resolved Invocation (every `${...}` already expanded, so the values may contain
// secrets: an adapter must never copy a target's connection string or an expanded variable
// into its outputs or error messages beyond what the plan author wrote in clear) and gets
// back an Outcome. Relative paths in target configs and parameters are resolved against
// Invocation::base_dir (the plan file's directory).
//
// Crash semantics: the engine journals StepStarted before Run() and the outcome after it, so
// an adapter needs no durability of its own beyond making its effect atomic where the target
// allows (one transaction; write-to-temp-then-rename for files). Long work that a retry can
// resume journals its progress through Invocation::checkpoint.
//
// Thread safety: an Adapter object is used by one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/vocabulary.h"
#include "base/env.h"
#include "base/status.h"

namespace backout::adapters {

class AttemptLog;  // common/run_log.h

struct Invocation {
  std::string action;      // "sql", "backup", "command", ...
  nlohmann::json target;   // the target's config, expanded (includes "type")
  nlohmann::json params;   // the action's parameters, expanded (includes "target")
  // For a `verify`: the outputs of the latest earlier `baseline` step on the same target,
  // which checks written `equals: baseline` compare with; unset when there is none.
  std::optional<nlohmann::json> baseline;
  // For a `notify`: what the engine knows of the run when the step starts ({plan},
  // {incident}, {status}, ...: docs/adapters/notify.md); an empty object otherwise.
  nlohmann::json run_facts = nlohmann::json::object();
  std::string run_id;
  std::string step_id;
  int attempt = 1;
  std::filesystem::path base_dir;  // relative paths are resolved against this
  std::filesystem::path log_dir;   // the run's RUN/logs/ (exists): staging files may go here
  // The attempt's full output log, a section of the run's log file (common/run_log.h), named
  // LogFileName(step_id, attempt); null when the attempt keeps none (a test, a check run
  // outside a runner). An adapter that keeps a full log of what it runs writes it here (one
  // thread at a time); the engine journals its digest with the outcome.
  AttemptLog* log = nullptr;
  std::chrono::milliseconds timeout{0};  // 0: no deadline
  std::int64_t now_micros = 0;           // wall clock at start (for timestamped names)
  const std::atomic<bool>* cancel = nullptr;  // set by SIGINT/SIGTERM; poll it in long work
  std::function<void(std::string_view)> progress;  // optional; short progress lines
  // Checkpoints: progress of an attempt that a later attempt of the same step can build on
  // (an upload's id and acknowledged parts). `checkpoint` journals one (a StepCheckpoint
  // event, docs/events.md) and returns once it is durable: the adapter calls it after the
  // work it describes is done and before relying on it, and stops with the returned error
  // when it is not OK. Empty when nothing is journaled (a check, a test): then the adapter
  // keeps no progress across attempts. A checkpoint is journaled in clear, so it must hold
  // no secret (the engine scrubs expanded values out anyway). `checkpoints` are those every
  // earlier attempt of this step journaled, in order (an empty array for none).
  std::function<Status(const nlohmann::json&)> checkpoint;
  nlohmann::json checkpoints = nlohmann::json::array();
  // The clock, sleeps and environment variables (the engine passes its session's Env; a
  // test may pass a testing::FakeEnv). Never null; not owned.
  Env* env = Env::Default();
};

// `<step_id>.<attempt>.log`: the logical file name of an attempt's full output log (a check's
// step_id is "STEP.check"): the name of its section in the run log (Invocation::log), the
// `file` of the digest the engine journals with the outcome (sm::LogDigest), and the file
// name an export gives it. Runs of earlier versions kept each in a file of that name in
// RUN/logs/.
inline std::string LogFileName(std::string_view step_id, int attempt) {
  return std::string(step_id) + "." + std::to_string(attempt) + ".log";
}

// The result of one action. `outputs` are journaled (and may be referenced by later steps
// as ${steps.ID.outputs.NAME}); they are filled on failure too when useful (a verify step's
// per-check results, a command's exit code and output tail).
//
// Status codes an adapter returns:
//   kExpectationFailed  the action ran and its answer was "no": a command exited with an
//                       unaccepted code, a query or verify check did not hold. As a `check`,
//                       this means "the effect is not in place".
//   kTimeout            the deadline passed (a command's whole process group was killed)
//   kCancelled          stopped by SIGINT/SIGTERM; the effect may or may not have happened
//   kUnavailable / kIOError / kNotFound / kInvalidArgument   could not do the action
struct Outcome {
  Status status;
  nlohmann::json outputs = nlohmann::json::object();
};

// A problem with an action's parameters found before anything runs. `pointer` is a JSON
// pointer into the action's params ("" for the action itself, "/checks/1/row_count") or,
// when `in_target` is true, into the target's config.
struct ParamError {
  std::string pointer;
  std::string message;
  bool in_target = false;
  // A likely fix, told after the message and its place: " (did you mean 'tables'?)", or "".
  std::string hint;
};

// Where a rehearsal (`backout run --rehearse`) keeps its throwaway copies of one target.
struct RehearsalScratch {
  std::string name;                 // deterministic per run and target: [a-z0-9_], <= 48 chars
  std::filesystem::path dir;        // a private directory of the run for file copies (exists)
  std::filesystem::path base_dir;   // relative paths in the target config start here
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(std::string_view)> progress;  // optional
};

// What the engine asks of Adapter::Lock: the target's runner lock, for one run.
struct LockRequest {
  nlohmann::json target;           // the target's config, expanded (as in Invocation)
  std::string run_id;
  std::filesystem::path base_dir;  // relative paths are resolved against this
  // How long to wait for a holder that belongs to this very run (a killed runner whose
  // session the target has not finished closing) before giving up with kLocked.
  std::chrono::milliseconds same_run_wait{30000};
  const std::atomic<bool>* cancel = nullptr;
  Env* env = Env::Default();  // as Invocation::env
};

// What preflight (engine/preflight.h) asks of an adapter for one step, before the run's first
// effect: the same expanded target config and params a Run() would get, except that a value
// that depends on an earlier step's outputs (`${steps...}`) is still the literal reference
// (treat it as "known only at run time" and skip what depends on it).
struct PreflightRequest {
  std::string action;
  nlohmann::json target;           // expanded (may hold secrets: never copy into a finding)
  nlohmann::json params;           // expanded, as above
  std::filesystem::path base_dir;  // relative paths are resolved against this
  const std::atomic<bool>* cancel = nullptr;
  Env* env = Env::Default();       // as Invocation::env
};

// One thing preflight checked. `check` says what, in words an operator reads in the report
// and that are journaled (so never a secret): "connect", "privilege UPDATE on public.items",
// "restore source backups/pre.dump (1.2 MB, sha256 matches)". `status` is OK, or why the
// step would fail (its code as Run() would return it: kUnavailable for an unreachable host,
// kNotFound for a missing file, kFailedPrecondition for a missing privilege, ...).
struct PreflightFinding {
  std::string check;
  Status status;
};

// What `backout plan` (preview/preview.h) asks of an adapter for one step's action or check:
// the action as the plan wrote it, and what can be read before the run without changing
// anything (a `file:` script, a restore source's size and sha256).
struct DescribeRequest {
  std::string action;
  nlohmann::json target = nlohmann::json::object();  // the target's config as written
  nlohmann::json params = nlohmann::json::object();  // as written: `${...}` unexpanded
  // The same with every `${VAR}` expanded and `${steps...}` left as written, for reading
  // the files the plan names. Holds secrets: never copy a value of these into a description
  // (the caller scrubs the expanded values out of the whole preview anyway).
  nlohmann::json expanded_target = nlohmann::json::object();
  nlohmann::json expanded_params = nlohmann::json::object();
  std::filesystem::path base_dir;  // relative paths are resolved against this
};

class Adapter {
 public:
  virtual ~Adapter() = default;

  // What the adapter offers: its target type, actions, their parameters and outputs.
  virtual const AdapterVocabulary& vocabulary() const = 0;

  // The target type this adapter serves ("sqlite", "command").
  std::string_view type() const { return vocabulary().type; }

  // Checks one action's parameters and its target's config without touching the target.
  // Strings may still hold `${...}` references; treat those as "some string".
  virtual std::vector<ParamError> Validate(std::string_view action,
                                           const nlohmann::json& target,
                                           const nlohmann::json& params) const = 0;

  virtual Outcome Run(const Invocation& invocation) = 0;

  // Takes (or confirms that this adapter still holds) the lock that keeps a second backout
  // runner off the target, and holds it until the adapter is destroyed or its process dies.
  // The engine calls it before a step's StepStarted is journaled, so "could not lock" never
  // becomes a step's outcome. kLocked names the holder (pid, host or client, run) when
  // another runner has it; kCancelled when `cancel` fired while waiting. Targets without
  // such a lock (files, commands, HTTP) keep the default: nothing to take.
  virtual Status Lock(const LockRequest& request);

  // Everything that can be known about one step without changing anything: the target
  // reachable and accepting the credentials, the privileges the action needs, files it reads
  // present (and matching a given sha256), places it writes to writable with room. Must not
  // change the target or take its lock; may read (connect, stat, hash a file, describe a
  // table). The engine calls it for every step of the plan before the run is created, and
  // refuses the run when any finding is not OK. Findings for the same target and check from
  // several steps are reported once. Default: nothing to check.
  virtual std::vector<PreflightFinding> Preflight(const PreflightRequest& request);

  // The action written out for a reviewer, as far as it is known before the run
  // (docs/plan-preview.md: the "action" object): what it does to its target ("effect":
  // "reads_only", "changes_target" or "calls_out"), whether it is idempotent by nature, the
  // locks it takes on the target beyond the runner lock, and its "details" in order (each
  // {"label", "value"}: the SQL, argv, URL, backup destination, restore source, checks...).
  // Reads at most the files the plan names; never connects. Default: the vocabulary's
  // effect and every parameter as written (adapters/common/describe.h builds the shape).
  virtual nlohmann::json Describe(const DescribeRequest& request) const;

  // Rehearsal support. A database adapter copies the target's data to a throwaway place and
  // returns the target config that points at the copy (the engine uses it in place of the
  // real one for every step of the run). Called at the start of every `run`/`resume` of a
  // rehearsal: when a complete copy named `scratch.name` exists already, return it as is; a
  // copy must never be seen half made (build it under a temporary name, then rename).
  // The returned config may hold the expanded secrets of `target`; it is never journaled.
  virtual bool CanCopyForRehearsal() const { return false; }
  virtual Result<nlohmann::json> MakeRehearsalCopy(const nlohmann::json& target,
                                                   const RehearsalScratch& scratch);
  // Removes the copy when the rehearsal has finished. Removing a copy that is gone is ok.
  virtual Status DropRehearsalCopy(const nlohmann::json& copy, const RehearsalScratch& scratch);
};

// Adapters by target type. Adding an adapter to a build is one Add() line in Default().
class Registry {
 public:
  // A later adapter of the same type replaces the earlier one (in its place).
  void Add(std::unique_ptr<Adapter> adapter);
  Adapter* Find(std::string_view type) const;  // nullptr when unknown

  // The vocabularies of the adapters, in the order they were added (the order in which
  // messages list target types and actions).
  std::vector<const AdapterVocabulary*> Vocabularies() const;

  // The type of the adapter that serves `action` on a target of `target_type` ("" for an
  // action naming no target): the adapter that declares `action` and serves targets of
  // that type (notify on an http target), else the target's own adapter; for no target,
  // the adapter declaring `action` without needing one. Falls back on `target_type` (or on
  // `action` when there is no target) when no adapter fits, so Find() then says "unknown".
  std::string_view TypeServing(std::string_view action, std::string_view target_type) const;

  // Every adapter of this build: sqlite, postgres, command, http, file, json_store,
  // dynamodb, notify.
  static Registry Default();

 private:
  std::vector<std::unique_ptr<Adapter>> adapters_;  // in the order added
};

}  // namespace backout::adapters
