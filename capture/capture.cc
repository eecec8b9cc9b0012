#include "capture/capture.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <set>

#include "base/time.h"

namespace backout::capture {
namespace {

using nlohmann::json;

constexpr std::string_view kRefPrefix = "capture.";
constexpr std::size_t kMaxNameLength = 64;
constexpr std::array<std::string_view, 5> kCaptureStepKeys = {"name", "target", "timeout",
                                                              "baseline", "backup"};

plan::Diagnostic Error(const plan::Plan& p, plan::SourceLoc loc, std::string message) {
  return plan::Diagnostic{plan::Diagnostic::Severity::kError, p.source_file, loc,
                          std::move(message)};
}

// Calls `visit(pointer, value)` for every string of `tree` (depth first, in key order).
template <typename Visit>
void ForEachString(const json& tree, const std::string& pointer, const Visit& visit) {
  if (tree.is_string()) return visit(pointer, tree);
  if (tree.is_object()) {
    for (const auto& [key, value] : tree.items()) ForEachString(value, pointer + "/" + key, visit);
  } else if (tree.is_array()) {
    for (std::size_t i = 0; i < tree.size(); ++i) {
      ForEachString(tree[i], fmt::format("{}/{}", pointer, i), visit);
    }
  }
}

// The `checks` items of a verify, each with its kind and spec, when they have that shape.
template <typename Visit>
void ForEachCheck(const json& params, const Visit& visit) {
  const json& checks = params.value("checks", json());
  if (!checks.is_array()) return;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i].is_object()) continue;
    for (const auto& [kind, spec] : checks[i].items()) {
      if (spec.is_object()) visit(fmt::format("/checks/{}/{}", i, kind), spec);
    }
  }
}

// The check's subject and the baseline list it belongs in.
std::pair<json, std::string> SubjectOf(const json& spec) {
  if (spec.contains("collection")) return {spec.at("collection"), "collections"};
  return {spec.value("table", json()), "tables"};
}

std::string TextAt(const json& j, const char* key) { return j.value(key, std::string()); }

}  // namespace

bool IsCaptureName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
         });
}

std::optional<std::string> CaptureRef(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (!text.starts_with(kRefPrefix)) return std::nullopt;
  return text.substr(kRefPrefix.size());
}

std::vector<CapturePart> PartsOf(const json& capture_params) {
  std::vector<CapturePart> parts;
  for (std::string_view action : {kOutputBaseline, kOutputBackup}) {
    const auto it = capture_params.find(action);
    if (it == capture_params.end() || !it->is_object()) continue;
    json params = *it;
    if (capture_params.contains("target")) params["target"] = capture_params.at("target");
    parts.push_back({std::string(action), fmt::format("/{}", action), std::move(params)});
  }
  return parts;
}

json StepOutputs(const std::string& name, json baseline, std::optional<json> backup) {
  json outputs = {{kOutputName, name}, {kOutputBaseline, std::move(baseline)}};
  if (backup) outputs[kOutputBackup] = std::move(*backup);
  return outputs;
}

json ToJson(const Capture& capture) {
  json targets = json::object();
  for (const auto& [name, t] : capture.targets) {
    json target = {{"step", t.step}, {"baseline", t.baseline}};
    if (t.backup) {
      target["backup"] = *t.backup;
      target["backup_location"] = t.backup_location;
    }
    targets[name] = std::move(target);
  }
  return {{"name", capture.name},       {"run_id", capture.run_id},
          {"plan_name", capture.plan_name}, {"taken_us", capture.taken_us},
          {"operator", capture.operator_name}, {"host", capture.host},
          {"targets", std::move(targets)}};
}

Result<Capture> CaptureFromJson(const json& j) {
  if (!j.is_object() || !j.contains("name") || !j.contains("run_id") ||
      !j.value("targets", json()).is_object()) {
    return Status::Corruption("a journaled capture lacks its name, run_id or targets");
  }
  Capture capture;
  capture.name = TextAt(j, "name");
  capture.run_id = TextAt(j, "run_id");
  capture.plan_name = TextAt(j, "plan_name");
  capture.taken_us = j.value("taken_us", std::int64_t{0});
  capture.operator_name = TextAt(j, "operator");
  capture.host = TextAt(j, "host");
  for (const auto& [name, t] : j.at("targets").items()) {
    CapturedTarget target{.step = TextAt(t, "step"),
                          .baseline = t.value("baseline", json::object()),
                          .backup = std::nullopt,
                          .backup_location = TextAt(t, "backup_location")};
    if (t.contains("backup")) target.backup = t.at("backup");
    capture.targets.emplace(name, std::move(target));
  }
  return capture;
}

