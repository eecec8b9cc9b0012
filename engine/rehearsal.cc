#include "engine/rehearsal.h"

#include <fmt/format.h>

#include <cctype>
#include <vector>

#include "base/sha256.h"
#include "plan/interpolate.h"

namespace backout::engine {
namespace {

constexpr std::size_t kMaxCopyName = 48;

std::string Sanitized(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) != 0 ? static_cast<char>(std::tolower(u)) : '_');
  }
  return out;
}

}  // namespace

Status CheckRehearsable(const plan::Plan& plan, const adapters::Registry& registry) {
  std::vector<std::string> refused;
  for (const auto& [name, target] : plan.targets) {
    if (target.rehearsal == plan::Target::Rehearsal::kLive) continue;
    const adapters::Adapter* adapter = registry.Find(target.type);
    if (adapter == nullptr || !adapter->CanCopyForRehearsal()) {
      refused.push_back(fmt::format("'{}' ({})", name, target.type));
    }
  }
  if (refused.empty()) return Status::Ok();
  return Status::FailedPrecondition(fmt::format(
      "a rehearsal works on copies, and these targets cannot be copied: {}; mark each "
      "`rehearsal: live` in the plan if running it for real during a rehearsal is safe",
      fmt::join(refused, ", ")));
}

std::string RehearsalCopyName(std::string_view run_id, std::string_view target) {
  std::string name = fmt::format("backout_rh_{}_{}", Sanitized(run_id), Sanitized(target));
  if (name.size() <= kMaxCopyName) return name;
  // Too long: keep a readable prefix and make it unique with a hash of the whole.
  const std::string hash = Sha256Hex(name).substr(0, 12);
  return name.substr(0, kMaxCopyName - hash.size() - 1) + "_" + hash;
}

Result<RehearsalCopies> RehearsalCopies::Prepare(const plan::Plan& plan,
                                                 RehearsalContext context) {
  plan::Lookups lookups;
  lookups.variable = [&](const std::string& name) { return context.env->GetVar(name); };
  RehearsalCopies copies;
  for (const auto& [name, target] : plan.targets) {
    if (target.rehearsal == plan::Target::Rehearsal::kLive) continue;
    adapters::Adapter* adapter = context.registry->Find(target.type);
    if (adapter == nullptr || !adapter->CanCopyForRehearsal()) {
      return CheckRehearsable(plan, *context.registry);
    }
    std::vector<std::string> secrets;  // the copy's config is never journaled or printed
    Result<nlohmann::json> config = plan::ExpandTree(target.config.value, lookups, &secrets);
    if (!config.ok()) return config.status().WithContext("target " + name);
    adapters::RehearsalScratch scratch{.name = RehearsalCopyName(context.run_id, name),
                                       .dir = context.scratch_dir,
                                       .base_dir = context.base_dir,
                                       .cancel = context.cancel,
                                       .progress = context.progress};
    if (context.progress) context.progress(fmt::format("copying target {} for the rehearsal", name));
    Result<nlohmann::json> copy = adapter->MakeRehearsalCopy(*config, scratch);
    if (!copy.ok()) {
      return copy.status().WithContext(fmt::format("rehearsal copy of target {}", name));
    }
    copies.copies_.emplace(name, Copy{adapter, std::move(copy).value(), std::move(scratch)});
  }
  return copies;
}

const nlohmann::json* RehearsalCopies::Find(const std::string& target) const {
  const auto it = copies_.find(target);
  return it == copies_.end() ? nullptr : &it->second.config;
}

Status RehearsalCopies::DropAll() {
  Status first;
  for (auto& [name, copy] : copies_) {
    Status s = copy.adapter->DropRehearsalCopy(copy.config, copy.scratch);
    if (!s.ok() && first.ok()) first = s.WithContext(fmt::format("dropping the copy of {}", name));
  }
  return first;
}

}  // namespace backout::engine
