// The `backout` subcommands. Each returns the process exit code (design section 4):
//   0 done / run succeeded, 1 run failed or aborted, 2 usage or plan error, 3 run paused,
//   4 journal integrity error, 5 run locked by another runner.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <vector>

#include "journal/chain_key.h"
#include "plan/parser.h"

namespace backout::cli {

struct Common {
  std::string journal_dir;  // resolved: --journal, $BACKOUT_JOURNAL, ./.backout
  std::string operator_name;  // resolved: --operator, $BACKOUT_OPERATOR, login name
  // $BACKOUT_JOURNAL_KEY, read once by main; empty: unkeyed. Never printed or journaled.
  journal::ChainKey journal_key;
  // Values to mask in everything a run writes (the journal key's text, when there is one).
  std::vector<std::string> secrets;
};

// The process environment, as plans read their `${VAR}`s.
plan::VarLookup EnvLookup();

// Full validation; also refuses paths into the journal directory (c.journal_dir).
struct ValidateMode {
  bool connect = false;  // also run the whole preflight (engine/preflight.h); 2 if a check fails
  bool json = false;     // with `connect`: the findings as one JSON object on stdout
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
int Resume(const Common& c, const std::string& run_id,
           const std::map<std::string, std::string>& approvals, bool skip_preflight = false);
int ShowStatus(const Common& c, const std::string& run_id, bool json);  // empty id: all runs
int Events(const Common& c, const std::string& run_id, bool json);
int Approve(const Common& c, const std::string& run_id, const std::string& step,
            const std::string& phrase);
int Resolve(const Common& c, const std::string& run_id, const std::string& step, bool applied);
int Abort(const Common& c, const std::string& run_id, const std::string& reason);
int Note(const Common& c, const std::string& run_id, const std::string& text);
// Checks a run's chain and transitions and prints its head hash; with a non-empty
// `expect_head` (64 hex digits, any case), also that the head hash is that one: 4 if not.
int Verify(const Common& c, const std::string& run_id, const std::string& expect_head);
// Writes a run as JSON Lines (journal/export.h) to stdout, or to `output_file` (mode 0600,
// written atomically) when it is not empty. With `with_logs`, also its step logs (cli/step_logs.h):
// 4 if one does not match the digest its outcome journaled or is missing.
int Export(const Common& c, const std::string& run_id, const std::string& output_file,
           bool with_logs);
// Creates a run from an export file after checking all of it (the chain, every hash, every
// transition, every step log against its journaled digest); prints the run id and head hash,
// and restores the step logs into the run's logs/ (0600). 4 (nothing written) if the file
// does not verify, 2 if the run already exists in the journal.
int Import(const Common& c, const std::string& export_file);
// Re-derives every decision of a run (`run_id`), or of an export file (`export_file`), with
// today's state machine; exactly one of the two is non-empty. 0 when every decision
// matches, 1 naming the first divergent event, 4 for a damaged journal or export.
int Replay(const Common& c, const std::string& run_id, const std::string& export_file);
// Prints the plan's `triggers:` recommendation for an issue type and severity (2 when the
// plan has none for them); with a non-empty `run_id`, also journals it (TriageRecorded).
int Triage(const Common& c, const std::string& plan_file, const std::string& issue,
           const std::string& severity, const std::string& run_id);
// Renders the post-incident report of a run ("md", "html" or "json") to stdout, or to
// `output_file` (mode 0600, written atomically) when it is not empty; with `embed_plan`, the
// journaled plan text in it too. 4 for a damaged journal, 2 for an unknown run or an output
// file that cannot be written.
int WriteReport(const Common& c, const std::string& run_id, const std::string& format,
                const std::string& output_file, bool embed_plan);

// Set by SIGINT/SIGTERM.
std::atomic<bool>& CancelFlag();

}  // namespace backout::cli
