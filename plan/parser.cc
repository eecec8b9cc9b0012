#include "plan/parser.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <set>
#include <span>

#include "base/sha256.h"
#include "base/suggest.h"
#include "base/time.h"
#include "plan/interpolate.h"
#include "plan/located_yaml.h"

namespace backout::plan {

namespace {

using nlohmann::json;
using Pointer = nlohmann::json::json_pointer;
using Names = std::span<const std::string_view>;

constexpr std::array<std::string_view, 8> kTopLevelKeys = {
    "version", "name", "description", "incident", "targets", "steps", "triggers", "retention"};
constexpr std::array<std::string_view, 2> kRetentionFields = {"keep_last", "keep_within"};
// More would be a typo: no one keeps a million backups of one target.
constexpr std::int64_t kMaxKeepLast = 1'000'000;
constexpr std::array<std::string_view, 10> kStepFields = {
    "id",     "title",      "planned", "timeout", "retry", "idempotent",
    "always", "on_failure", "check",   "downtime"};
constexpr std::array<std::string_view, 2> kDowntimeValues = {"start", "end"};
constexpr std::array<std::string_view, 4> kTriggerFields = {"issue", "severity", "action",
                                                            "note"};
constexpr std::array<std::string_view, 3> kTriggerActions = {"rollback_now", "forward_fix",
                                                             "monitor"};
// The action a step may hold besides the adapters' (Vocabulary::action_kinds): it asks the
// operator and has no target. A check may be any action but an approval.
constexpr std::string_view kApproval = "approval";
constexpr std::array<std::string_view, 3> kRehearsalModes = {"copy", "live", "skip"};
constexpr std::array<std::string_view, 2> kRetryFields = {"attempts", "backoff"};
constexpr std::array<std::string_view, 3> kOnFailureValues = {"abort", "pause", "continue"};

constexpr std::int64_t kMaxAttempts = 1000;
// Step ids name files: logs (`ID.check.ATTEMPT.log`), backups (`STEM-TIME-ID-aN.EXT`). 100
// leaves room in a 255-byte file name for the rest (docs/plan-format.md).
constexpr std::size_t kMaxStepIdLength = 100;

template <typename Range>
bool Contains(const Range& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

template <typename Range>
std::string Join(const Range& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

// " (did you mean 'X'?)" for the name among `names` closest to `word`, or "".
template <typename Range>
std::string DidYouMeanOneOf(std::string_view word, const Range& names) {
  return DidYouMean(word, std::vector<std::string>(names.begin(), names.end()));
}

void SortByLocation(std::vector<Diagnostic>* diagnostics) {
  std::stable_sort(diagnostics->begin(), diagnostics->end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::pair(a.loc.line, a.loc.col) < std::pair(b.loc.line, b.loc.col);
                   });
}

// [a-z0-9] followed by [a-z0-9] or any of `extra`: the syntax of step ids and target names.
bool IsName(std::string_view text, std::string_view extra) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (text.empty() || !lower_or_digit(text[0])) return false;
  return std::all_of(text.begin() + 1, text.end(), [&](char c) {
    return lower_or_digit(c) || extra.find(c) != std::string_view::npos;
  });
}

// Calls `visit(loc, text)` for every string inside `tree`.
template <typename Visitor>
void ForEachString(const LocatedJson& tree, const Visitor& visit) {
  auto walk = [&](const auto& self, const json& node, const Pointer& where) -> void {
    if (node.is_string()) {
      visit(tree.LocOf(where.to_string()), node.get_ref<const std::string&>());
    } else if (node.is_object()) {
      for (auto it = node.begin(); it != node.end(); ++it) self(self, *it, where / it.key());
    } else if (node.is_array()) {
      for (std::size_t i = 0; i < node.size(); ++i) self(self, node[i], where / i);
    }
  };
  walk(walk, tree.value, Pointer());
}

std::vector<std::string> StepIds(const Plan& plan) {
  std::vector<std::string> ids;
  for (const Step& step : plan.steps) ids.push_back(step.id);
  return ids;
}

// Every parameter tree of a plan with a reference to its owner, checks included.
template <typename Visitor>
void ForEachActionTree(const Plan& plan, const Visitor& visit) {
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    visit(plan.steps[i].action.params, i, false);
    if (plan.steps[i].check) visit(plan.steps[i].check->params, i, true);
  }
}

// The plan grammar, read through a LocatedYamlReader (which collects the diagnostics).
class Parser : private LocatedYamlReader {
 public:
  Parser(std::string_view source_file, const Vocabulary& vocabulary)
      : LocatedYamlReader(source_file),
        vocabulary_(vocabulary),
        step_actions_(vocabulary.action_kinds) {
    step_actions_.emplace_back(kApproval);
  }