std::vector<Capture> CapturesOfRun(const std::string& run_id, const std::vector<sm::Event>& events,
                                   const plan::Plan& plan, const std::string& plan_dir) {
  if (events.empty()) return {};
  const auto* start = std::get_if<sm::RunStarted>(&events.front().body);
  if (start == nullptr || start->rehearsal) return {};
  // The last outcome of each step: a capture counts only when all its steps succeeded.
  std::map<std::string, const sm::Event*> outcome;
  for (const sm::Event& event : events) {
    if (std::holds_alternative<sm::StepSucceeded>(event.body)) {
      outcome[std::get<sm::StepSucceeded>(event.body).step] = &event;
    } else if (const auto* failed = std::get_if<sm::StepFailed>(&event.body)) {
      outcome[failed->step] = &event;
    }
  }
  std::map<std::string, Capture> by_name;
  std::set<std::string> incomplete;
  for (const plan::Step& step : plan.steps) {
    if (step.action.kind != kCaptureAction) continue;
    const std::string name = step.action.params.value.value("name", std::string());
    const auto it = outcome.find(step.id);
    const auto* succeeded =
        it == outcome.end() ? nullptr : std::get_if<sm::StepSucceeded>(&it->second->body);
    if (succeeded == nullptr) {
      incomplete.insert(name);
      continue;
    }
    Capture& capture = by_name[name];
    capture.name = name;
    capture.run_id = run_id;
    capture.plan_name = start->plan_name;
    if (it->second->time_us >= capture.taken_us) {
      capture.taken_us = it->second->time_us;
      capture.operator_name = it->second->operator_name;
      capture.host = it->second->host;
    }
    const json& outputs = succeeded->outputs;
    CapturedTarget target{.step = step.id,
                          .baseline = outputs.value(kOutputBaseline, json::object()),
                          .backup = std::nullopt,
                          .backup_location = ""};
    if (outputs.contains(kOutputBackup)) {
      target.backup = outputs.at(kOutputBackup);
      // A backup uploaded to object storage has its `url` and no local `path`.
      const std::string url = target.backup->value("url", std::string());
      const std::string path = target.backup->value("path", std::string());
      target.backup_location =
          !url.empty() ? url
          : path.empty() || path.find("://") != std::string::npos
              ? path
              : (std::filesystem::path(plan_dir) / path).lexically_normal().string();
    }
    capture.targets[step.action.target] = std::move(target);
  }
  std::vector<Capture> captures;
  for (auto& [name, capture] : by_name) {
    if (!incomplete.contains(name)) captures.push_back(std::move(capture));
  }
  return captures;
}

namespace {
// Where the store of an object-storage backup is, from its outputs; null for a local backup.
json StoreOf(const json& backup) {
  if (!backup.contains("url")) return nullptr;
  json store = json::object();
  for (const char* key : {"endpoint", "region", "path_style"}) {
    if (const auto it = backup.find(key); it != backup.end()) store[key] = *it;
  }
  return store;
}
}  // namespace

std::vector<CapturedBackup> BackupsOf(const Capture& capture) {
  std::vector<CapturedBackup> backups;
  for (const auto& [name, target] : capture.targets) {
    if (!target.backup) continue;
    backups.push_back({.capture = capture.name,
                       .run_id = capture.run_id,
                       .target = name,
                       .location = target.backup_location,
                       .sha256 = target.backup->value("sha256", std::string()),
                       .bytes = target.backup->value("bytes", std::uint64_t{0}),
                       .store = StoreOf(*target.backup)});
  }
  return backups;
}

std::vector<CaptureUse> UsesOf(const plan::Plan& plan) {
  std::vector<CaptureUse> uses;
  for (const plan::Step& step : plan.steps) {
    const plan::Action& action = step.action;
    const json& params = action.params.value;
    if (action.kind == "verify") {
      ForEachCheck(params, [&](const std::string& at, const json& spec) {
        if (std::optional<std::string> name = CaptureRef(spec.value("equals", json()))) {
          auto [subject, list] = SubjectOf(spec);
          uses.push_back({*name, step.id, action.target, action.kind, at + "/equals",
                          std::move(subject), std::move(list), action.params.LocOf(at + "/equals")});
        }
      });
    } else if (action.kind == "restore") {
      if (std::optional<std::string> name = CaptureRef(params.value("from", json()))) {
        uses.push_back({*name, step.id, action.target, action.kind, "/from", nullptr, "tables",
                        action.params.LocOf("/from")});
      }
    }
  }
  return uses;
}

