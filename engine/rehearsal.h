// Rehearsal (`backout run PLAN --rehearse`): the plan runs against throwaway copies of its
// database targets, journaled as a rehearsal run (RunStarted.rehearsal), and the copies are
// dropped when the run finishes.
//
// Each target's adapter makes the copy (adapters/adapter.h: a file copy for SQLite, a cloned
// scratch database for PostgreSQL) and returns the config that points at it; the engine
// hands that config to every step on the target in place of the real one. A target marked
// `rehearsal: live` in the plan is used as is (a stand-in service, a read-only command).
//
// Crash semantics: the copies are not journaled. Their names derive from the run id and the
// target, and an adapter returns an existing complete copy as is, so a resumed rehearsal
// finds the copies its first runner made. A runner killed after RunFinished but before the
// drop leaves them behind (named backout_rh_<run>_<target>) for the operator to remove.
#pragma once

#include <atomic>
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

// kFailedPrecondition naming every target that needs a copy its adapter cannot make.
Status CheckRehearsable(const plan::Plan& plan, const adapters::Registry& registry);

// The name of `target`'s copy in run `run_id`: [a-z0-9_], at most 48 characters, the same
// every time (a PostgreSQL database name, a file name).
std::string RehearsalCopyName(std::string_view run_id, std::string_view target);

struct RehearsalContext {
  const adapters::Registry* registry = nullptr;
  Env* env = nullptr;                   // ${VAR} in target configs
  std::string run_id;
  std::filesystem::path scratch_dir;    // private directory for file copies
  std::filesystem::path base_dir;       // the plan's directory
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(std::string_view)> progress;
};

// The copies of one rehearsal run, by target name. Not thread-safe.
class RehearsalCopies {
 public:
  // Makes, or finds from an earlier runner of the run, a copy of every target of `plan` that
  // is not `rehearsal: live`.
  static Result<RehearsalCopies> Prepare(const plan::Plan& plan, RehearsalContext context);

  // The config to use for `target` instead of the plan's, or nullptr (use the plan's).
  const nlohmann::json* Find(const std::string& target) const;

  // Drops every copy; the first failure is returned after trying them all.
  Status DropAll();

 private:
  struct Copy {
    adapters::Adapter* adapter;
    nlohmann::json config;
    adapters::RehearsalScratch scratch;
  };
  std::map<std::string, Copy> copies_;
};

}  // namespace backout::engine