  ParseOutcome Parse(std::string_view text);

 private:
  void ReportUnknownKeys(const std::vector<Field>& fields, Names allowed,
                         std::string_view where);
  // The field named `key`, or nullptr after reporting "OWNER has no 'KEY'" at `loc`.
  const Field* RequiredField(const std::vector<Field>& fields, std::string_view key,
                             std::string_view owner, SourceLoc loc);

  void ParseDocument(const YAML::Node& root, Plan* plan);
  void ParseVersion(const Field& field);
  void ParseTargets(const Field& field, Plan* plan);
  void ParseTarget(const Field& field, Plan* plan);
  // `rehearsal:` of a target: copy, live, skip, or a mapping of keys that redirect it.
  void ParseTargetRehearsal(const Field& field, const std::string& owner, Target* target);
  void ParseSteps(const Field& field, Plan* plan);
  Step ParseStep(const YAML::Node& node, std::size_t index);
  void ReportUnknownStepField(const Field& field, const std::string& label);
  void ParseStepField(const Field& field, const std::string& label, Step* step);
  void ParseRetry(const Field& field, const std::string& label, Retry* retry);
  void ParseTriggers(const Field& field, Plan* plan);
  void ParseRetention(const Field& field, Plan* plan);
  std::optional<Action> ParseCheck(const Field& field, const std::string& label);
  std::optional<Action> ParseAction(const Field& field, const std::string& owner);
  void ParseApprovalFields(const std::vector<Field>& fields, const std::string& owner,
                           SourceLoc loc);

  // Checks that need the whole plan: targets named by actions, and `${...}` references.
  void CheckActionTargets(const Plan& plan);
  void CheckReferences(const Plan& plan);
  // Reports `ref` (found at `loc`, in `text`) when it names an output that `source`'s action
  // does not declare.
  void CheckOutputName(const Plan& plan, const Step& source, const Reference& ref,
                       std::string_view text, SourceLoc loc);
  // Sets each step's `idempotent_by_nature` from the vocabulary (an approval only asks).
  void MarkIdempotentByNature(Plan* plan) const;