std::vector<std::string> NamesUsed(const plan::Plan& plan) {
  std::vector<std::string> names;
  for (const CaptureUse& use : UsesOf(plan)) {
    if (std::find(names.begin(), names.end(), use.name) == names.end()) names.push_back(use.name);
  }
  return names;
}

std::vector<plan::Diagnostic> CheckCaptures(const plan::Plan& plan) {
  std::vector<plan::Diagnostic> out;
  std::set<std::pair<std::string, std::string>> captured;  // (name, target)
  // A capture is resolved when a run is created, so it is always an earlier run's.
  for (const CaptureUse& use : UsesOf(plan)) {
    const auto taker = std::find_if(plan.steps.begin(), plan.steps.end(), [&](const plan::Step& s) {
      return s.action.kind == kCaptureAction &&
             s.action.params.value.value("name", std::string()) == use.name;
    });
    if (taker == plan.steps.end()) continue;
    out.push_back(Error(plan, use.loc,
                        fmt::format("step '{}' refers to capture.{}, which this plan takes itself "
                                    "(step '{}'): a capture is found when a run starts, so it "
                                    "is an earlier run's; compare with a baseline step here",
                                    use.step, use.name, taker->id)));
  }
  for (const plan::Step& step : plan.steps) {
    std::vector<const plan::Action*> actions{&step.action};
    if (step.check) actions.push_back(&*step.check);
    for (const plan::Action* action : actions) {
      const json& params = action->params.value;
      const bool is_step_action = action == &step.action;
      // Where a `capture.` reference is read: a verify's `equals`, a restore's `from`.
      std::set<std::string> read_at;
      if (is_step_action && action->kind == "verify") {
        ForEachCheck(params, [&](const std::string& at, const json&) {
          read_at.insert(at + "/equals");
        });
      } else if (is_step_action && action->kind == "restore") {
        read_at.insert("/from");
      }
      ForEachString(params, "", [&](const std::string& at, const json& value) {
        std::optional<std::string> name = CaptureRef(value);
        if (!name) return;
        if (!read_at.contains(at)) {
          out.push_back(Error(plan, action->params.LocOf(at),
                              fmt::format("'{}' refers to a capture where none is read: only a "
                                          "verify step's 'equals' and a restore step's 'from' "
                                          "may name one",
                                          value.get<std::string>())));
        } else if (!IsCaptureName(*name)) {
          out.push_back(Error(plan, action->params.LocOf(at),
                              fmt::format("'{}' is not a capture name: write capture.NAME, "
                                          "NAME being 1 to 64 of A-Z a-z 0-9 _ -",
                                          value.get<std::string>())));
        }
      });
      if (is_step_action && action->kind == "verify") {
        std::set<std::string> sources;
        ForEachCheck(params, [&](const std::string&, const json& spec) {
          const json& equals = spec.value("equals", json());
          if (equals == "baseline") sources.insert("baseline");
          if (std::optional<std::string> name = CaptureRef(equals)) sources.insert("capture." + *name);
        });
        if (sources.size() > 1) {
          out.push_back(Error(plan, action->loc,
                              fmt::format("step '{}' compares with {}: a verify step compares "
                                          "with one baseline or one capture; split it into one "
                                          "verify step per source",
                                          step.id, fmt::join(sources, ", "))));
        }
      }
      if (action->kind != kCaptureAction) continue;
      const json& name = params.value("name", json());
      if (!name.is_string() || !IsCaptureName(name.get<std::string>())) {
        out.push_back(Error(plan, action->params.LocOf("/name"),
                            "a capture step needs 'name': 1 to 64 of A-Z a-z 0-9 _ - (a "
                            "literal: later plans refer to it as capture.NAME)"));
      } else if (!captured.insert({name.get<std::string>(), action->target}).second) {
        out.push_back(Error(plan, action->loc,
                            fmt::format("capture '{}' of target '{}' is taken by an earlier "
                                        "step already",
                                        name.get<std::string>(), action->target)));
      }
      if (!params.value("baseline", json()).is_object()) {
        out.push_back(Error(plan, action->params.LocOf("/baseline"),
                            "a capture step needs 'baseline:', the mapping its target's "
                            "baseline action takes (tables: [...])"));
      }
      if (params.contains("backup") && !params.at("backup").is_object()) {
        out.push_back(Error(plan, action->params.LocOf("/backup"),
                            "'backup:' is the mapping its target's backup action takes (to: ...)"));
      }
      for (const auto& [key, value] : params.items()) {
        if (std::find(kCaptureStepKeys.begin(), kCaptureStepKeys.end(), key) ==
            kCaptureStepKeys.end()) {
          out.push_back(Error(plan, action->params.LocOf("/" + key),
                              fmt::format("a capture step has no '{}' (it takes name, baseline, "
                                          "backup)",
                                          key)));
        }
      }
    }
  }
  return out;
}

