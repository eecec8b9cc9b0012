#include "preview/preview.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <utility>

#include "adapters/common/describe.h"
#include "base/redactor.h"
#include "capture/capture.h"
#include "engine/plan_check.h"
#include "plan/interpolate.h"
#include "statemachine/decide.h"
#include "statemachine/simulate.h"

namespace backout::preview {
namespace {

using nlohmann::json;

std::string_view OnFailureName(plan::OnFailure on_failure) {
  switch (on_failure) {
    case plan::OnFailure::kAbort: return "abort";
    case plan::OnFailure::kPause: return "pause";
    case plan::OnFailure::kContinue: return "continue";
  }
  return "abort";
}

json DowntimeJson(plan::Downtime downtime) {
  switch (downtime) {
    case plan::Downtime::kStart: return "start";
    case plan::Downtime::kEnd: return "end";
    case plan::Downtime::kNone: break;
  }
  return nullptr;
}

// What Decide() does with the step when a resume finds it in doubt (sm::InDoubtRuleOf).
std::string_view InDoubtPolicy(const plan::Step& step) {
  switch (sm::InDoubtRuleOf(step)) {
    case sm::InDoubtRule::kRunAgain: return "runs_again";
    case sm::InDoubtRule::kCheckDecides: return "check_decides";
    case sm::InDoubtRule::kOperatorResolves: break;
  }
  return "operator_resolves";
}

json MillisOrNull(const std::optional<std::chrono::milliseconds>& d) {
  return d ? json(d->count()) : json(nullptr);
}

// `tree` with every `${VAR}` expanded and every `${steps...}` left as written (the form of
// adapters::DescribeRequest::expanded_params); the expanded values go to `secrets`. The tree
// as written when it cannot be expanded (plan validation reported why).
json ExpandKnown(const json& tree, const plan::VarLookup& variables,
                 std::vector<std::string>& secrets) {
  plan::Lookups lookups;
  lookups.variable = variables;
  lookups.step_output = [](const std::string& step, const std::string& path) {
    return std::optional<json>(fmt::format("${{steps.{}.outputs.{}}}", step, path));
  };
  Result<json> expanded = plan::ExpandTree(tree, lookups, &secrets);
  return expanded.ok() ? std::move(expanded).value() : tree;
}

// Every `${steps.ID.outputs.NAME}` in the strings of `tree`, with where it is (a JSON
// pointer into the action's parameters), once each.
void CollectRunTimeValues(const json& tree, const std::string& pointer, json& out) {
  if (tree.is_object()) {
    for (const auto& [key, value] : tree.items()) {
      CollectRunTimeValues(value, pointer + "/" + key, out);
    }
  } else if (tree.is_array()) {
    for (std::size_t i = 0; i < tree.size(); ++i) {
      CollectRunTimeValues(tree[i], fmt::format("{}/{}", pointer, i), out);
    }
  } else if (tree.is_string()) {
    Result<std::vector<plan::Reference>> refs = plan::FindReferences(tree.get<std::string>());
    if (!refs.ok()) return;
    for (const plan::Reference& ref : *refs) {
      if (ref.kind != plan::Reference::Kind::kStepOutput) continue;
      json value{{"reference", fmt::format("${{steps.{}.outputs.{}}}", ref.name, ref.output_path)},
                 {"step", ref.name},
                 {"output", ref.output_path},
                 {"in", pointer}};
      if (std::find(out.begin(), out.end(), value) == out.end()) out.push_back(std::move(value));
    }
  }
}

class Previewer {
 public:
  Previewer(const plan::Plan& plan, const PreviewOptions& options)
      : plan_(plan), options_(options) {
    for (const std::string& s : options.secrets) secrets_.push_back(s);
  }

  Result<json> Build() {
    json targets = json::array();
    for (const auto& [name, target] : plan_.targets) {
      targets.push_back(json{{"name", name}, {"type", target.type}});
    }
    Result<sm::SimulatedPath> success = sm::Simulate(plan_, {});
    if (!success.ok()) return success.status();
    json steps = json::array();
    for (std::size_t i = 0; i < plan_.steps.size(); ++i) {
      Result<json> step = Step(static_cast<int>(i));
      if (!step.ok()) return step.status();
      steps.push_back(std::move(step).value());
    }
    json preview{{"format", kFormatVersion},
                 {"plan",
                  {{"name", plan_.name},
                   {"description", plan_.description},
                   {"incident", plan_.incident},
                   {"file", plan_.source_file},
                   {"sha256", plan_.sha256}}},
                 {"targets", std::move(targets)},
                 {"if_all_succeed", sm::SimulatedPathJson(*success)},
                 {"steps", std::move(steps)}};
    Redactor redactor;
    for (std::string& s : secrets_) redactor.Add(std::move(s));
    return redactor.ScrubJson(preview);
  }

