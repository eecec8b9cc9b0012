#include "engine/preflight.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <exception>

#include "base/redactor.h"
#include "adapters/object_store/store_settings.h"
#include "capture/find.h"
#include "engine/plan_check.h"
#include "plan/interpolate.h"

namespace backout::engine {
namespace {

// One action of a step (its own or its check), with everything the adapter is asked with.
class StepPreflight {
 public:
  StepPreflight(const PreflightOptions& options, Redactor& redactor)
      : options_(options), redactor_(redactor) {
    lookups_.variable = [env = options.env](const std::string& name) {
      return env->GetVar(name);
    };
    // Known only at run time: the reference stays as written, and the adapter skips what
    // depends on it (adapters::common::KnownOnlyAtRunTime).
    lookups_.step_output = [](const std::string& step, const std::string& path) {
      return std::optional<nlohmann::json>(fmt::format("${{steps.{}.outputs.{}}}", step, path));
    };
  }

  std::vector<adapters::PreflightFinding> Check(const plan::Action& action,
                                                const ActionTarget& served,
                                                adapters::Adapter& adapter) {
    std::vector<std::string> secrets;
    Result<nlohmann::json> target = plan::ExpandTree(served.config, lookups_, &secrets);
    Result<nlohmann::json> params = plan::ExpandTree(action.params.value, lookups_, &secrets);
    for (std::string& s : secrets) redactor_.Add(std::move(s));
    if (!target.ok()) return {{"expand the target's config", target.status()}};
    if (!params.ok()) return {{"expand the parameters", params.status()}};
    // A capture step is checked as the baseline and backup it is made of.
    std::vector<capture::CapturePart> parts;
    if (action.kind == capture::kCaptureAction) {
      parts = capture::PartsOf(*params);
    } else {
      Result<capture::ResolvedAction> resolved =
          capture::ResolveAction(action.kind, *params, action.target, options_.captures);
      // A capture not resolved is reported once by whoever resolves them (the CLI), not
      // again for every step that uses it.
      if (!resolved.ok()) return {};
      parts.push_back({action.kind, "", std::move(resolved->params)});
    }
    std::vector<adapters::PreflightFinding> findings;
    for (capture::CapturePart& part : parts) {
      std::vector<adapters::PreflightFinding> found =
          Ask(adapter, adapters::PreflightRequest{.action = part.action,
                                                  .target = *target,
                                                  .params = std::move(part.params),
                                                  .base_dir = options_.base_dir,
                                                  .cancel = options_.cancel,
                                                  .env = options_.env});
      findings.insert(findings.end(), found.begin(), found.end());
    }
    return findings;
  }

  // The store's HEAD of a capture's backup kept at a URL: through the plan's target of the
  // same name when it has an `object_store` mapping (its profile, CA file), else through the
  // settings the backup's outputs recorded, as `backups verify` reaches it.
  Result<capture::StoredObject> HeadObject(const plan::Plan& plan,
                                           const capture::CapturedBackup& backup) {
    nlohmann::json settings = backup.store;
    if (const auto target = plan.targets.find(backup.target); target != plan.targets.end()) {
      const nlohmann::json& config = target->second.config.value;
      if (const auto store = config.find(adapters::object_store::kStoreKey);
          store != config.end()) {
        std::vector<std::string> secrets;
        Result<nlohmann::json> expanded = plan::ExpandTree(*store, lookups_, &secrets);
        for (std::string& s : secrets) redactor_.Add(std::move(s));
        if (!expanded.ok()) return expanded.status();
        settings = std::move(expanded).value();
      }
    }
    Result<adapters::object_store::ReachedObject> reached = adapters::object_store::ReachObject(
        backup.location, settings, *options_.env, options_.cancel);
    if (!reached.ok()) return reached.status();
    Result<adapters::object_store::ObjectHead> head = reached->client.Head(reached->url);
    if (!head.ok()) return head.status();
    return capture::StoredObject{head->bytes, head->sha256};
  }

 private:
  static std::vector<adapters::PreflightFinding> Ask(adapters::Adapter& adapter,
                                                     const adapters::PreflightRequest& request) {
    try {
      return adapter.Preflight(request);
    } catch (const std::exception& e) {
      return {{"preflight", Status::FailedPrecondition(
                                fmt::format("internal error: {}", e.what()))}};
    }
  }

