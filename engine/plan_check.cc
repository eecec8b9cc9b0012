#include "engine/plan_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "adapters/common/params.h"
#include "adapters/common/verify.h"
#include "base/suggest.h"
#include "capture/capture.h"
#include "plan/interpolate.h"

namespace backout::engine {
namespace {

using plan::Diagnostic;

Diagnostic Error(const plan::Plan& p, plan::SourceLoc loc, std::string message) {
  return Diagnostic{Diagnostic::Severity::kError, p.source_file, loc, std::move(message)};
}

// A literal name: a string without a `${...}` reference (whose value is known only at run
// time).
bool IsLiteralName(const nlohmann::json& value) {
  return value.is_string() && value.get_ref<const std::string&>().find("${") == std::string::npos;
}

// The message for a check of `subject` ("table", "collection") that compares with the
// baseline of `baseline_step`, when that baseline's literal list (`tables`, `collections`)
// leaves the subject out; nullopt when it covers it or cannot be known before the run.
std::optional<std::string> SubjectNotInBaseline(const nlohmann::json& spec,
                                                const plan::Step& baseline_step,
                                                std::string_view check_kind) {
  for (const auto& [subject, list_key] : {std::pair{"table", "tables"},
                                          std::pair{"collection", "collections"}}) {
    const nlohmann::json& taken = baseline_step.action.params.value.value(list_key,
                                                                          nlohmann::json());
    if (!spec.contains(subject) || !IsLiteralName(spec.at(subject)) || !taken.is_array() ||
        !std::all_of(taken.begin(), taken.end(), IsLiteralName)) {
      continue;
    }
    if (std::find(taken.begin(), taken.end(), spec.at(subject)) != taken.end()) return std::nullopt;
    std::vector<std::string> names;
    for (const nlohmann::json& name : taken) names.push_back(name.get<std::string>());
    return fmt::format("'{}' compares {} '{}' with the baseline of step '{}', which does not "
                       "take it ({}: {}); the check would always fail{}",
                       check_kind, subject, spec.at(subject).get<std::string>(),
                       baseline_step.id, list_key, fmt::join(names, ", "),
                       DidYouMean(spec.at(subject).get<std::string>(), names));
  }
  return std::nullopt;
}

// The checksums of a baseline that later steps read: all of them, or those of `names`.
struct ChecksumsRead {
  bool all = false;
  std::set<std::string> names;
};

// Adds what the `checksum` checks of `verify_params` that compare with the baseline read.
void AddChecksumsCompared(const nlohmann::json& verify_params, ChecksumsRead& read) {
  const nlohmann::json& checks = verify_params.value("checks", nlohmann::json());
  if (!checks.is_array()) return;
  for (const nlohmann::json& check : checks) {
    if (!check.is_object() || !check.contains("checksum")) continue;
    const nlohmann::json& spec = check.at("checksum");
    if (!spec.is_object() || spec.value("equals", nlohmann::json()) != "baseline") continue;
    bool named = false;
    for (const char* subject : {"table", "collection"}) {
      if (spec.contains(subject) && IsLiteralName(spec.at(subject))) {
        read.names.insert(spec.at(subject).get<std::string>());
        named = true;
      }
    }
    if (!named) read.all = true;  // a name known only at run time
  }
}

// Adds what an output PATH of a baseline reads: the checksum of T (`tables.T.checksum`,
// `collections.T.checksum`), every checksum (a path that stops above them: the outputs
// whole, `tables`, `tables.T`), or none (`tables.T.rows`, `schema_fingerprint`, ...).
void AddChecksumsOfPath(std::string_view path, ChecksumsRead& read) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= path.size();) {
    const std::size_t dot = std::min(path.find('.', start), path.size());
    parts.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  if (path.empty()) {
    read.all = true;
    return;
  }
  if (parts[0] != "tables" && parts[0] != "collections") return;
  if (parts.size() <= 2) {
    read.all = true;
  } else if (parts.size() == 3 && parts[2] == "checksum") {
    read.names.insert(std::string(parts[1]));
  }
}

// Adds what the strings of `tree` (keys left alone) read of the outputs of step `id`.
void AddChecksumsReferenced(const std::string& id, const nlohmann::json& tree,
                            ChecksumsRead& read) {
  if (tree.is_string()) {
    Result<std::vector<plan::Reference>> refs =
        plan::FindReferences(tree.get_ref<const std::string&>());
    if (!refs.ok()) return;  // the parser reported it
    for (const plan::Reference& ref : *refs) {
      if (ref.kind == plan::Reference::Kind::kStepOutput && ref.name == id) {
        AddChecksumsOfPath(ref.output_path, read);
      }
    }
    return;
  }
  if (!tree.is_structured()) return;
  for (const nlohmann::json& child : tree) AddChecksumsReferenced(id, child, read);
}

// The checks of a verify that could never pass, whatever the target holds: a comparison
// with "baseline" when no earlier step takes a baseline of the target, or when that baseline
// does not take the table compared; a PostgreSQL `schema` check with a fingerprint written
// out that names no tables (`tables`, `schema`) and has no baseline to take them from.
void CheckVerifyCanBeEvaluated(const plan::Plan& p, int step_index, const plan::Action& action,
                               const ActionTarget& served, std::vector<Diagnostic>& out) {
  const nlohmann::json& checks = action.params.value.value("checks", nlohmann::json());
  // A verify that compares with a capture has its baseline from there (capture/capture.h).
  if (!checks.is_array() || capture::VerifyAgainstBaseline(action.params.value).capture) return;
  const int baseline = BaselineStepFor(p, step_index, action.target);
  for (std::size_t i = 0; i < checks.size(); ++i) {
    if (!checks[i].is_object()) continue;
    for (const auto& [kind, spec] : checks[i].items()) {
      if (!spec.is_object()) continue;
      const std::string at = fmt::format("/checks/{}/{}", i, kind);
      if (spec.value("equals", nlohmann::json()) == "baseline") {
        if (baseline < 0) {
          out.push_back(Error(p, action.params.LocOf(at + "/equals"),
                              fmt::format("'{}' compares with a baseline, but no earlier step "
                                          "takes a baseline of target '{}'",
                                          kind, action.target)));
        } else if (std::optional<std::string> missing = SubjectNotInBaseline(
                       spec, p.steps[static_cast<std::size_t>(baseline)], kind)) {
          out.push_back(Error(p, action.params.LocOf(at), std::move(*missing)));
        } else if (kind == "checksum" && BaselineChecksums(p, baseline) == false) {
          out.push_back(Error(p, action.params.LocOf(at + "/equals"),
                              fmt::format("'checksum' compares with the baseline of step '{}', "
                                          "which takes counts only (checksum: false)",
                                          p.steps[static_cast<std::size_t>(baseline)].id)));
        }
      } else if (served.adapter_type == "postgres" && kind == "schema" &&
                 !spec.contains("tables") && !spec.contains("schema") && baseline < 0) {
        out.push_back(Error(
            p, action.params.LocOf(at + "/equals"),
            fmt::format("the schema check cannot know which tables its fingerprint covers: name "
                        "them as the baseline that gave the fingerprint did ('tables: [...]' or "
                        "'schema: NAME' beside 'equals'), or take a baseline of target '{}' in "
                        "an earlier step",
                        action.target)));
      }
    }
  }
}

void CheckAction(const plan::Plan& p, int step_index, const plan::Action& action,
                 const adapters::Registry& registry, std::vector<Diagnostic>& out) {
  if (action.kind == "approval") return;  // no target; the parser checked prompt and phrase
  const std::optional<ActionTarget> served = TargetOf(p, action, registry);
  if (!served) return;  // the parser reported the unknown target
  const plan::Target& target = *served->target;
  const adapters::Adapter* adapter = registry.Find(served->adapter_type);
  if (adapter == nullptr) {
    out.push_back(Error(p, action.target.empty() ? action.loc : target.loc,
                        fmt::format("no adapter for target type '{}' in this build",
                                    served->adapter_type)));
    return;
  }
  auto validate = [&](const std::string& kind, const nlohmann::json& params,
                      const std::string& prefix) {
    for (const adapters::ParamError& e : adapter->Validate(kind, served->config, params)) {
      const plan::SourceLoc loc =
          e.in_target ? target.config.LocOf(e.pointer) : action.params.LocOf(prefix + e.pointer);
      out.push_back(Error(p, loc, adapters::common::NamedMessage(e)));
    }
  };
  if (action.kind == capture::kCaptureAction) {
    // The engine runs a capture as its target's own baseline and backup actions.
    for (const capture::CapturePart& part : capture::PartsOf(action.params.value)) {
      validate(part.action, part.params, part.pointer);
    }
    return;
  }
  // A verify's `equals: capture.NAME` is an `equals: baseline` to the adapter; a restore's
  // `from: capture.NAME` a path (capture::ResolveAction).
  validate(action.kind,
           action.kind == "verify" ? capture::VerifyAgainstBaseline(action.params.value).params
                                   : action.params.value,
           "");
  if (action.kind == "verify") CheckVerifyCanBeEvaluated(p, step_index, action, *served, out);
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

// Target types whose paths name files backout reads or writes.
bool HasFilePaths(std::string_view type) {
  return type == "sqlite" || type == "postgres" || type == "file" || type == "json_store" ||
         type == "dynamodb";
}

bool IsPathKey(std::string_view key) {
  return key == "path" || key == "to" || key == "from" || key == "file";
}

// Whether `path` is `dir` or below it, component by component (so /j2 is not inside /j).
bool IsWithin(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto it = path.begin();
  for (const std::filesystem::path& part : dir) {
    if (part.empty()) break;  // a trailing separator
    if (it == path.end() || *it != part) return false;
    ++it;
  }
  return true;
}

// Finds the path-valued strings of a target config or action params that resolve into the
// journal directory. Before a run (`vars` given) `${VAR}` is expanded and a path holding a
// `${steps...}` reference is skipped; at run time (`vars` null) the values are already expanded.
class JournalPathCheck {
 public:
  // Called for each path into the journal: its JSON pointer, its text, where it resolves.
  using Hit = std::function<void(const nlohmann::json::json_pointer&, const std::string&,
                                 const std::filesystem::path&)>;

  JournalPathCheck(const std::filesystem::path& journal_dir, const plan::VarLookup* vars)
      : vars_(vars) {
    std::error_code ignored;
    const std::filesystem::path absolute = std::filesystem::absolute(journal_dir, ignored);
    journal_ = std::filesystem::weakly_canonical(absolute, ignored);
    if (journal_.empty()) journal_ = absolute.lexically_normal();
  }

  const std::filesystem::path& journal() const { return journal_; }

  // The path `text` as an adapter would open it; nullopt when it cannot be known now.
  std::optional<std::filesystem::path> Resolve(const std::string& text,
                                               const std::filesystem::path& base) const {
    if (text.find("://") != std::string::npos) return std::nullopt;  // a URL (s3://...)
    std::string expanded_text = text;
    if (vars_ != nullptr) {
      Result<std::vector<plan::Reference>> refs = plan::FindReferences(text);
      if (!refs.ok()) return std::nullopt;  // the parser reported it
      for (const plan::Reference& ref : *refs) {
        if (ref.kind == plan::Reference::Kind::kStepOutput) return std::nullopt;
      }
      plan::Lookups lookups;
      lookups.variable = *vars_;
      Result<nlohmann::json> expanded = plan::Expand(text, lookups, nullptr);
      if (!expanded.ok() || !expanded->is_string()) return std::nullopt;
      expanded_text = expanded->get<std::string>();
    }
    const std::filesystem::path path(expanded_text);
    std::error_code ignored;  // what cannot be resolved further is compared as written
    std::filesystem::path joined = (path.is_absolute() ? path : base / path).lexically_normal();
    std::filesystem::path real = std::filesystem::weakly_canonical(joined, ignored);
    return real.empty() ? joined : real;
  }

  void Walk(const nlohmann::json& node, const nlohmann::json::json_pointer& where,
            const std::filesystem::path& base, bool path_key, const Hit& hit) const {
    if (node.is_string() && path_key) {
      const std::string& text = node.get_ref<const std::string&>();
      std::optional<std::filesystem::path> resolved = Resolve(text, base);
      if (resolved && IsWithin(*resolved, journal_)) hit(where, text, *resolved);
      return;
    }
    if (!node.is_structured()) return;
    std::size_t index = 0;
    for (auto it = node.begin(); it != node.end(); ++it, ++index) {
      const bool is_object = node.is_object();
      Walk(*it, is_object ? where / it.key() : where / index, base,
           is_object && IsPathKey(it.key()), hit);
    }
  }

  // A target's own paths (`path`; `root` for a file target); returns a file target's root,
  // against which its actions' paths resolve.
  std::optional<std::filesystem::path> WalkTarget(std::string_view type,
                                                  const nlohmann::json& config,
                                                  const std::filesystem::path& base,
                                                  const Hit& hit) const {
    std::optional<std::filesystem::path> root;
    for (const char* key : {"path", "root"}) {
      if (!config.is_object() || !config.contains(key)) continue;
      const nlohmann::json& path = config[key];
      Walk(path, nlohmann::json::json_pointer() / key, base, true, hit);
      if (type == "file" && path.is_string()) root = Resolve(path.get<std::string>(), base);
    }
    return root;
  }

 private:
  const plan::VarLookup* vars_;
  std::filesystem::path journal_;
};

std::string IntoJournalMessage(const std::string& text, const std::filesystem::path& resolved,
                               const std::filesystem::path& journal) {
  return fmt::format("path '{}' resolves to {}, inside the journal directory {}; a plan must "
                     "not read or write journal files",
                     text, resolved.string(), journal.string());
}

}  // namespace

std::vector<Diagnostic> CheckPathsOutsideJournal(const plan::Plan& p,
                                                 const std::filesystem::path& journal_dir,
                                                 const plan::VarLookup& vars) {
  std::vector<Diagnostic> out;
  const JournalPathCheck check(journal_dir, &vars);
  auto hit_in = [&](const plan::LocatedJson& located) -> JournalPathCheck::Hit {
    return [&out, &p, &check, &located](const nlohmann::json::json_pointer& where,
                                        const std::string& text,
                                        const std::filesystem::path& resolved) {
      out.push_back(Error(p, located.LocOf(where.to_string()),
                          IntoJournalMessage(text, resolved, check.journal())));
    };
  };
  std::error_code ignored;
  const std::filesystem::path plan_dir =
      std::filesystem::absolute(p.source_file, ignored).parent_path();
  std::map<std::string, std::filesystem::path> roots;  // file targets: where their paths start
  for (const auto& [name, target] : p.targets) {
    if (!HasFilePaths(target.type)) continue;
    const std::optional<std::filesystem::path> root =
        check.WalkTarget(target.type, target.config.value, plan_dir, hit_in(target.config));
    if (root) roots[name] = *root;
  }
  auto check_action = [&](const plan::Action& action) {
    const auto target = p.targets.find(action.target);
    if (target == p.targets.end() || !HasFilePaths(target->second.type)) return;
    const auto root = roots.find(action.target);
    const bool in_root = action.kind == "file" && root != roots.end();
    check.Walk(action.params.value, nlohmann::json::json_pointer(),
               in_root ? root->second : plan_dir, false, hit_in(action.params));
  };
  for (const plan::Step& step : p.steps) {
    check_action(step.action);
    if (step.check) check_action(*step.check);
  }
  return out;
}

std::optional<std::string> PathIntoJournal(std::string_view target_type,
                                           std::string_view action_kind,
                                           const nlohmann::json& target_config,
                                           const nlohmann::json& params,
                                           const std::filesystem::path& base_dir,
                                           const std::filesystem::path& journal_dir) {
  if (!HasFilePaths(target_type)) return std::nullopt;
  const JournalPathCheck check(journal_dir, nullptr);
  std::optional<std::string> found;
  const JournalPathCheck::Hit hit = [&](const nlohmann::json::json_pointer&,
                                        const std::string& text,
                                        const std::filesystem::path& resolved) {
    if (!found) found = IntoJournalMessage(text, resolved, check.journal());
  };
  std::error_code ignored;
  const std::filesystem::path base = std::filesystem::absolute(base_dir, ignored);
  const std::optional<std::filesystem::path> root =
      check.WalkTarget(target_type, target_config, base, hit);
  check.Walk(params, nlohmann::json::json_pointer(),
             action_kind == "file" && root ? *root : base, false, hit);
  return found;
}

plan::Vocabulary PlanVocabulary(const adapters::Registry& registry) {
  const std::vector<const adapters::AdapterVocabulary*> all = registry.Vocabularies();
  plan::Vocabulary vocabulary;
  auto add_once = [](std::vector<std::string>& names, std::string_view name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.emplace_back(name);
  };
  auto output_names = [](const adapters::ActionSpec& action) {
    std::vector<std::string> names;
    for (const adapters::OutputSpec& output : action.outputs) names.emplace_back(output.name);
    return names;
  };
  for (const adapters::AdapterVocabulary* adapter : all) {
    for (const adapters::ActionSpec& action : adapter->actions) {
      add_once(vocabulary.action_kinds, action.name);
      if (action.needs_target) continue;
      add_once(vocabulary.targetless_actions, action.name);
      vocabulary.targetless_outputs.emplace(action.name, output_names(action));
    }
    if (!adapter->has_own_targets) continue;
    plan::Vocabulary::TargetType type{std::string(adapter->type), {}, {}, {}};
    auto add_actions = [&](const adapters::AdapterVocabulary& offered_by) {
      for (const adapters::ActionSpec& action : offered_by.actions) {
        add_once(type.actions, action.name);
        if (action.idempotent) add_once(type.idempotent_actions, action.name);
        type.outputs.emplace(action.name, output_names(action));
      }
    };
    add_actions(*adapter);
    for (const adapters::AdapterVocabulary* server : all) {
      const auto& served = server->serves_targets_of;
      if (std::find(served.begin(), served.end(), adapter->type) == served.end()) continue;
      add_actions(*server);
    }
    vocabulary.target_types.push_back(std::move(type));
  }
  // The engine's own action on every type that takes baselines: that baseline and the type's
  // backup in one step, named (capture/capture.h). Re-running it takes them again.
  vocabulary.engine_actions.push_back(
      {.name = std::string(capture::kCaptureAction),
       .made_of = "baseline",
       .outputs = {std::string(capture::kOutputName), std::string(capture::kOutputBaseline),
                   std::string(capture::kOutputBackup)},
       .idempotent = true});
  return vocabulary;
}

const plan::Vocabulary& DefaultPlanVocabulary() {
  static const plan::Vocabulary kVocabulary = PlanVocabulary(adapters::Registry::Default());
  return kVocabulary;
}

std::optional<ActionTarget> TargetOf(const plan::Plan& plan, const plan::Action& action,
                                     const adapters::Registry& registry) {
  static const plan::Target kNoTarget;
  if (action.target.empty()) {
    const std::string type(registry.TypeServing(action.kind, ""));
    return ActionTarget{type, &kNoTarget, nlohmann::json{{"type", type}}};
  }
  const auto it = plan.targets.find(action.target);
  if (it == plan.targets.end()) return std::nullopt;
  return ActionTarget{std::string(registry.TypeServing(action.kind, it->second.type)),
                      &it->second, it->second.config.value};
}

int BaselineStepFor(const plan::Plan& plan, int step_index, const std::string& target) {
  for (int i = step_index - 1; i >= 0; --i) {
    const plan::Action& a = plan.steps[static_cast<std::size_t>(i)].action;
    if (a.kind == "baseline" && a.target == target) return i;
  }
  return -1;
}

nlohmann::json BaselineChecksums(const plan::Plan& plan, int step_index) {
  const plan::Action& baseline = plan.steps[static_cast<std::size_t>(step_index)].action;
  const nlohmann::json& written =
      baseline.params.value.value(adapters::common::kBaselineChecksumParam, nlohmann::json());
  if (!written.is_null()) return written;
  const std::string& id = plan.steps[static_cast<std::size_t>(step_index)].id;
  ChecksumsRead read;
  for (std::size_t i = static_cast<std::size_t>(step_index) + 1; i < plan.steps.size(); ++i) {
    const plan::Step& step = plan.steps[i];
    for (const plan::Action* action : {&step.action, step.check ? &*step.check : nullptr}) {
      if (action == nullptr) continue;
      if (action->kind == "verify" && action->target == baseline.target &&
          BaselineStepFor(plan, static_cast<int>(i), action->target) == step_index) {
        AddChecksumsCompared(action->params.value, read);
      }
      AddChecksumsReferenced(id, action->params.value, read);
    }
  }
  if (read.all) return true;
  if (read.names.empty()) return false;
  return nlohmann::json(read.names);
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
  std::vector<Diagnostic> captures = capture::CheckCaptures(p);
  out.insert(out.end(), captures.begin(), captures.end());
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.loc.line, a.loc.col) < std::tie(b.loc.line, b.loc.col);
  });
  return out;
}

PlanCheck CheckPlanText(std::string_view text, const std::string& source_file,
                        const adapters::Registry& registry, const plan::VarLookup& vars,
                        const std::filesystem::path& journal_dir) {
  PlanCheck result;
  plan::ParseOutcome parsed = plan::ParsePlan(text, source_file, PlanVocabulary(registry));
  result.diagnostics = std::move(parsed.diagnostics);
  if (!parsed.ok()) return result;
  std::vector<Diagnostic> more = CheckParsedPlan(*parsed.plan, registry, vars);
  if (!journal_dir.empty()) {
    std::vector<Diagnostic> paths = CheckPathsOutsideJournal(*parsed.plan, journal_dir, vars);
    more.insert(more.end(), paths.begin(), paths.end());
    std::stable_sort(more.begin(), more.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.loc.line, a.loc.col) < std::tie(b.loc.line, b.loc.col);
    });
  }
  const bool has_error = std::any_of(more.begin(), more.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  });
  result.diagnostics.insert(result.diagnostics.end(), more.begin(), more.end());
  if (!has_error) result.plan = std::move(parsed.plan);
  return result;
}

}  // namespace backout::engine