 private:
  Result<json> Step(int index) {
    const plan::Step& step = plan_.steps[static_cast<std::size_t>(index)];
    const bool gate = step.action.kind == "approval";  // as Decide() tells a gate
    json out{{"position", index + 1},
             {"id", step.id},
             {"title", step.title},
             {"action", gate ? Approval(step.action) : Action(index, step.action)},
             {"check", step.check ? Action(index, *step.check) : json(nullptr)},
             {"always", step.always},
             {"point_of_no_return", gate},
             {"idempotent", step.IsIdempotent()},
             {"idempotent_declared", step.idempotent_declared},
             {"in_doubt", InDoubtPolicy(step)},
             {"on_failure", OnFailureName(step.on_failure)},
             {"retry",
              {{"attempts", step.retry.attempts}, {"backoff_ms", step.retry.backoff.count()}}},
             {"timeout_ms", MillisOrNull(step.action.timeout ? step.action.timeout : step.timeout)},
             {"planned_ms", MillisOrNull(step.planned)},
             {"downtime", DowntimeJson(step.downtime)}};
    json run_time = json::array();
    CollectRunTimeValues(step.action.params.value, "/action", run_time);
    if (step.check) CollectRunTimeValues(step.check->params.value, "/check", run_time);
    out["run_time_values"] = std::move(run_time);
    // What the run does when this step does not go through: refused at a gate, failed (at
    // every attempt) otherwise. Approvals are given up front for the other gates.
    sm::Scenario scenario;
    if (gate) {
      scenario.approvals[step.id] = false;
    } else {
      scenario = sm::StepFailsScenario(step.id);
    }
    Result<json> path = PathWithAbort(scenario);
    if (!path.ok()) return path.status();
    out[gate ? "if_not_approved" : "if_fails"] = std::move(path).value();
    return out;
  }

  // The simulated path, and when it ends paused, the path an abort then takes.
  Result<json> PathWithAbort(sm::Scenario scenario) {
    Result<sm::SimulatedPath> path = sm::Simulate(plan_, scenario);
    if (!path.ok()) return path.status();
    json out = sm::SimulatedPathJson(*path);
    if (path->final_status == sm::RunStatus::kPaused) {
      scenario.on_pause = {sm::AbortCommand{"aborted at the pause"}};
      Result<sm::SimulatedPath> aborted = sm::Simulate(plan_, scenario);
      if (!aborted.ok()) return aborted.status();
      out["after_abort"] = sm::SimulatedPathJson(*aborted);
    }
    return out;
  }

  json Approval(const plan::Action& action) const {
    json out{{"kind", action.kind},
             {"target", nullptr},
             {"target_type", nullptr},
             {"effect", "asks_approval"},
             {"idempotent", true},
             {"locks", json::array()},
             {"details", json::array()}};
    for (std::string_view key : {"prompt", "phrase"}) {
      if (const auto it = action.params.value.find(key); it != action.params.value.end()) {
        adapters::common::AddDetail(out, key, *it);
      }
    }
    return out;
  }

  json Action(int index, const plan::Action& action) {
    std::optional<engine::ActionTarget> served =
        engine::TargetOf(plan_, action, *options_.registry);
    const adapters::Adapter* adapter =
        served ? options_.registry->Find(served->adapter_type) : nullptr;
    json described = json::object();
    if (adapter != nullptr) {
      described = action.kind == capture::kCaptureAction ? DescribeCapture(*adapter, *served, action)
                                                         : Describe(*adapter, *served, action.kind,
                                                                    action.params.value);
    }
    json out{{"kind", action.kind},
             {"target", action.target.empty() ? json(nullptr) : json(action.target)},
             {"target_type", served && served->target != nullptr && !served->target->type.empty()
                                 ? json(served->target->type)
                                 : json(nullptr)}};
    out.update(described);
    if (std::optional<std::string> compared =
            capture::VerifyAgainstBaseline(action.params.value).capture;
        action.kind == "verify" && compared) {
      adapters::common::AddDetail(out, "compares with",
                                  fmt::format("capture {} (the latest of that name in the "
                                              "journal when the run starts)",
                                              *compared));
    } else if (action.kind == "verify") {
      const int baseline = engine::BaselineStepFor(plan_, index, action.target);
      out["baseline_step"] =
          baseline >= 0 ? json(plan_.steps[static_cast<std::size_t>(baseline)].id) : json(nullptr);
    }
    return out;
  }

  json Describe(const adapters::Adapter& adapter, const engine::ActionTarget& served,
                const std::string& kind, const json& params) {
    return adapter.Describe(adapters::DescribeRequest{
        .action = kind,
        .target = served.config,
        .params = params,
        .expanded_target = ExpandKnown(served.config, options_.variables, secrets_),
        .expanded_params = ExpandKnown(params, options_.variables, secrets_),
        .base_dir = options_.base_dir});
  }

  // A capture step as the baseline and backup it runs (capture::PartsOf): the details of
  // both, each label after its part; the locks of both; the effect of the one that does most.
  json DescribeCapture(const adapters::Adapter& adapter, const engine::ActionTarget& served,
                       const plan::Action& action) {
    json out = {{"effect", adapters::common::kReadsOnly},
                {"idempotent", true},
                {"locks", json::array()},
                {"details", json::array()}};
    adapters::common::AddDetail(out, "name", action.params.value.value("name", json()));
    for (const capture::CapturePart& part : capture::PartsOf(action.params.value)) {
      const json part_description = Describe(adapter, served, part.action, part.params);
      if (part_description.value("effect", json()) != adapters::common::kReadsOnly) {
        out["effect"] = part_description["effect"];
      }
      for (const json& lock : part_description.value("locks", json::array())) {
        if (std::find(out["locks"].begin(), out["locks"].end(), lock) == out["locks"].end()) {
          out["locks"].push_back(lock);
        }
      }
      for (const json& detail : part_description.value("details", json::array())) {
        adapters::common::AddDetail(out, part.action + " " + detail.value("label", ""),
                                    detail.value("value", json()));
      }
    }
    return out;
  }

  const plan::Plan& plan_;
  const PreviewOptions& options_;
  std::vector<std::string> secrets_;
};

}  // namespace

Result<json> BuildPreview(const plan::Plan& plan, const PreviewOptions& options) {
  return Previewer(plan, options).Build();
}

}  // namespace backout::preview