  const PreflightOptions& options_;
  Redactor& redactor_;
  plan::Lookups lookups_;
};

bool SameFinding(const PreflightItem& item, const std::string& target,
                 const adapters::PreflightFinding& finding) {
  return item.target == target && item.check == finding.check &&
         item.status.code() == finding.status.code() &&
         item.status.message() == finding.status.message();
}

}  // namespace

bool PreflightResult::ok() const { return failed() == 0; }

int PreflightResult::failed() const {
  return static_cast<int>(std::count_if(items.begin(), items.end(),
                                        [](const PreflightItem& i) { return !i.status.ok(); }));
}

sm::PreflightRecord PreflightResult::Record() const {
  sm::PreflightRecord record{.mode = sm::PreflightRecord::Mode::kChecked, .checks = {}};
  for (const PreflightItem& item : items) {
    if (item.status.ok()) record.checks.push_back({item.target, item.steps, item.check});
  }
  return record;
}

PreflightResult Preflight(const plan::Plan& plan, const PreflightOptions& options) {
  Redactor redactor;
  for (const std::string& s : options.secrets) redactor.Add(s);
  StepPreflight checker(options, redactor);
  PreflightResult result;
  for (const plan::Step& step : plan.steps) {
    std::vector<const plan::Action*> actions{&step.action};
    if (step.check) actions.push_back(&*step.check);
    for (const plan::Action* action : actions) {
      if (options.cancel != nullptr && options.cancel->load()) {
        result.items.push_back({"", {step.id}, "preflight", Status::Cancelled("interrupted")});
        return result;
      }
      const std::optional<ActionTarget> served = TargetOf(plan, *action, *options.registry);
      adapters::Adapter* adapter =
          served ? options.registry->Find(served->adapter_type) : nullptr;
      if (adapter == nullptr) continue;  // an approval: nothing outside backout to ask
      for (adapters::PreflightFinding& finding : checker.Check(*action, *served, *adapter)) {
        // Adapters keep secrets out of findings; an expanded `${VAR}` is scrubbed anyway.
        finding.check = redactor.Scrub(finding.check);
        finding.status =
            Status(finding.status.code(), redactor.Scrub(finding.status.message()));
        const auto same = std::find_if(
            result.items.begin(), result.items.end(),
            [&](const PreflightItem& i) { return SameFinding(i, action->target, finding); });
        if (same == result.items.end()) {
          result.items.push_back(
              {action->target, {step.id}, std::move(finding.check), std::move(finding.status)});
        } else if (same->steps.back() != step.id) {
          same->steps.push_back(step.id);
        }
      }
    }
  }
  // The backups of the captures the plan refers to, still there and as they were taken.
  for (const nlohmann::json& journaled : options.captures) {
    Result<capture::Capture> taken = capture::CaptureFromJson(journaled);
    if (!taken.ok()) {
      result.items.push_back({"", {}, "capture", taken.status()});
      continue;
    }
    std::vector<std::string> steps;
    for (const capture::CaptureUse& use : capture::UsesOf(plan)) {
      if (use.name == taken->name && (steps.empty() || steps.back() != use.step)) {
        steps.push_back(use.step);
      }
    }
    for (capture::BackupCheck& check :
         capture::CheckBackups(*taken, [&](const capture::CapturedBackup& backup) {
           return checker.HeadObject(plan, backup);
         })) {
      result.items.push_back({check.target, steps, redactor.Scrub(check.check),
                              Status(check.status.code(), redactor.Scrub(check.status.message()))});
    }
  }
  return result;
}

std::string DescribeFinding(const PreflightItem& item) {
  const std::string where =
      fmt::format("{} {}{}", item.steps.size() == 1 ? "step" : "steps",
                  fmt::join(item.steps, ", "),
                  item.target.empty() ? "" : fmt::format(" (target {})", item.target));
  if (item.status.ok()) return fmt::format("{}: ok: {}", where, item.check);
  return fmt::format("{}: {}", where, item.status.message());
}

}  // namespace backout::engine
