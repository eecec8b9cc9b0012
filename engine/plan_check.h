// The full validation of a plan file, as `backout validate` and `backout run` do it: parse
// and structure (plan/parser), `${VAR}` presence in the environment, each adapter's own
// parameter checks, and cross-step rules (a verify that compares with "baseline" needs an
// earlier baseline step on the same target). Nothing here touches a target or the journal.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "plan/parser.h"
#include "plan/plan.h"
#include "plan/vocabulary.h"

namespace backout::engine {

// What the plan parser checks against, from the vocabularies of `registry`'s adapters, in
// the order they were added: the types of adapters that have targets of their own, each
// offering its own actions and those of adapters that serve its targets (an http target
// offers http and notify); every action kind; the actions that need no target.
plan::Vocabulary PlanVocabulary(const adapters::Registry& registry);

// PlanVocabulary(adapters::Registry::Default()), built once: for reading a plan that was
// checked already (a journaled plan) without a registry at hand.
const plan::Vocabulary& DefaultPlanVocabulary();

struct PlanCheck {
  std::optional<plan::Plan> plan;            // set when there are no errors
  std::vector<plan::Diagnostic> diagnostics; // errors and warnings, in file order

  bool ok() const { return plan.has_value(); }
};

// With a non-empty `journal_dir`, also refuses every path of the plan that resolves into the
// journal directory (see CheckPathsOutsideJournal).
PlanCheck CheckPlanText(std::string_view text, const std::string& source_file,
                        const adapters::Registry& registry, const plan::VarLookup& vars,
                        const std::filesystem::path& journal_dir = {});

// An error for every file path of the plan that resolves into `journal_dir`: a target's
// `path` or `root` and an action's `path`, `to`, `from` and `file` (SQLite, PostgreSQL, DynamoDB, file
// and JSON-store targets), resolved as the adapters resolve them (against the plan's folder,
// a file target's action paths against its root), `${VAR}` expanded from `vars`, and symlinks
// followed as far as the path exists. A plan writing a backup over a journal file, or
// restoring a database from one, would corrupt another run (a reader then sees exit 4), so
// this is refused before any run is created. Not checked here: paths holding a
// `${steps...}` reference (PathIntoJournal checks them when the step runs), URLs (s3://),
// command arguments.
std::vector<plan::Diagnostic> CheckPathsOutsideJournal(const plan::Plan& plan,
                                                       const std::filesystem::path& journal_dir,
                                                       const plan::VarLookup& vars);

// The same check at run time, on one action's expanded target config and params (a path
// made of `${steps...}` outputs is known only then): the message for the first path into
// `journal_dir`, or nullopt. `base_dir` is the plan's directory.
std::optional<std::string> PathIntoJournal(std::string_view target_type,
                                           std::string_view action_kind,
                                           const nlohmann::json& target_config,
                                           const nlohmann::json& params,
                                           const std::filesystem::path& base_dir,
                                           const std::filesystem::path& journal_dir);

// The same checks for a plan already parsed (used on resume for the journaled plan).
std::vector<plan::Diagnostic> CheckParsedPlan(const plan::Plan& plan,
                                              const adapters::Registry& registry,
                                              const plan::VarLookup& vars);

// What serves `action`, as validation and the engine both need it: the adapter's type and
// the unexpanded target config it is given. The adapter is the one `registry` names
// (Registry::TypeServing: every notification goes to the notify adapter, its target, when it
// has one, being the webhook; any other action to its target's adapter). An action without
// a target gets a config holding only the adapter's type, and `target` then points at an
// empty Target. nullopt when the action names a target the plan lacks.
struct ActionTarget {
  std::string adapter_type;
  const plan::Target* target;
  nlohmann::json config;
};
std::optional<ActionTarget> TargetOf(const plan::Plan& plan, const plan::Action& action,
                                     const adapters::Registry& registry);

// The index of the latest step before `step_index` whose action is a baseline on `target`,
// or -1.
int BaselineStepFor(const plan::Plan& plan, int step_index, const std::string& target);

// Which content checksums the baseline step at `step_index` computes, as the value of its
// `checksum` parameter (adapters/common/verify.h): true (all), false (none) or a sorted list
// of names. Decided from the plan alone, before the run; the engine passes it to the adapters
// whose baseline takes the parameter. As the step's `checksum:` says when the plan writes it;
// otherwise only those a later step reads: a `checksum` check `equals: baseline` of a verify
// (a step's action or its check) on the same target whose baseline this is
// (BaselineStepFor), the checksum of the table (collection) it names, or all of them when
// the name is a `${...}` reference; and a `${steps.ID.outputs.PATH}` reference to this step:
// `tables.T.checksum` reads T's, a PATH that stops above the checksums (`tables`, `tables.T`,
// the outputs whole) reads them all. A plan that compares only counts pays only for counts.
nlohmann::json BaselineChecksums(const plan::Plan& plan, int step_index);

}  // namespace backout::engine
