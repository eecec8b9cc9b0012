// Rehearsal (`backout run PLAN --rehearse`): the plan runs without side effects on what it
// would roll back, journaled as a rehearsal run (RunStarted.rehearsal). What happens to each
// target is the plan's `rehearsal:` setting (plan::Target::Rehearsal, docs/plan-format.md):
//   copy (default)  a throwaway copy of the target, made by its adapter (adapters/adapter.h:
//                   a file copy for SQLite, a cloned scratch database for PostgreSQL), used
//                   for every step on the target and dropped when the run finishes; a type
//                   that cannot be copied refuses the rehearsal before a run exists;
//   live            the real target, as is (a stand-in service, a read-only command);
//   skip            no step on it runs: sm::Decide skips them (journaled StepSkipped with
//                   the reason), and the target is not even locked;
//   a mapping       the target with those keys in place of the plan's (a staging base URL,
//                   another cwd): "redirected".
// Files an action writes outside its target (a backup, an export, a notification log:
// adapters::ParamSpec::written_in_rehearsal_scratch) go under the run's scratch directory
// (<scratch>/files/<the plan's path>), never into the plan's real folders; they are kept
// after the run, as evidence of what the rehearsal wrote.
//
// Crash semantics: the copies are not journaled. Their names derive from the run id and the
// target, and an adapter returns an existing complete copy as is, so a resumed rehearsal
// finds the copies its first runner made. A runner killed after RunFinished but before the
// drop leaves them behind (named backout_rh_<run>_<target>) for the operator to remove.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "base/env.h"
#include "base/status.h"
#include "plan/plan.h"

namespace backout::engine {

// kFailedPrecondition naming every target a rehearsal cannot handle: one left at the default
// (copy) whose adapter cannot copy it (the message names the other choices), and one
// redirected to keys its actions refuse or to `${VAR}`s that `env` lacks. Checked before a
// rehearsal's run is created.
Status CheckRehearsable(const plan::Plan& plan, const adapters::Registry& registry, Env* env);

// The name of `target`'s copy in run `run_id`: [a-z0-9_], at most 48 characters, the same
// every time (a PostgreSQL database name, a file name).
std::string RehearsalCopyName(std::string_view run_id, std::string_view target);

// Where a rehearsal writes a file the plan sends to `written` (a path as the action has it,
// relative to the plan's directory or absolute): the same path under `files_dir`.
std::filesystem::path RehearsalFilePath(const std::filesystem::path& files_dir,
                                        const std::string& written);

struct RehearsalContext {
  const adapters::Registry* registry = nullptr;
  Env* env = nullptr;                   // ${VAR} in target configs
  std::string run_id;
  std::filesystem::path scratch_dir;    // private directory for file copies
  std::filesystem::path base_dir;       // the plan's directory
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(std::string_view)> progress;
};

// The targets of one rehearsal run as the run uses them (copied or redirected), by target
// name, and where its files go. Not thread-safe.
class RehearsalCopies {
 public:
  // Makes, or finds from an earlier runner of the run, a copy of every target of `plan` that
  // is left at `rehearsal: copy`, and expands the config of every redirected one.
  static Result<RehearsalCopies> Prepare(const plan::Plan& plan, RehearsalContext context);

  // The config to use for `target` instead of the plan's, or nullptr (use the plan's).
  const nlohmann::json* Find(const std::string& target) const;

  // `params` of an action declared by `spec`, each path it writes outside its target
  // (ParamSpec::written_in_rehearsal_scratch: a path string, or the `{file: PATH}` form of a
  // parameter that may be a mapping) moved to
  // RehearsalFilePath under the run's scratch directory. Values of another shape are left
  // for the adapter to refuse.
  nlohmann::json WithFilesInScratch(const adapters::ActionSpec& spec,
                                    nlohmann::json params) const;

  // Drops every copy; the first failure is returned after trying them all. Redirected
  // targets and the files the rehearsal wrote are left alone.
  Status DropAll();

 private:
  struct Copy {
    adapters::Adapter* adapter;  // nullptr: redirected, nothing to drop
    nlohmann::json config;
    adapters::RehearsalScratch scratch;
  };
  std::map<std::string, Copy> copies_;
  std::filesystem::path files_dir_;
};

}  // namespace backout::engine