  const Vocabulary& vocabulary_;
  std::vector<std::string> step_actions_;  // the vocabulary's action kinds, then approval
  // An engine action (Vocabulary::engine_actions) as a step's action key. Not listed with the
  // others in messages, which name the adapters' actions.
  bool IsEngineAction(std::string_view key) const {
    return std::any_of(vocabulary_.engine_actions.begin(), vocabulary_.engine_actions.end(),
                       [&](const Vocabulary::EngineAction& e) { return e.name == key; });
  }
};

void Parser::ReportUnknownKeys(const std::vector<Field>& fields, Names allowed,
                               std::string_view where) {
  for (const Field& field : fields) {
    if (!Contains(allowed, field.key)) {
      Error(field.key_loc, fmt::format("unknown field '{}' in {} (expected one of: {}){}",
                                       field.key, where, Join(allowed),
                                       DidYouMeanOneOf(field.key, allowed)));
    }
  }
}

const Field* Parser::RequiredField(const std::vector<Field>& fields, std::string_view key,
                                   std::string_view owner, SourceLoc loc) {
  const Field* field = FindField(fields, key);
  if (field == nullptr) Error(loc, fmt::format("{} has no '{}'", owner, key));
  return field;
}

ParseOutcome Parser::Parse(std::string_view text) {
  Plan plan;
  plan.source_file = file();
  plan.text = std::string(text);
  plan.sha256 = Sha256Hex(text);
  ReadDocument(plan.text, [&](const YAML::Node& root) { ParseDocument(root, &plan); });
  ParseOutcome outcome;
  outcome.diagnostics = TakeDiagnostics();
  SortByLocation(&outcome.diagnostics);
  const bool has_error = std::any_of(
      outcome.diagnostics.begin(), outcome.diagnostics.end(),
      [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::kError; });
  if (!has_error) outcome.plan = std::move(plan);
  return outcome;
}

void Parser::ParseDocument(const YAML::Node& root, Plan* plan) {
  if (!root.IsMap()) {
    Error(ToLoc(root.Mark()), "a plan must be a mapping with keys: " + Join(kTopLevelKeys));
    return;
  }
  const std::vector<Field> fields = Fields(root);
  ReportUnknownKeys(fields, kTopLevelKeys, "the top level of the plan");
  const SourceLoc root_loc = ToLoc(root.Mark());
  if (const Field* version = RequiredField(fields, "version", "the plan", root_loc)) {
    ParseVersion(*version);
  }
  if (const Field* name = RequiredField(fields, "name", "the plan", root_loc)) {
    plan->name = NonEmptyString(*name).value_or("");
  }
  if (const Field* description = FindField(fields, "description")) {
    plan->description = StringValue(*description).value_or("");
  }
  if (const Field* incident = FindField(fields, "incident")) {
    plan->incident = StringValue(*incident).value_or("");
  }
  if (const Field* targets = FindField(fields, "targets")) ParseTargets(*targets, plan);
  if (const Field* steps = RequiredField(fields, "steps", "the plan", root_loc)) {
    ParseSteps(*steps, plan);
  }
  if (const Field* triggers = FindField(fields, "triggers")) ParseTriggers(*triggers, plan);
  if (const Field* retention = FindField(fields, "retention")) ParseRetention(*retention, plan);
  CheckActionTargets(*plan);
  CheckReferences(*plan);
  MarkIdempotentByNature(plan);
}

void Parser::ParseVersion(const Field& field) {
  const std::optional<std::int64_t> version = IntegerValue(field);
  if (version && *version != 1) {
    Error(field.value_loc(),
          fmt::format("unsupported plan version {} (this build reads version 1)", *version));
  }
}

void Parser::ParseTargets(const Field& field, Plan* plan) {
  if (!TypedValue(field, json::value_t::object, "a mapping of target names to targets")) return;
  for (const Field& target : Fields(field.value)) ParseTarget(target, plan);
}

void Parser::ParseTarget(const Field& field, Plan* plan) {
  if (!IsName(field.key, "_-")) {
    Error(field.key_loc, fmt::format("invalid target name '{}' (expected lowercase letters, "
                                     "digits, '_' and '-', starting with a letter or digit)",
                                     field.key));
  }
  if (!TypedValue(field, json::value_t::object, "a mapping with at least 'type'")) return;
  const std::vector<Field> fields = Fields(field.value);
  Target target;
  target.name = field.key;
  target.loc = field.key_loc;
  target.config = MappingToJson(field.value, fields);
  const std::string owner = fmt::format("target '{}'", field.key);
  if (const Field* type = RequiredField(fields, "type", owner, field.value_loc())) {
    target.type = NonEmptyString(*type).value_or("");
    if (!target.type.empty() && vocabulary_.ActionsFor(target.type).empty()) {
      std::vector<std::string_view> supported;
      for (const Vocabulary::TargetType& t : vocabulary_.target_types) supported.push_back(t.name);
      Error(type->value_loc(), fmt::format("unknown target type '{}' (this build supports: {}){}",
                                           target.type, Join(supported),
                                           DidYouMeanOneOf(target.type, supported)));
    }
  }
  if (const Field* rehearsal = FindField(fields, "rehearsal")) {
    ParseTargetRehearsal(*rehearsal, owner, &target);
    target.config.value.erase("rehearsal");  // the engine's business, not the adapter's
  }
  plan->targets[target.name] = std::move(target);
}

void Parser::ParseTargetRehearsal(const Field& field, const std::string& owner,
                                  Target* target) {
  if (field.value.IsMap()) {
    const nlohmann::json& overlay = target->config.value["rehearsal"];
    for (const char* key : {"type", "rehearsal"}) {
      if (overlay.contains(key)) {
        Error(field.value_loc(),
              fmt::format("{}: a rehearsal cannot change the target's '{}'", owner, key));
      }
    }
    if (overlay.empty()) {
      Error(field.value_loc(), fmt::format("{}: 'rehearsal' as a mapping needs the keys to use "
                                           "in a rehearsal (e.g. base_url: ...)", owner));
    }
    target->rehearsal = Target::Rehearsal::kRedirect;
    target->rehearsal_overlay = overlay;
    return;
  }
  const std::optional<std::string> mode = StringValue(field);
  if (mode == "live") {
    target->rehearsal = Target::Rehearsal::kLive;
  } else if (mode == "skip") {
    target->rehearsal = Target::Rehearsal::kSkip;
  } else if (mode && mode != "copy") {
    Error(field.value_loc(),
          fmt::format("{}: 'rehearsal' must be 'copy', 'live', 'skip' or a mapping of the keys "
                      "to use instead in a rehearsal, not '{}'{}",
                      owner, *mode, DidYouMeanOneOf(*mode, kRehearsalModes)));
  }
}

void Parser::ParseSteps(const Field& field, Plan* plan) {
  if (!TypedValue(field, json::value_t::array, "a sequence of steps")) return;
  if (field.value.size() == 0) {
    Error(field.value_loc(), "'steps' must hold at least one step");
    return;
  }
  std::map<std::string, SourceLoc> first_by_id;
  for (std::size_t i = 0; i < field.value.size(); ++i) {
    Step step = ParseStep(field.value[i], i);
    if (!step.id.empty()) {
      const auto [first, inserted] = first_by_id.emplace(step.id, step.loc);
      if (!inserted) {
        Error(step.loc, fmt::format("duplicate step id '{}' (first used at line {})", step.id,
                                    first->second.line));
      }
    }
    plan->steps.push_back(std::move(step));
  }
}

Step Parser::ParseStep(const YAML::Node& node, std::size_t index) {
  Step step;
  step.loc = ToLoc(node.Mark());
  if (!node.IsMap()) {
    Error(step.loc, fmt::format("step #{} must be a mapping with an 'id' and one action",
                                index + 1));
    return step;
  }
  const std::vector<Field> fields = Fields(node);
  std::string label = fmt::format("step #{}", index + 1);
  if (const Field* id = RequiredField(fields, "id", label, step.loc)) {
    step.id = NonEmptyString(*id).value_or("");
    if (!step.id.empty() && !IsName(step.id, "-")) {
      Error(id->value_loc(),
            fmt::format("invalid step id '{}' (expected lowercase letters, digits and '-', "
                        "starting with a letter or digit)",
                        step.id));
    } else if (step.id.size() > kMaxStepIdLength) {
      Error(id->value_loc(), fmt::format("step id is {} characters long; the limit is {}",
                                         step.id.size(), kMaxStepIdLength));
    }
    if (!step.id.empty()) label = fmt::format("step '{}'", step.id);
  }
  step.title = step.id;
  const Field* action_key = nullptr;
  bool has_unknown_field = false;
  for (const Field& field : fields) {
    if (field.key == "id") continue;  // read first: it names the step in other messages
    if (Contains(kStepFields, field.key)) {
      ParseStepField(field, label, &step);
    } else if (!Contains(step_actions_, field.key) && !IsEngineAction(field.key)) {
      ReportUnknownStepField(field, label);
      has_unknown_field = true;
    } else if (action_key != nullptr) {
      Error(field.key_loc, fmt::format("{} has two actions '{}' and '{}'", label,
                                       action_key->key, field.key));
    } else {
      action_key = &field;
      if (std::optional<Action> action = ParseAction(field, label)) step.action = *action;
    }
  }
  // An unknown field is most likely the action, misspelled: "no action" on top would be noise.
  if (action_key == nullptr && !has_unknown_field) {
    Error(step.loc, fmt::format("{} has no action (expected one of: {})", label,
                                Join(step_actions_)));
  }
  return step;
}

void Parser::ReportUnknownStepField(const Field& field, const std::string& label) {
  std::vector<std::string> known(kStepFields.begin(), kStepFields.end());
  known.insert(known.end(), step_actions_.begin(), step_actions_.end());
  Error(field.key_loc,
        fmt::format("unknown field '{}' in {} (expected one of: {}; and one action: {}){}",
                    field.key, label, Join(kStepFields), Join(step_actions_),
                    DidYouMean(field.key, known)));
}

void Parser::ParseStepField(const Field& field, const std::string& label, Step* step) {
  const std::string& key = field.key;
  if (key == "title") {
    step->title = StringValue(field).value_or(step->title);
  } else if (key == "planned") {
    step->planned = DurationValue(field);
  } else if (key == "timeout") {
    step->timeout = DurationValue(field);
  } else if (key == "retry") {
    ParseRetry(field, label, &step->retry);
  } else if (key == "idempotent") {
    step->idempotent_declared = BoolValue(field).value_or(false);
  } else if (key == "always") {
    step->always = BoolValue(field).value_or(false);
  } else if (key == "on_failure") {
    const std::optional<std::string> value = StringValue(field);
    if (value == "pause") {
      step->on_failure = OnFailure::kPause;
    } else if (value == "continue") {
      step->on_failure = OnFailure::kContinue;
    } else if (value && value != "abort") {
      Error(field.value_loc(), fmt::format("on_failure must be one of {} (got '{}'){}",
                                           Join(kOnFailureValues), *value,
                                           DidYouMeanOneOf(*value, kOnFailureValues)));
    }
  } else if (key == "check") {
    step->check = ParseCheck(field, label);
  } else if (key == "downtime") {
    const std::optional<std::string> value = StringValue(field);
    if (value == "start") {
      step->downtime = Downtime::kStart;
    } else if (value == "end") {
      step->downtime = Downtime::kEnd;
    } else if (value) {
      Error(field.value_loc(), fmt::format("downtime must be one of {} (got '{}'){}",
                                           Join(kDowntimeValues), *value,
                                           DidYouMeanOneOf(*value, kDowntimeValues)));
    }
  }
}

void Parser::ParseTriggers(const Field& field, Plan* plan) {
  if (!TypedValue(field, json::value_t::array, "a sequence of {issue, severity, action}")) {
    return;
  }
  std::map<std::pair<std::string, std::string>, SourceLoc> seen;
  for (std::size_t i = 0; i < field.value.size(); ++i) {
    const YAML::Node item = field.value[i];
    const SourceLoc loc = ToLoc(item.Mark());
    if (!item.IsMap()) {
      Error(loc, "a trigger must be a mapping {issue, severity, action, note}");
      continue;
    }
    const std::vector<Field> fields = Fields(item);
    const std::string owner = fmt::format("trigger {}", i + 1);
    ReportUnknownKeys(fields, kTriggerFields, owner);
    Trigger trigger;
    trigger.loc = loc;
    if (const Field* issue = RequiredField(fields, "issue", owner, loc)) {
      trigger.issue = NonEmptyString(*issue).value_or("");
    }
    if (const Field* severity = RequiredField(fields, "severity", owner, loc)) {
      trigger.severity = NonEmptyString(*severity).value_or("");
    }
    if (const Field* action = RequiredField(fields, "action", owner, loc)) {
      trigger.action = NonEmptyString(*action).value_or("");
      if (!trigger.action.empty() && !Contains(kTriggerActions, trigger.action)) {
        Error(action->value_loc(), fmt::format("trigger action must be one of {} (got '{}'){}",
                                               Join(kTriggerActions), trigger.action,
                                               DidYouMeanOneOf(trigger.action, kTriggerActions)));
      }
    }
    if (const Field* note = FindField(fields, "note")) {
      trigger.note = StringValue(*note).value_or("");
    }
    const auto key = std::make_pair(trigger.issue, trigger.severity);
    if (auto [it, fresh] = seen.emplace(key, loc); !fresh) {
      Error(loc, fmt::format("a trigger for issue '{}' at severity '{}' is already given at "
                             "line {}", trigger.issue, trigger.severity, it->second.line));
    }
    plan->triggers.push_back(std::move(trigger));
  }
}

void Parser::ParseRetry(const Field& field, const std::string& label, Retry* retry) {
  if (!TypedValue(field, json::value_t::object, "a mapping {attempts, backoff}")) return;
  const std::vector<Field> fields = Fields(field.value);
  const std::string owner = "the retry of " + label;
  ReportUnknownKeys(fields, kRetryFields, owner);
  if (const Field* attempts = RequiredField(fields, "attempts", owner, field.value_loc())) {
    const std::optional<std::int64_t> value = IntegerValue(*attempts);
    if (value && (*value < 1 || *value > kMaxAttempts)) {
      Error(attempts->value_loc(),
            fmt::format("retry attempts must be between 1 and {} (got {}); the count includes "
                        "the first attempt",
                        kMaxAttempts, *value));
    } else if (value) {
      retry->attempts = static_cast<int>(*value);
    }
  }
  if (const Field* backoff = FindField(fields, "backoff")) {
    retry->backoff = DurationValue(*backoff).value_or(retry->backoff);
  }
}

void Parser::ParseRetention(const Field& field, Plan* plan) {
  if (!TypedValue(field, json::value_t::object, "a mapping {keep_last, keep_within}")) return;
  const std::vector<Field> fields = Fields(field.value);
  ReportUnknownKeys(fields, kRetentionFields, "the retention of the plan");
  Retention retention;
  retention.loc = field.value_loc();
  if (const Field* keep_last = FindField(fields, "keep_last")) {
    const std::optional<std::int64_t> value = IntegerValue(*keep_last);
    if (value && (*value < 1 || *value > kMaxKeepLast)) {
      Error(keep_last->value_loc(),
            fmt::format("keep_last must be between 1 and {} (got {})", kMaxKeepLast, *value));
    } else if (value) {
      retention.keep_last = static_cast<int>(*value);
    }
  }
  if (const Field* keep_within = FindField(fields, "keep_within")) {
    if (!keep_within->value.IsScalar()) {
      Error(keep_within->value_loc(), "'keep_within' must be a window such as 30d");
    } else if (Result<std::chrono::milliseconds> window =
                   ParseRetentionWindow(keep_within->value.Scalar());
               !window.ok()) {
      Error(keep_within->value_loc(), window.status().WithContext("keep_within").message());
    } else {
      retention.keep_within = *window;
    }
  }
  if (fields.empty()) {
    Error(field.value_loc(), "retention needs keep_last, keep_within or both");
  }
  plan->retention = retention;
}

std::optional<Action> Parser::ParseCheck(const Field& field, const std::string& label) {
  const std::string owner = "the check of " + label;
  if (!TypedValue(field, json::value_t::object, "a mapping with one action key")) {
    return std::nullopt;
  }
  const std::vector<Field> fields = Fields(field.value);
  if (fields.size() != 1 || !Contains(vocabulary_.action_kinds, fields[0].key)) {
    Error(field.value_loc(),
          fmt::format("{} must hold exactly one action, one of: {}{}", owner,
                      Join(vocabulary_.action_kinds),
                      fields.size() == 1 ? DidYouMean(fields[0].key, vocabulary_.action_kinds)
                                         : std::string()));
    return std::nullopt;
  }
  return ParseAction(fields[0], owner);
}

std::optional<Action> Parser::ParseAction(const Field& field, const std::string& owner) {
  if (!TypedValue(field, json::value_t::object, "a mapping of the action's parameters")) {
    return std::nullopt;
  }
  const std::vector<Field> fields = Fields(field.value);
  Action action;
  action.kind = field.key;
  action.loc = field.key_loc;
  action.params = MappingToJson(field.value, fields);
  const std::string action_owner = fmt::format("action '{}' of {}", action.kind, owner);
  if (action.kind == kApproval) {
    ParseApprovalFields(fields, action_owner, field.key_loc);
    return action;
  }
  // An action that needs no target (a notification: stdout, a file, a URL) may name one (a
  // webhook).
  const Field* target = Contains(vocabulary_.targetless_actions, action.kind)
                            ? FindField(fields, "target")
                            : RequiredField(fields, "target", action_owner, field.key_loc);
  if (target != nullptr) action.target = StringValue(*target).value_or("");
  if (const Field* timeout = FindField(fields, "timeout")) action.timeout = DurationValue(*timeout);
  return action;
}

void Parser::ParseApprovalFields(const std::vector<Field>& fields, const std::string& owner,
                                 SourceLoc loc) {
  // Only checked here: the engine reads both from the action's params.
  if (const Field* prompt = RequiredField(fields, "prompt", owner, loc)) StringValue(*prompt);
  if (const Field* phrase = RequiredField(fields, "phrase", owner, loc)) NonEmptyString(*phrase);
  if (const Field* target = FindField(fields, "target")) {
    Error(target->key_loc, "an approval has no target: it asks the operator");
  }
}

void Parser::CheckActionTargets(const Plan& plan) {
  std::vector<std::string_view> defined;
  for (const auto& [name, target] : plan.targets) defined.push_back(name);
  auto check = [&](const Action& action) {
    if (action.kind.empty() || action.kind == kApproval || action.target.empty()) return;
    const SourceLoc loc = action.params.LocOf("/target");
    const auto it = plan.targets.find(action.target);
    if (it == plan.targets.end()) {
      Error(loc, fmt::format("unknown target '{}' (defined targets: {}){}", action.target,
                             defined.empty() ? "none" : Join(defined),
                             DidYouMeanOneOf(action.target, defined)));
      return;
    }
    const std::vector<std::string> offered = vocabulary_.ActionsFor(it->second.type);
    // An unknown type was reported where the target is defined.
    if (offered.empty() || vocabulary_.Offers(it->second.type, action.kind)) return;
    Error(loc, fmt::format("target '{}' (type {}) has no action '{}'; it offers: {}",
                           action.target, it->second.type, action.kind, Join(offered)));
  };
  for (const Step& step : plan.steps) {
    check(step.action);
    if (step.check) check(*step.check);
  }
}

void Parser::CheckReferences(const Plan& plan) {
  for (const auto& [name, target] : plan.targets) {
    // An init-capture, not a plain one: clang before 16 (the fuzz build) cannot capture a
    // structured binding.
    ForEachString(target.config, [&, &name = name](SourceLoc loc, const std::string& text) {
      Result<std::vector<Reference>> refs = FindReferences(text);
      if (!refs.ok()) {
        Error(loc, refs.status().message());
        return;
      }
      for (const Reference& ref : *refs) {
        if (ref.kind == Reference::Kind::kStepOutput) {
          Error(loc, fmt::format("target '{}' refers to outputs of step '{}'; targets are "
                                 "opened before any step runs, so they may only use ${{VAR}}",
                                 name, ref.name));
        }
      }
    });
  }
  ForEachActionTree(plan, [&](const LocatedJson& params, std::size_t index, bool is_check) {
    const std::string& id = plan.steps[index].id;
    ForEachString(params, [&](SourceLoc loc, const std::string& text) {
      Result<std::vector<Reference>> refs = FindReferences(text);
      if (!refs.ok()) {
        Error(loc, refs.status().message());
        return;
      }
      for (const Reference& ref : *refs) {
        if (ref.kind != Reference::Kind::kStepOutput) continue;
        const int source = plan.IndexOf(ref.name);
        if (source < 0) {
          Error(loc, fmt::format("step '{}' refers to outputs of '{}', which is not a step of "
                                 "this plan{}",
                                 id, ref.name, DidYouMean(ref.name, StepIds(plan))));
        } else if (is_check && static_cast<std::size_t>(source) == index) {
          Error(loc, fmt::format("the check of step '{}' refers to the step's own outputs; a "
                                 "check may only use outputs of earlier steps",
                                 id));
        } else if (static_cast<std::size_t>(source) >= index) {
          Error(loc, fmt::format("step '{}' refers to outputs of '{}', which does not come "
                                 "before it",
                                 id, ref.name));
        } else {
          CheckOutputName(plan, plan.steps[static_cast<std::size_t>(source)], ref, text, loc);
        }
      }
    });
  });
}

void Parser::CheckOutputName(const Plan& plan, const Step& source, const Reference& ref,
                             std::string_view text, SourceLoc loc) {
  const Action& action = source.action;
  std::string type;  // "" for an action that names no target
  if (!action.target.empty()) {
    const auto target = plan.targets.find(action.target);
    if (target == plan.targets.end()) return;  // reported where the action names it
    type = target->second.type;
  }
  const std::vector<std::string> none;
  const std::vector<std::string>* declared =
      action.kind == kApproval ? &none : vocabulary_.OutputsOf(type, action.kind);
  if (declared == nullptr) return;  // an unknown type or action, reported already
  const std::string name = ref.output_path.substr(0, ref.output_path.find('.'));
  if (Contains(*declared, name)) return;
  // The reference itself, which may be one of several in a long (block) scalar.
  const std::string_view written = text.substr(ref.offset, text.find('}', ref.offset) -
                                                               ref.offset + 1);
  const SourceLoc at = LocOfTextFrom(plan.text, loc, written);
  const std::string what =
      action.target.empty()
          ? fmt::format("'{}'", action.kind)
          : fmt::format("'{}' on target '{}' (type {})", action.kind, action.target, type);
  if (declared->empty()) {
    Error(at, fmt::format("step '{}' has no output '{}': its action {} has no outputs",
                          source.id, name, what));
    return;
  }
  Error(at, fmt::format("step '{}' has no output '{}'{}; its action {} has: {}", source.id,
                        name, DidYouMean(name, *declared), what, Join(*declared)));
}

}  // namespace

