// Captures: the state of some targets before a migration (baselines and backups), taken under
// a name by a `capture:` step (or `backout capture`), and referred to by a later plan as
// `capture.NAME`: `row_count: { table: t, equals: capture.NAME }`, `checksum: {...}`,
// `restore: { from: capture.NAME }` (docs/backups.md#captures).
//
// A capture is journaled only as the outputs of its capture steps in the run that took it.
// A plan referring to one gets it resolved (capture/find.h) when its run is created, and the
// resolved Capture is journaled in that run's RunStarted (sm::RunStarted::captures): from
// then on the run reads it only from its own journal, so resume and replay never depend on
// another run.
//
// Everything here is pure: no journal, no target, no file (capture/find.h reads those).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "plan/plan.h"
#include "statemachine/events.h"

namespace backout::capture {

// The action kind of a capture step: `capture: { name, target, baseline: {...}, backup: {...} }`.
inline constexpr std::string_view kCaptureAction = "capture";
// The outputs of a capture step: its name, and the outputs of its baseline and backup.
inline constexpr std::string_view kOutputName = "name";
inline constexpr std::string_view kOutputBaseline = "baseline";
inline constexpr std::string_view kOutputBackup = "backup";

// A capture name: 1 to 64 of [A-Za-z0-9_-].
bool IsCaptureName(std::string_view name);

// NAME when `value` is a string `capture.NAME` (NAME may be malformed: IsCaptureName says),
// nullopt for anything else.
std::optional<std::string> CaptureRef(const nlohmann::json& value);

// One adapter action a capture step is made of, run in this order by the engine: the
// target's `baseline` with the step's `baseline:` mapping, then its `backup` with the step's
// `backup:` mapping (when there is one). `params` holds `target` like any action's params;
// `pointer` is where the mapping is in the step's params ("/baseline", "/backup").
struct CapturePart {
  std::string action;
  std::string pointer;
  nlohmann::json params;
};
std::vector<CapturePart> PartsOf(const nlohmann::json& capture_params);

// The outputs a capture step journals: {name, baseline, backup (only with a backup)}.
nlohmann::json StepOutputs(const std::string& name, nlohmann::json baseline,
                           std::optional<nlohmann::json> backup);

// One target of a capture, as its capture step recorded it.
struct CapturedTarget {
  std::string step;                     // the capture step that took it
  nlohmann::json baseline;              // the baseline action's outputs
  std::optional<nlohmann::json> backup; // the backup action's outputs, when one was taken
  std::string backup_location;          // the backup's absolute path ("" without a backup)
};

// A capture as resolved for a run that refers to it: who took it, when, in which run, and
// what it recorded of each target (by the name the capturing plan gave the target; a plan
// referring to the capture must use the same target names).
struct Capture {
  std::string name;
  std::string run_id;
  std::string plan_name;
  std::int64_t taken_us = 0;  // when the last of its steps succeeded
  std::string operator_name;  // who ran that step
  std::string host;
  std::map<std::string, CapturedTarget> targets;
};
nlohmann::json ToJson(const Capture& capture);
// kCorruption naming what is missing when `json` is not a Capture's JSON.
Result<Capture> CaptureFromJson(const nlohmann::json& json);

// The captures run `run_id` took: for each name, its succeeded capture steps (a name with a
// capture step that has not succeeded is no capture yet). `events` are the run's decoded
// events (all, or only RunStarted and the step outcomes: history::RunOutcomes; nothing else
// is read), `plan` its journaled plan, `plan_dir` the directory relative backup paths start
// from. A rehearsal takes no capture (its backups are of copies, in scratch).
std::vector<Capture> CapturesOfRun(const std::string& run_id, const std::vector<sm::Event>& events,
                                   const plan::Plan& plan, const std::string& plan_dir);

// One backup file a capture refers to: the catalog must not prune it.
struct CapturedBackup {
  std::string capture;   // the capture's name
  std::string run_id;    // the run that took it
  std::string target;
  std::string location;  // absolute path (or URL, as the backup's outputs gave it)
  std::string sha256;
  std::uint64_t bytes = 0;
  // For a backup at a URL: where its store is, as the backup's outputs recorded it
  // ({"endpoint", "region", "path_style"}); null otherwise.
  nlohmann::json store;
};
std::vector<CapturedBackup> BackupsOf(const Capture& capture);

// One place a plan refers to a capture.
struct CaptureUse {
  std::string name;
  std::string step;
  std::string target;
  std::string action;     // "verify" or "restore"
  std::string pointer;    // in the action's params: "/checks/0/row_count/equals", "/from"
  nlohmann::json subject; // the check's `table` or `collection` (null for a restore)
  std::string subject_list;  // the baseline parameter listing it: "tables", "collections"
  plan::SourceLoc loc;
};
// Every `capture.NAME` a plan's steps (not their checks) compare with or restore from.
std::vector<CaptureUse> UsesOf(const plan::Plan& plan);
// The distinct names of UsesOf(plan), in the order of their first use.
std::vector<std::string> NamesUsed(const plan::Plan& plan);

// Whether the resolved `captures` (JSON as journaled) give every use of `plan` what it needs:
// the capture took the use's target, a baseline covering the table or collection a check
// compares, a backup for a restore. kFailedPrecondition naming the first that is missing.
Status CheckUses(const plan::Plan& plan, const nlohmann::json& captures);

// The plan `backout capture PLAN --name NAME` runs, as JSON (which is YAML), for `source`:
// its capture steps named `name`, with the targets they use; or, when it has none, one
// capture step per target that `source`'s `capture.NAME` references name: a baseline of the
// tables (collections) its checks compare (and those its restores list), and a backup into
// `backup_to` when a step restores from it. kInvalidArgument when `source` has neither, or
// a target's baseline would list nothing.
Result<nlohmann::json> CapturePlanFor(const plan::Plan& source, const std::string& name,
                                      const std::string& backup_to);

// What validation says of a plan's captures: a malformed name; a `capture.` reference where
// none is read (only a verify's `equals` and a restore's `from` are); a verify comparing
// with more than one source (a baseline step and a capture, or two captures); a capture step
// without a literal valid name or a `baseline:` mapping, or with keys other than `name`,
// `baseline`, `backup` (and `target`, `timeout`); two capture steps of one name on one target.
std::vector<plan::Diagnostic> CheckCaptures(const plan::Plan& plan);

// A verify's params with every `equals: capture.NAME` written `equals: baseline`, as the
// adapter takes them, and the one capture name they compared with (nullopt: none).
struct VerifyWithCapture {
  nlohmann::json params;
  std::optional<std::string> capture;
};
VerifyWithCapture VerifyAgainstBaseline(const nlohmann::json& params);

// An action's expanded params with its capture references resolved from `captures` (the
// run's sm::RunStarted::captures) for a step on `target`: a verify's `equals: capture.NAME`
// become `equals: baseline` and `baseline` is set to that capture's baseline of `target`; a
// restore's `from: capture.NAME` becomes the backup's location, with its `sha256` (so the
// adapter checks the file before it touches the target). Params without references are
// returned as they are. kFailedPrecondition when the capture was not resolved or lacks the
// target or its backup.
struct ResolvedAction {
  nlohmann::json params;
  std::optional<nlohmann::json> baseline;
};
Result<ResolvedAction> ResolveAction(std::string_view action, const nlohmann::json& params,
                                     const std::string& target, const nlohmann::json& captures);

// One line for a report or a message: "pre-migration (run R, 2026-...Z, by alice on host1)".
std::string Describe(const Capture& capture);

}  // namespace backout::capture