VerifyWithCapture VerifyAgainstBaseline(const json& params) {
  VerifyWithCapture result{params, std::nullopt};
  json& checks = result.params["checks"];
  if (!checks.is_array()) return {params, std::nullopt};
  for (json& item : checks) {
    if (!item.is_object()) continue;
    for (auto& [kind, spec] : item.items()) {
      if (!spec.is_object()) continue;
      if (std::optional<std::string> name = CaptureRef(spec.value("equals", json()))) {
        spec["equals"] = "baseline";
        result.capture = *name;
      }
    }
  }
  return result;
}

namespace {

Result<Capture> ResolvedCapture(const std::string& name, const json& captures) {
  for (const json& j : captures) {
    if (j.value("name", std::string()) == name) return CaptureFromJson(j);
  }
  return Status::FailedPrecondition(fmt::format(
      "capture '{}' was not resolved when the run was created (its RunStarted has no such "
      "capture)",
      name));
}

Result<CapturedTarget> TargetOf(const Capture& capture, const std::string& target) {
  const auto it = capture.targets.find(target);
  if (it != capture.targets.end()) return it->second;
  std::vector<std::string> names;
  for (const auto& [n, t] : capture.targets) names.push_back(n);
  return Status::FailedPrecondition(fmt::format(
      "capture '{}' (run {}) took nothing of target '{}' (it took: {})", capture.name,
      capture.run_id, target, fmt::join(names, ", ")));
}

}  // namespace

Result<ResolvedAction> ResolveAction(std::string_view action, const json& params,
                                     const std::string& target, const json& captures) {
  if (action == "verify") {
    VerifyWithCapture verify = VerifyAgainstBaseline(params);
    if (!verify.capture) return ResolvedAction{params, std::nullopt};
    Result<Capture> capture = ResolvedCapture(*verify.capture, captures);
    if (!capture.ok()) return capture.status();
    Result<CapturedTarget> taken = TargetOf(*capture, target);
    if (!taken.ok()) return taken.status();
    return ResolvedAction{std::move(verify.params), taken->baseline};
  }
  if (action == "restore") {
    std::optional<std::string> name = CaptureRef(params.value("from", json()));
    if (!name) return ResolvedAction{params, std::nullopt};
    Result<Capture> capture = ResolvedCapture(*name, captures);
    if (!capture.ok()) return capture.status();
    Result<CapturedTarget> taken = TargetOf(*capture, target);
    if (!taken.ok()) return taken.status();
    if (!taken->backup) {
      return Status::FailedPrecondition(fmt::format(
          "capture '{}' (run {}) took no backup of target '{}' to restore from (its capture "
          "step '{}' has no 'backup:')",
          capture->name, capture->run_id, target, taken->step));
    }
    json resolved = params;
    resolved["from"] = taken->backup_location;
    const std::string sha256 = taken->backup->value("sha256", std::string());
    if (!sha256.empty()) resolved["sha256"] = sha256;
    return ResolvedAction{std::move(resolved), std::nullopt};
  }
  return ResolvedAction{params, std::nullopt};
}