void Parser::MarkIdempotentByNature(Plan* plan) const {
  for (Step& step : plan->steps) {
    const auto target = plan->targets.find(step.action.target);
    step.idempotent_by_nature =
        step.action.kind == kApproval ||
        (target != plan->targets.end() &&
         vocabulary_.IsIdempotent(target->second.type, step.action.kind));
  }
}

std::vector<std::string> Vocabulary::ActionsFor(std::string_view type) const {
  for (const TargetType& t : target_types) {
    if (t.name == type) return t.actions;
  }
  return {};
}

namespace {
// The engine action `action` when a target of `type` offers it (see Vocabulary::Offers).
const Vocabulary::EngineAction* EngineActionFor(const Vocabulary& vocabulary,
                                                std::string_view type, std::string_view action) {
  for (const Vocabulary::EngineAction& e : vocabulary.engine_actions) {
    if (e.name == action && Contains(vocabulary.ActionsFor(type), e.made_of)) return &e;
  }
  return nullptr;
}
}  // namespace

bool Vocabulary::Offers(std::string_view type, std::string_view action) const {
  return Contains(ActionsFor(type), action) || EngineActionFor(*this, type, action) != nullptr;
}

bool Vocabulary::IsIdempotent(std::string_view type, std::string_view action) const {
  if (const EngineAction* e = EngineActionFor(*this, type, action)) return e->idempotent;
  for (const TargetType& t : target_types) {
    if (t.name != type) continue;
    return std::find(t.idempotent_actions.begin(), t.idempotent_actions.end(), action) !=
           t.idempotent_actions.end();
  }
  return false;
}

