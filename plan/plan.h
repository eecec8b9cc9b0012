// The in-memory form of a plan (design section 3), as produced by ParsePlan().
//
// A Plan is an immutable value once parsed. Action parameters are kept as JSON trees with
// every string exactly as written: `${...}` references are NOT expanded here (the engine
// expands them when a step runs, so expanded values never reach the journal). Each parameter
// keeps the source location of the YAML node it came from, so a later check (an adapter's
// parameter validation) can still report file:line:col.
//
// Thread safety: a const Plan may be shared between threads.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace backout::plan {

// 1-based line and column of a YAML node; 0 means "unknown".
struct SourceLoc {
  int line = 0;
  int col = 0;
};

// One finding about a plan: "plan.yaml:12:7: error: unknown action 'sqll' ..."
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  SourceLoc loc;
  std::string message;

  std::string ToString() const;
};

// A JSON tree with the source location of every node, keyed by JSON pointer
// ("" for the root, "/checks/2/row_count/table" for a nested one).
struct LocatedJson {
  nlohmann::json value = nlohmann::json::object();
  std::map<std::string, SourceLoc> locs;

  // Location of the node at `pointer`, or of its nearest located ancestor.
  SourceLoc LocOf(const std::string& pointer) const;
};

enum class OnFailure { kAbort, kPause, kContinue };

// `downtime: start` / `downtime: end`: the step that opens (e.g. maintenance on) or closes
// the outage window that reports measure.
enum class Downtime { kNone, kStart, kEnd };

// One row of a plan's rollback decision matrix (`triggers:`): for an issue type at a
// severity, the recommended action.
struct Trigger {
  std::string issue;     // e.g. "data_corruption"
  std::string severity;  // e.g. "critical"
  std::string action;    // "rollback_now" | "forward_fix" | "monitor"
  std::string note;      // optional explanation shown with the recommendation
  SourceLoc loc;
};

// One action: the single action key of a step (`sql:`, `backup:`, `command:`, ...) or a
// step's `check:`.
struct Action {
  std::string kind;    // "sql", "backup", "restore", "baseline", "verify", "query",
                       // "command", "approval"
  std::string target;  // name of a target in Plan::targets; empty for "approval"
  LocatedJson params;  // the mapping under the action key, `target` included
  std::optional<std::chrono::milliseconds> timeout;  // `timeout:` inside the action mapping
                                                     // (overrides the step's)
  SourceLoc loc;       // location of the action key
};

struct Retry {
  int attempts = 1;  // total attempts, first included; 1 means "no retry"
  std::chrono::milliseconds backoff{0};  // delay before attempt 2; doubles for each next one
};

struct Step {
  std::string id;
  std::string title;  // defaults to the id
  std::optional<std::chrono::milliseconds> planned;
  std::optional<std::chrono::milliseconds> timeout;
  Retry retry;
  bool idempotent_declared = false;  // `idempotent: true` in the plan
  // The action's adapter declares it idempotent by nature (set by the parser from the
  // vocabulary; an approval too, which only asks).
  bool idempotent_by_nature = false;
  bool always = false;
  OnFailure on_failure = OnFailure::kAbort;
  Downtime downtime = Downtime::kNone;
  Action action;
  std::optional<Action> check;
  SourceLoc loc;

  // True when re-running the step after a crash is safe: declared so in the plan, or by the
  // adapter's vocabulary (actions that only read, make something new each time, or converge
  // on a stated end state).
  bool IsIdempotent() const { return idempotent_declared || idempotent_by_nature; }
};

struct Target {
  std::string name;
  std::string type;    // "sqlite", "command", ...
  LocatedJson config;  // the whole mapping, `type` included, `rehearsal` taken out; unexpanded
  SourceLoc loc;
  // What `run --rehearse` does with this target (`rehearsal:` in the plan, see
  // docs/plan-format.md): kCopy works on a throwaway copy (databases; the default, which
  // refuses the rehearsal for a type that cannot be copied); kLive uses the real thing (a
  // stand-in service, a command that only reads); kSkip runs no step on it (journaled as
  // skipped, the run goes on); kRedirect uses the target with the keys of
  // `rehearsal_overlay` in place of the plan's (a staging base URL, another cwd).
  enum class Rehearsal { kCopy, kLive, kSkip, kRedirect };
  Rehearsal rehearsal = Rehearsal::kCopy;
  nlohmann::json rehearsal_overlay = nlohmann::json::object();  // kRedirect: unexpanded keys
};

// A plan's `retention:` block: how long the backups its runs take are kept
// (docs/backups.md#retention). `backout backups prune` keeps a backup that either rule keeps;
// nothing deletes backups when a run ends.
struct Retention {
  std::optional<int> keep_last;  // the N newest backups of each target
  std::optional<std::chrono::milliseconds> keep_within;  // those taken within this window
  SourceLoc loc;
};

struct Plan {
  int version = 1;
  std::string name;
  std::string description;
  std::string incident;
  std::map<std::string, Target> targets;
  std::vector<Step> steps;
  std::vector<Trigger> triggers;  // empty when the plan has no decision matrix
  std::optional<Retention> retention;  // absent: the plan sets no retention of its own

  std::string source_file;  // as given to ParsePlan (used in diagnostics)
  std::string text;         // the exact YAML text parsed
  std::string sha256;       // hex SHA-256 of `text`

  const Step* FindStep(const std::string& id) const;
  // The target that `step` (its action or its check) names and that a rehearsal skips
  // (`rehearsal: skip`), or nullptr: a rehearsal journals such a step as skipped.
  const Target* RehearsalSkipTarget(const Step& step) const;
  // Index of the step in `steps`, or -1.
  int IndexOf(const std::string& id) const;
  // The decision-matrix row for an issue type and severity, or nullptr.
  const Trigger* FindTrigger(const std::string& issue, const std::string& severity) const;
};

}  // namespace backout::plan
