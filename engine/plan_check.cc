#include "engine/plan_check.h"

#include <fmt/format.h>

#include <algorithm>

namespace backout::engine {
namespace {

using plan::Diagnostic;

Diagnostic Error(const plan::Plan& p, plan::SourceLoc loc, std::string message) {
  return Diagnostic{Diagnostic::Severity::kError, p.source_file, loc, std::move(message)};
}

void CheckAction(const plan::Plan& p, int step_index, const plan::Action& action,
                 const adapters::Registry& registry, std::vector<Diagnostic>& out) {
  if (action.kind == "approval") return;  // no target; the parser checked prompt and phrase
  const std::optional<ActionTarget> served = TargetOf(p, action);
  if (!served) return;  // the parser reported the unknown target
  const plan::Target& target = *served->target;
  const adapters::Adapter* adapter = registry.Find(served->adapter_type);
  if (adapter == nullptr) {
    out.push_back(Error(p, action.target.empty() ? action.loc : target.loc,
                        fmt::format("no adapter for target type '{}' in this build",
                                    served->adapter_type)));
    return;
  }
  for (const adapters::ParamError& e :
       adapter->Validate(action.kind, served->config, action.params.value)) {
    const plan::SourceLoc loc =
        e.in_target ? target.config.LocOf(e.pointer) : action.params.LocOf(e.pointer);
    out.push_back(Error(p, loc, e.message));
  }
  // A comparison with "baseline" needs an earlier baseline of the same target.
  const nlohmann::json& checks = action.params.value.contains("checks")
                                     ? action.params.value["checks"]
                                     : nlohmann::json::array();
  if (action.kind != "verify" || !checks.is_array()) return;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i].is_object()) continue;
    for (const auto& [kind, spec] : checks[i].items()) {
      if (spec.is_object() && spec.value("equals", nlohmann::json()) == "baseline" &&
          BaselineStepFor(p, step_index, action.target) < 0) {
        out.push_back(Error(p, action.params.LocOf(fmt::format("/checks/{}/{}/equals", i, kind)),
                            fmt::format("'{}' compares with a baseline, but no earlier step takes "
                                        "a baseline of target '{}'",
                                        kind, action.target)));
      }
    }
  }
}

// A full restore replaces a whole database: a plan should make a person confirm it first.
void CheckFullRestoreIsApproved(const plan::Plan& p, std::vector<Diagnostic>& out) {
  bool approved = false;
  for (const plan::Step& step : p.steps) {
    if (step.action.kind == "approval") approved = true;
    const nlohmann::json& params = step.action.params.value;
    if (step.action.kind != "restore" || approved || params.value("full", false) != true) {
      continue;
    }
    out.push_back(Diagnostic{
        Diagnostic::Severity::kWarning, p.source_file, step.action.loc,
        fmt::format("step '{}' restores the whole database of target '{}' with no approval "
                    "step before it; add one (approval: {{prompt: ..., phrase: ...}}) so that "
                    "a person confirms it",
                    step.id, step.action.target)});
  }
}

}  // namespace

std::optional<ActionTarget> TargetOf(const plan::Plan& plan, const plan::Action& action) {
  static const plan::Target kNoTarget;
  const bool notify = action.kind == "notify";
  if (action.target.empty()) {
    return ActionTarget{action.kind, &kNoTarget, nlohmann::json{{"type", action.kind}}};
  }
  const auto it = plan.targets.find(action.target);
  if (it == plan.targets.end()) return std::nullopt;
  return ActionTarget{notify ? std::string("notify") : it->second.type, &it->second,
                      it->second.config.value};
}

int BaselineStepFor(const plan::Plan& plan, int step_index, const std::string& target) {
  for (int i = step_index - 1; i >= 0; --i) {
    const plan::Action& a = plan.steps[static_cast<std::size_t>(i)].action;
    if (a.kind == "baseline" && a.target == target) return i;
  }
  return -1;
}

std::vector<Diagnostic> CheckParsedPlan(const plan::Plan& p, const adapters::Registry& registry,
                                        const plan::VarLookup& vars) {
  std::vector<Diagnostic> out = plan::CheckVariables(p, vars);
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    const plan::Step& step = p.steps[i];
    CheckAction(p, static_cast<int>(i), step.action, registry, out);
    if (step.check) CheckAction(p, static_cast<int>(i), *step.check, registry, out);
  }
  CheckFullRestoreIsApproved(p, out);
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.loc.line, a.loc.col) < std::tie(b.loc.line, b.loc.col);
  });
  return out;
}

PlanCheck CheckPlanText(std::string_view text, const std::string& source_file,
                        const adapters::Registry& registry, const plan::VarLookup& vars) {
  PlanCheck result;
  plan::ParseOutcome parsed = plan::ParsePlan(text, source_file);
  result.diagnostics = std::move(parsed.diagnostics);
  if (!parsed.ok()) return result;
  std::vector<Diagnostic> more = CheckParsedPlan(*parsed.plan, registry, vars);
  const bool has_error = std::any_of(more.begin(), more.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
  result.diagnostics.insert(result.diagnostics.end(), more.begin(), more.end());
  if (!has_error) result.plan = std::move(parsed.plan);
  return result;
}

}  // namespace backout::engine
