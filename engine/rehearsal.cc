#include "engine/rehearsal.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "base/sha256.h"
#include "plan/interpolate.h"

namespace backout::engine {
namespace {

constexpr std::size_t kMaxCopyName = 48;
constexpr char kFilesDirName[] = "files";

std::string Sanitized(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(std::isalnum(u) != 0 ? static_cast<char>(std::tolower(u)) : '_');
  }
  return out;
}

// The config a redirected target has in a rehearsal (unexpanded): the plan's, each key of
// the `rehearsal:` mapping in place of the plan's.
nlohmann::json RedirectedConfig(const plan::Target& target) {
  nlohmann::json config = target.config.value;
  for (const auto& [key, value] : target.rehearsal_overlay.items()) config[key] = value;
  return config;
}

// What the actions on a redirected target say of its rehearsal config: "'app': /base_url:
// ..." for each problem in it, once.
void CheckRedirect(const plan::Plan& plan, const plan::Target& target,
                   const adapters::Registry& registry, const plan::Lookups& lookups,
                   std::vector<std::string>* problems) {
  std::vector<std::string> secrets;  // only whether it expands matters here
  if (Result<nlohmann::json> expanded =
          plan::ExpandTree(target.rehearsal_overlay, lookups, &secrets);
      !expanded.ok()) {
    problems->push_back(
        fmt::format("'{}' redirected: {}", target.name, expanded.status().message()));
  }
  const nlohmann::json config = RedirectedConfig(target);
  std::vector<std::string> seen;
  for (const plan::Step& step : plan.steps) {
    for (const plan::Action* action : {&step.action, step.check ? &*step.check : nullptr}) {
      if (action == nullptr || action->target != target.name) continue;
      const adapters::Adapter* adapter =
          registry.Find(registry.TypeServing(action->kind, target.type));
      if (adapter == nullptr) continue;  // validation reported the unknown type
      for (const adapters::ParamError& e : adapter->Validate(action->kind, config,
                                                             action->params.value)) {
        if (!e.in_target) continue;
        std::string problem = fmt::format("'{}' redirected: {}: {}", target.name,
                                          e.pointer.empty() ? "/" : e.pointer, e.message);
        if (std::find(seen.begin(), seen.end(), problem) != seen.end()) continue;
        seen.push_back(problem);
        problems->push_back(std::move(problem));
      }
    }
  }
}

}  // namespace

Status CheckRehearsable(const plan::Plan& plan, const adapters::Registry& registry, Env* env) {
  plan::Lookups lookups;
  lookups.variable = [env](const std::string& name) { return env->GetVar(name); };
  std::vector<std::string> uncopyable;
  std::vector<std::string> bad_redirects;
  for (const auto& [name, target] : plan.targets) {
    switch (target.rehearsal) {
      case plan::Target::Rehearsal::kLive:
      case plan::Target::Rehearsal::kSkip:
        break;
      case plan::Target::Rehearsal::kRedirect:
        CheckRedirect(plan, target, registry, lookups, &bad_redirects);
        break;
      case plan::Target::Rehearsal::kCopy: {
        const adapters::Adapter* adapter = registry.Find(target.type);
        if (adapter == nullptr || !adapter->CanCopyForRehearsal()) {
          uncopyable.push_back(fmt::format("'{}' ({})", name, target.type));
        }
        break;
      }
    }
  }
  std::vector<std::string> problems;
  if (!uncopyable.empty()) {
    problems.push_back(fmt::format(
        "a rehearsal works on copies, and these targets cannot be copied: {}; say in the plan "
        "what a rehearsal does with each: `rehearsal: skip` (its steps are not run), a "
        "mapping of the keys to use instead (`rehearsal: {{ base_url: ... }}`, "
        "`rehearsal: {{ cwd: ... }}`), or `rehearsal: live` if running it for real during a "
        "rehearsal is safe",
        fmt::join(uncopyable, ", ")));
  }
  if (!bad_redirects.empty()) {
    problems.push_back(fmt::format("targets redirected for the rehearsal to what cannot "
                                   "be used: {}",
                                   fmt::join(bad_redirects, "; ")));
  }
  if (problems.empty()) return Status::Ok();
  return Status::FailedPrecondition(fmt::format("{}", fmt::join(problems, "; and ")));
}

