#include "engine/target_locks.h"

#include <fmt/format.h>

#include <set>
#include <vector>

#include "base/redactor.h"
#include "plan/interpolate.h"

namespace backout::engine {

Status LockTarget(const plan::Plan& plan, const std::string& name, const LockContext& context) {
  const auto it = plan.targets.find(name);
  if (it == plan.targets.end()) return Status::Ok();  // an approval; or reported by validation
  const plan::Target& target = it->second;
  // A rehearsal runs no step on a skipped target: nothing of it is touched, not even a lock.
  if (context.copies != nullptr && target.rehearsal == plan::Target::Rehearsal::kSkip) {
    return Status::Ok();
  }
  adapters::Adapter* adapter = context.registry->Find(target.type);
  if (adapter == nullptr) return Status::Ok();  // the step reports the missing adapter
  adapters::LockRequest request;
  Redactor redactor;
  if (const nlohmann::json* copy = context.copies ? context.copies->Find(name) : nullptr) {
    request.target = *copy;
  } else {
    plan::Lookups lookups;
    lookups.variable = [&](const std::string& var) { return context.env->GetVar(var); };
    std::vector<std::string> secrets;
    Result<nlohmann::json> config = plan::ExpandTree(target.config.value, lookups, &secrets);
    for (std::string& s : secrets) redactor.Add(std::move(s));
    // A config that needs more than the environment (an earlier step's output) is expanded
    // only when its step runs, and that step reports any problem with it; such a target is
    // not locked (docs/architecture.md says so).
    if (!config.ok()) return Status::Ok();
    request.target = std::move(config).value();
  }
  request.run_id = context.run_id;
  request.base_dir = context.base_dir;
  request.same_run_wait = context.same_run_wait;
  request.cancel = context.cancel;
  request.env = context.env;
  const Status locked = adapter->Lock(request);
  if (locked.code() != Code::kLocked && locked.code() != Code::kCancelled) return Status::Ok();
  return Status(locked.code(),
                fmt::format("target {}: {}", name, redactor.Scrub(locked.message())));
}

Status LockPlanTargets(const plan::Plan& plan, const LockContext& context) {
  std::set<std::string> used;
  for (const plan::Step& step : plan.steps) {
    used.insert(step.action.target);
    if (step.check) used.insert(step.check->target);
  }
  for (const std::string& name : used) {
    BACKOUT_RETURN_IF_ERROR(LockTarget(plan, name, context));
  }
  return Status::Ok();
}

}  // namespace backout::engine
