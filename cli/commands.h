// The `backout` subcommands. Each returns the process exit code (design section 4):
//   0 done / run succeeded, 1 run failed or aborted, 2 usage or plan error, 3 run paused,
//   4 journal integrity error, 5 run locked by another runner.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "engine/plan_check.h"
#include "journal/chain_key.h"
#include "journal/signing.h"
#include "plan/parser.h"

namespace backout::cli {

struct Common {
  std::string journal_dir;  // resolved: --journal, $BACKOUT_JOURNAL, ./.backout
  std::string operator_name;  // resolved: --operator, $BACKOUT_OPERATOR, login name
  // $BACKOUT_JOURNAL_KEY, read once by main; empty: unkeyed. Never printed or journaled.
  journal::ChainKey journal_key;
  // Values to mask in everything a run writes (the journal key's text, when there is one).
  std::vector<std::string> secrets;
  // The key of $BACKOUT_SIGNING_KEY_FILE, read once by main; null: runs are not signed.
  std::shared_ptr<const journal::SigningKey> signing_key;
};

// Prints `s` on stderr as `backout: error: MESSAGE` and returns its exit code (the error
// kinds' mapping of docs/cli.md#exit-codes).
int Fail(const Status& s);

// The process environment, as plans read their `${VAR}`s.
plan::VarLookup EnvLookup();

// Reads and fully checks a plan file (engine::CheckPlanText), `vars` answering its `${VAR}`s;
// a file that cannot be read is one error diagnostic without a position. With a non-empty
// `journal_dir`, paths into it are refused too. Prints nothing.
engine::PlanCheck CheckPlanFile(const std::string& plan_file, const adapters::Registry& registry,
                                const plan::VarLookup& vars, const std::string& journal_dir = "");
// Prints every diagnostic on stderr, one per line (file:line:col: error: ...).
void PrintDiagnostics(const std::vector<plan::Diagnostic>& diags);

// Full validation; also refuses paths into the journal directory (c.journal_dir).
struct ValidateMode {
  bool connect = false;  // also run the whole preflight (engine/preflight.h); 2 if a check fails
  // The result as one JSON object on stdout (docs/cli.md#validate): the plan, its errors and
  // warnings with positions and hints and, with `connect`, the preflight findings.
  bool json = false;
};
int Validate(const Common& c, const std::string& plan_file, ValidateMode mode = {});
// Validates like Validate, then prints the plan preview (preview/preview.h): every step's
// action in full, what it does, its locks and in-doubt policy, gates, `always` steps and the
// path a failure of each step takes. As JSON (docs/plan-preview.md) with `json`; to
// `output_file` (mode 0600, written atomically) when it is not empty. 2 for a bad plan or an
// output file that cannot be written.
int PlanPreview(const Common& c, const std::string& plan_file, bool json,
                const std::string& output_file);
struct RunMode {
  bool dry_run = false;   // validate and print the plan preview (as `backout plan`) only
  bool rehearse = false;  // against throwaway copies of the database targets
  bool again = false;     // run even though an earlier run of the plan succeeded
  // Start without preflight (emergencies); journaled in RunStarted with the operator.
  // Without it, a failed preflight check refuses the run before it exists (exit 2).
  bool skip_preflight = false;
};
int Run(const Common& c, const std::string& plan_file,
        const std::map<std::string, std::string>& approvals, RunMode mode);
// A run none of whose steps has started yet is preflighted first, like `run` (refused with
// exit 2 before anything is journaled; `skip_preflight` as for `run`).
// Run, for a plan checked already (engine::CheckPlanText) as if read from `plan_file`: its
// relative paths start in that file's directory, which is journaled as the run's plan file.
int RunCheckedPlan(const Common& c, const plan::Plan& plan, const std::string& plan_file,
                   const std::map<std::string, std::string>& approvals, RunMode mode,
                   const adapters::Registry& registry);
// `backout capture PLAN --name NAME` (docs/cli.md#capture): runs the capture steps of PLAN
// named NAME or, when it has none, a capture of what PLAN's `capture.NAME` references need
// (each target's baseline of the tables its checks compare, and a backup into `backup_to`
// for a target a step restores from it). Exits as `run` does.
int Capture(const Common& c, const std::string& plan_file, const std::string& name,
            const std::string& backup_to, bool skip_preflight);
int Resume(const Common& c, const std::string& run_id,
           const std::map<std::string, std::string>& approvals, bool skip_preflight = false);
int ShowStatus(const Common& c, const std::string& run_id, bool json);  // empty id: all runs
int Events(const Common& c, const std::string& run_id, bool json);
int Approve(const Common& c, const std::string& run_id, const std::string& step,
            const std::string& phrase);
int Resolve(const Common& c, const std::string& run_id, const std::string& step, bool applied);
int Abort(const Common& c, const std::string& run_id, const std::string& reason);
int Note(const Common& c, const std::string& run_id, const std::string& text);
// What `verify` checks besides the chain, the transitions and the decisions, and how it
// answers.
struct VerifyOptions {
  std::string export_file;      // verify this export instead of a run of the journal
  // Non-empty: 64 hex digits (any case) the head hash must equal; 4 if it does not, 2 if it
  // is not 64 hex digits.
  std::string expect_head;
  std::string report_file;      // a JSON report (`report --format json`): its head, as above
  std::string public_key_file;  // the run must be signed with this Ed25519 key (PEM)
  bool json = false;  // the result as one JSON object on stdout (docs/cli.md#verify)
};
// Checks a run's (or an export's) chain, transitions, signatures and every journaled
// decision (re-derived from the plan journaled in RunStarted, as replay does; a divergence
// is an integrity error, 4, naming the event) and prints what was verified, the head hash
// and the signature status; 4 if any check fails, 2 for unusable options or files.
int Verify(const Common& c, const std::string& run_id, const VerifyOptions& options);
// Writes a run as JSON Lines (journal/export.h) to stdout, or to `output_file` (mode 0600,
// written atomically) when it is not empty. With `with_logs`, also its step logs (cli/step_logs.h):
// 4 if one does not match the digest its outcome journaled or is missing.
int Export(const Common& c, const std::string& run_id, const std::string& output_file,
           bool with_logs);
// Creates a run from an export file after checking all of it (the chain, every hash, every
// transition, every decision, every step log against its journaled digest); prints the run
// id and head hash, and restores the step logs into the run's logs/ (0600). 4 (nothing
// written) if the file does not verify, 2 if the run already exists in the journal.
// With a non-empty `public_key_file`, the export must be signed with that key (4 if not).
int Import(const Common& c, const std::string& export_file, const std::string& public_key_file);
struct ReplayRequest {
  // Exactly one of the two is non-empty: a run of the journal, or an export file.
  std::string run_id;
  std::string export_file;
  // Non-empty: replay against this plan file (loaded as `validate` loads it; 2 with its
  // diagnostics when it is not valid) instead of the journaled plan.
  std::string plan_file;
  bool all = false;        // report every divergence, not only the first
  bool json = false;       // the result as one JSON object on stdout (docs/replay.md#json)
  std::string junit_file;  // non-empty: also write JUnit XML there (docs/replay.md#junit)
  // Non-empty: the run or export must be signed with this Ed25519 key (4 if not); then a
  // keyed export needs no BACKOUT_JOURNAL_KEY.
  std::string public_key_file;
};
// Re-derives every decision of a run with today's state machine. 0 when every decision
// matches, 1 naming the divergent event(s), 2 for a bad plan file or an unwritable JUnit
// file, 4 for a damaged journal or export.
int Replay(const Common& c, const ReplayRequest& request);
// Prints the plan's `triggers:` recommendation for an issue type and severity (2 when the
// plan has none for them); with a non-empty `run_id`, also journals it (TriageRecorded).
int Triage(const Common& c, const std::string& plan_file, const std::string& issue,
           const std::string& severity, const std::string& run_id);
// Renders the post-incident report of a run ("md", "html" or "json") to stdout, or to
// `output_file` (mode 0600, written atomically) when it is not empty; with `embed_plan`, the
// journaled plan text in it too. 4 for a damaged journal, 2 for an unknown run or an output
// file that cannot be written. Written as it is produced, after the run is checked; damage
// found once output began (the run changed under it) also exits 4, saying on stderr that the
// report is incomplete (docs/report.md).
int WriteReport(const Common& c, const std::string& run_id, const std::string& format,
                const std::string& output_file, bool embed_plan);

// Set by SIGINT/SIGTERM.
std::atomic<bool>& CancelFlag();

}  // namespace backout::cli