std::string RehearsalCopyName(std::string_view run_id, std::string_view target) {
  std::string name = fmt::format("backout_rh_{}_{}", Sanitized(run_id), Sanitized(target));
  if (name.size() <= kMaxCopyName) return name;
  // Too long: keep a readable prefix and make it unique with a hash of the whole.
  const std::string hash = Sha256Hex(name).substr(0, 12);
  return name.substr(0, kMaxCopyName - hash.size() - 1) + "_" + hash;
}

std::filesystem::path RehearsalFilePath(const std::filesystem::path& files_dir,
                                        const std::string& written) {
  // Appended as text, not with operator/ (an absolute path would replace the directory), so
  // that a trailing '/' ("backups/": a folder) is kept.
  if (written.starts_with('/')) return files_dir.string() + written;
  return files_dir.string() + "/" + written;
}

Result<RehearsalCopies> RehearsalCopies::Prepare(const plan::Plan& plan,
                                                 RehearsalContext context) {
  plan::Lookups lookups;
  lookups.variable = [&](const std::string& name) { return context.env->GetVar(name); };
  RehearsalCopies copies;
  copies.files_dir_ = context.scratch_dir / kFilesDirName;
  auto say = [&](std::string text) {
    if (context.progress) context.progress(text);
  };
  for (const auto& [name, target] : plan.targets) {
    const bool redirected = target.rehearsal == plan::Target::Rehearsal::kRedirect;
    if (target.rehearsal == plan::Target::Rehearsal::kLive) {
      say(fmt::format("target {} is live in this rehearsal: its steps use the real one", name));
      continue;
    }
    if (target.rehearsal == plan::Target::Rehearsal::kSkip) {
      say(fmt::format("target {} is skipped in this rehearsal: its steps are not run", name));
      continue;
    }
    adapters::Adapter* adapter = context.registry->Find(target.type);
    if (adapter == nullptr || (!redirected && !adapter->CanCopyForRehearsal())) {
      return CheckRehearsable(plan, *context.registry, context.env);
    }
    std::vector<std::string> secrets;  // the copy's config is never journaled or printed
    Result<nlohmann::json> config = plan::ExpandTree(
        redirected ? RedirectedConfig(target) : target.config.value, lookups, &secrets);
    if (!config.ok()) {
      return config.status().WithContext(
          fmt::format("target {}{}", name, redirected ? " (redirected for the rehearsal)" : ""));
    }
    adapters::RehearsalScratch scratch{.name = RehearsalCopyName(context.run_id, name),
                                       .dir = context.scratch_dir,
                                       .base_dir = context.base_dir,
                                       .cancel = context.cancel,
                                       .progress = context.progress};
    if (redirected) {
      std::vector<std::string> keys;
      for (const auto& [key, value] : target.rehearsal_overlay.items()) keys.push_back(key);
      say(fmt::format("target {} is redirected in this rehearsal ({})", name, fmt::join(keys, ", ")));
      copies.copies_.emplace(name, Copy{nullptr, std::move(config).value(), std::move(scratch)});
      continue;
    }
    say(fmt::format("copying target {} for the rehearsal", name));
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

nlohmann::json RehearsalCopies::WithFilesInScratch(const adapters::ActionSpec& spec,
                                                   nlohmann::json params) const {
  for (const adapters::ParamSpec& param : spec.params) {
    if (!param.written_in_rehearsal_scratch) continue;
    const auto it = params.find(param.name);
    if (it == params.end()) continue;
    // A parameter that may also be a mapping (notify's `to`: `stdout` or `{file: PATH}`) is a
    // path only in its `{file: PATH}` form.
    nlohmann::json* path = nullptr;
    if (it->is_object() && it->contains("file")) {
      path = &(*it)["file"];
    } else if ((param.type & adapters::kObject) == 0) {
      path = &*it;
    }
    if (path != nullptr && path->is_string() && !path->get_ref<const std::string&>().empty()) {
      *path = RehearsalFilePath(files_dir_, path->get<std::string>()).string();
    }
  }
  return params;
}

Status RehearsalCopies::DropAll() {
  Status first;
  for (auto& [name, copy] : copies_) {
    if (copy.adapter == nullptr) continue;
    Status s = copy.adapter->DropRehearsalCopy(copy.config, copy.scratch);
    if (!s.ok() && first.ok()) first = s.WithContext(fmt::format("dropping the copy of {}", name));
  }
  return first;
}

}  // namespace backout::engine