Result<json> CapturePlanFor(const plan::Plan& source, const std::string& name,
                            const std::string& backup_to) {
  json targets = json::object();
  json steps = json::array();
  for (const plan::Step& step : source.steps) {
    if (step.action.kind != kCaptureAction ||
        step.action.params.value.value("name", std::string()) != name) {
      continue;
    }
    targets[step.action.target] = source.targets.at(step.action.target).config.value;
    steps.push_back({{"id", step.id}, {std::string(kCaptureAction), step.action.params.value}});
  }
  if (steps.empty()) {
    // What the references need, target by target in the order of their first use.
    std::vector<std::string> order;
    std::map<std::string, json> baseline;  // target -> {list: [names]}
    // target -> what its restores from the capture put back (their `tables`, `full`,
    // `schema_only`), which the capture's backup must hold: the same scope keys, as the
    // target's restore and backup actions share them.
    std::map<std::string, json> restored;
    for (const CaptureUse& use : UsesOf(source)) {
      if (use.name != name) continue;
      if (std::find(order.begin(), order.end(), use.target) == order.end()) {
        order.push_back(use.target);
      }
      json& lists = baseline[use.target];
      auto add = [&](const std::string& list, const json& subject) {
        json& names = lists[list];
        if (!names.is_array()) names = json::array();
        if (subject.is_string() && std::find(names.begin(), names.end(), subject) == names.end()) {
          names.push_back(subject);
        }
      };
      if (use.action == "restore") {
        const json& restore = source.FindStep(use.step)->action.params.value;
        json& scope = restored[use.target];
        if (!scope.is_object()) scope = json::object();
        const json& tables = restore.value("tables", json());
        if (tables.is_array()) {
          for (const json& table : tables) {
            add("tables", table);
            json& backed_up = scope["tables"];
            if (!backed_up.is_array()) backed_up = json::array();
            if (std::find(backed_up.begin(), backed_up.end(), table) == backed_up.end()) {
              backed_up.push_back(table);
            }
          }
        }
        for (const char* whole : {"full", "schema_only"}) {
          if (restore.value(whole, false)) scope[whole] = true;
        }
      } else {
        add(use.subject_list, use.subject);
      }
    }
    for (const std::string& target : order) {
      json& lists = baseline[target];
      if (lists.is_null() || std::all_of(lists.begin(), lists.end(),
                                          [](const json& names) { return names.empty(); })) {
        return Status::InvalidArgument(fmt::format(
            "the plan's references to capture.{} on target '{}' name no table to take a "
            "baseline of; write a capture step (capture: {{name: {}, target: {}, baseline: "
            "{{tables: [...]}}, backup: {{to: ...}}}}) and capture with that plan",
            name, target, name, target));
      }
      json params = {{"target", target}, {"name", name}, {"baseline", lists}};
      if (const auto scope = restored.find(target); scope != restored.end()) {
        json backup = scope->second;
        if (backup.contains("full")) backup.erase("tables");  // the whole database holds them
        backup["to"] = backup_to;
        params["backup"] = std::move(backup);
      }
      targets[target] = source.targets.at(target).config.value;
      steps.push_back({{"id", "capture-" + target}, {std::string(kCaptureAction), params}});
    }
  }
  if (steps.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{} has no capture step named '{}' and refers to no capture.{}: nothing to capture",
        source.source_file, name, name));
  }
  return json{{"version", 1},
              {"name", fmt::format("capture {} for {}", name, source.name)},
              {"description", fmt::format("backout capture {} --name {}", source.source_file, name)},
              {"targets", std::move(targets)},
              {"steps", std::move(steps)}};
}

Status CheckUses(const plan::Plan& plan, const json& captures) {
  for (const CaptureUse& use : UsesOf(plan)) {
    const plan::Step& step = *plan.FindStep(use.step);
    Result<ResolvedAction> resolved =
        ResolveAction(use.action, step.action.params.value, use.target, captures);
    if (!resolved.ok()) return resolved.status().WithContext("step " + use.step);
    if (!resolved->baseline || !use.subject.is_string()) continue;
    const std::string subject = use.subject.get<std::string>();
    bool covered = false;
    for (const char* list : {"tables", "collections"}) {
      const json& taken = resolved->baseline->value(list, json());
      covered = covered || (taken.is_object() && taken.contains(subject));
    }
    if (!covered) {
      return Status::FailedPrecondition(fmt::format(
          "step {}: capture '{}' took no baseline of '{}' on target '{}': the check would "
          "always fail; take the capture again with it",
          use.step, use.name, subject, use.target));
    }
  }
  return Status::Ok();
}

std::string Describe(const Capture& capture) {
  return fmt::format("{} (run {}, plan {}, taken {} by {} on {})", capture.name, capture.run_id,
                     capture.plan_name, FormatUtcMicros(capture.taken_us), capture.operator_name,
                     capture.host);
}

}  // namespace backout::capture