const std::vector<std::string>* Vocabulary::OutputsOf(std::string_view type,
                                                      std::string_view action) const {
  if (const EngineAction* e = EngineActionFor(*this, type, action)) return &e->outputs;
  const std::map<std::string, std::vector<std::string>>* outputs = &targetless_outputs;
  if (!type.empty()) {
    const auto t = std::find_if(target_types.begin(), target_types.end(),
                                [&](const TargetType& known) { return known.name == type; });
    if (t == target_types.end()) return nullptr;
    outputs = &t->outputs;
  }
  const auto it = outputs->find(std::string(action));
  return it == outputs->end() ? nullptr : &it->second;
}

ParseOutcome ParsePlan(std::string_view text, std::string_view source_file,
                       const Vocabulary& vocabulary) {
  return Parser(source_file, vocabulary).Parse(text);
}

std::vector<Diagnostic> CheckVariables(const Plan& plan, const VarLookup& lookup) {
  std::vector<Diagnostic> diagnostics;
  auto check = [&](SourceLoc loc, const std::string& text) {
    Result<std::vector<Reference>> refs = FindReferences(text);
    if (!refs.ok()) return;  // ParsePlan reported it
    std::set<std::string> reported;
    for (const Reference& ref : *refs) {
      if (ref.kind != Reference::Kind::kVariable || lookup(ref.name)) continue;
      if (!reported.insert(ref.name).second) continue;
      diagnostics.push_back(
          {Diagnostic::Severity::kError, plan.source_file, loc,
           fmt::format("environment variable {} is not set (referenced here)", ref.name)});
    }
  };
  for (const auto& [name, target] : plan.targets) ForEachString(target.config, check);
  ForEachActionTree(plan, [&](const LocatedJson& params, std::size_t, bool) {
    ForEachString(params, check);
  });
  SortByLocation(&diagnostics);
  return diagnostics;
}

}  // namespace backout::plan
