#include "scenarios/spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <set>

#include "base/suggest.h"
#include "plan/located_yaml.h"
#include "statemachine/decide.h"

namespace backout::scenarios {
namespace {

using plan::Field;
using plan::SourceLoc;

constexpr std::array<std::string_view, 1> kTopFields = {"scenarios"};
constexpr std::array<std::string_view, 3> kCaseFields = {"name", "when", "expect"};
constexpr std::array<std::string_view, 8> kWhenFields = {
    "fails", "times_out", "times", "in_doubt", "check", "refuse_approval", "abort_at", "operator"};
constexpr std::array<std::string_view, 8> kExpectFields = {
    "status", "runs", "does_not_run", "skips", "succeeds", "fails", "pauses_at", "started"};
constexpr std::array<std::string_view, 3> kCheckValues = {"applied", "not_applied", "unknown"};
constexpr std::array<std::string_view, 4> kStatusValues = {"succeeded", "failed", "aborted",
                                                           "paused"};
constexpr std::array<std::string_view, 5> kOperatorValues = {
    "abort", "resume", "approve", "resolve_applied", "resolve_not_applied"};

template <typename Range>
std::vector<std::string> Names(const Range& names) {
  return std::vector<std::string>(names.begin(), names.end());
}

template <typename Range>
std::string Join(const Range& names) {
  return fmt::format("{}", fmt::join(names, ", "));
}

// The index of `value` in `names`, or nullopt.
template <typename Range>
std::optional<std::size_t> IndexOf(const Range& names, std::string_view value) {
  const auto it = std::find(names.begin(), names.end(), value);
  if (it == names.end()) return std::nullopt;
  return static_cast<std::size_t>(it - names.begin());
}

class SpecReader : public plan::LocatedYamlReader {
 public:
  SpecReader(std::string_view file, const plan::Plan& plan)
      : LocatedYamlReader(file), plan_(plan) {
    for (const plan::Step& step : plan.steps) step_ids_.push_back(step.id);
  }

  Spec Read(const std::string& text) {
    Spec spec{.file = file(), .cases = {}};
    ReadDocument(text, [&](const YAML::Node& root) {
      if (!root.IsMap()) {
        Error(plan::ToLoc(root.Mark()), "a test spec must be a mapping with a 'scenarios' list");
        return;
      }
      const std::vector<Field> fields = Fields(root);
      const bool all_known = CheckKnown(fields, kTopFields, "the top level of the spec");
      const Field* scenarios = plan::FindField(fields, "scenarios");
      if (scenarios == nullptr) {
        // A misspelled 'scenarios' is reported as such already.
        if (all_known) Error(plan::ToLoc(root.Mark()), "the spec has no 'scenarios' list");
        return;
      }
      if (!scenarios->value.IsSequence() || scenarios->value.size() == 0) {
        Error(scenarios->value_loc(), "'scenarios' must be a non-empty list of scenarios");
        return;
      }
      std::set<std::string> names;
      for (const YAML::Node& item : scenarios->value) {
        std::optional<Case> c = ReadCase(item);
        if (!c) continue;
        if (!names.insert(c->name).second) {
          Error(c->loc, fmt::format("a second scenario named '{}'; names must be unique", c->name));
        }
        spec.cases.push_back(std::move(*c));
      }
    });
    return spec;
  }

 private:
  // False, after reporting each, when a field is not one of `allowed`.
  template <typename Range>
  bool CheckKnown(const std::vector<Field>& fields, const Range& allowed, std::string_view where) {
    bool all_known = true;
    for (const Field& field : fields) {
      if (IndexOf(allowed, field.key)) continue;
      all_known = false;
      Error(field.key_loc, fmt::format("unknown field '{}' in {} (expected one of: {}){}",
                                       field.key, where, Join(allowed),
                                       DidYouMean(field.key, Names(allowed))));
    }
    return all_known;
  }

  std::optional<Case> ReadCase(const YAML::Node& item) {
    const SourceLoc loc = plan::ToLoc(item.Mark());
    if (!item.IsMap()) {
      Error(loc, "a scenario must be a mapping with 'name', 'when' and 'expect'");
      return std::nullopt;
    }
    const std::vector<Field> fields = Fields(item);
    const Field* name = plan::FindField(fields, "name");
    const std::string where =
        name != nullptr && name->value.IsScalar()
            ? fmt::format("scenario '{}'", name->value.Scalar())
            : std::string("a scenario");
    CheckKnown(fields, kCaseFields, where);
    Case c{.name = "", .when = {}, .expect = Expect{}, .loc = loc};
    if (name == nullptr) {
      Error(loc, "a scenario needs a 'name'");
    } else if (std::optional<std::string> text = NonEmptyString(*name)) {
      c.name = *text;
    }
    if (const Field* when = plan::FindField(fields, "when")) ReadWhen(*when, where, &c.when);
    const Field* expect = plan::FindField(fields, "expect");
    if (expect == nullptr) {
      Error(loc, fmt::format("{} has no 'expect': say what the path must be", where));
    } else {
      ReadExpect(*expect, where, &*c.expect);
    }
    return c;
  }

  // A step id or a list of step ids, each one a step of the plan.
  std::vector<std::string> StepList(const Field& field) {
    std::vector<std::string> ids;
    if (field.value.IsSequence()) {
      for (const YAML::Node& item : field.value) {
        if (std::optional<std::string> id = StepId(field.key, item)) ids.push_back(*id);
      }
    } else if (std::optional<std::string> id = StepId(field.key, field.value)) {
      ids.push_back(*id);
    }
    return ids;
  }

  std::optional<std::string> StepId(std::string_view key, const YAML::Node& node) {
    const SourceLoc loc = node.IsNull() ? SourceLoc{} : plan::ToLoc(node.Mark());
    if (!node.IsScalar()) {
      Error(loc, fmt::format("'{}' must be a step id or a list of step ids", key));
      return std::nullopt;
    }
    const std::string id = node.Scalar();
    if (plan_.FindStep(id) == nullptr) {
      Error(loc, fmt::format("'{}' names step '{}', which the plan does not have{}", key, id,
                             DidYouMean(id, step_ids_)));
      return std::nullopt;
    }
    return id;
  }

  // One step id (a scalar).
  std::string OneStep(const Field& field) {
    if (!field.value.IsScalar()) {
      Error(field.value_loc(), fmt::format("'{}' must be one step id", field.key));
      return "";
    }
    return StepId(field.key, field.value).value_or("");
  }

  template <typename Range>
  std::optional<std::size_t> OneOf(const Field& field, const Range& values) {
    std::optional<std::string> value = StringValue(field);
    if (!value) return std::nullopt;
    std::optional<std::size_t> index = IndexOf(values, *value);
    if (!index) {
      Error(field.value_loc(), fmt::format("'{}' must be one of {} (got '{}'){}", field.key,
                                           Join(values), *value, DidYouMean(*value, Names(values))));
    }
    return index;
  }

  bool IsApproval(const std::string& id) const {
    const plan::Step* step = plan_.FindStep(id);
    return step != nullptr && step->action.kind == "approval";
  }

  // Approval steps do not run, fail or time out: they are approved or not.
  void RefuseApprovalSteps(const Field& field, const std::vector<std::string>& ids) {
    for (const std::string& id : ids) {
      if (!IsApproval(id)) continue;
      Error(field.value_loc(),
            fmt::format("'{}': step '{}' is an approval; an approval is given or not: use "
                        "refuse_approval: {}{}",
                        field.key, id, id,
                        field.key == "abort_at" ? " with operator: [abort]" : ""));
    }
  }

  // The fields of a scenario's `when` or `expect` (`field`), each checked to be one of
  // `allowed`; nullopt when it is no mapping.
  template <typename Range>
  std::optional<std::vector<Field>> SectionFields(const Field& field, const Range& allowed,
                                                  const std::string& where) {
    if (!field.value.IsMap()) {
      Error(field.value_loc(), fmt::format("'{}' of {} must be a mapping", field.key, where));
      return std::nullopt;
    }
    std::vector<Field> fields = Fields(field.value);
    CheckKnown(fields, allowed, fmt::format("the '{}' of {}", field.key, where));
    return fields;
  }

  void ReadWhen(const Field& field, const std::string& where, When* when) {
    const std::optional<std::vector<Field>> section = SectionFields(field, kWhenFields, where);
    if (!section) return;
    const std::vector<Field>& fields = *section;
    if (const Field* f = plan::FindField(fields, "fails")) {
      when->fails = StepList(*f);
      RefuseApprovalSteps(*f, when->fails);
    }
    if (const Field* f = plan::FindField(fields, "times_out")) {
      when->times_out = StepList(*f);
      RefuseApprovalSteps(*f, when->times_out);
    }
    if (const Field* f = plan::FindField(fields, "times")) {
      std::optional<std::int64_t> n = IntegerValue(*f);
      if (n && (*n < 1 || *n > 1000)) {
        Error(f->value_loc(), "'times' must be from 1 to 1000 (attempts that fail)");
      } else if (n && when->fails.empty() && when->times_out.empty()) {
        Error(f->key_loc, "'times' counts the attempts that fail: give 'fails' or 'times_out'");
      } else if (n) {
        when->times = static_cast<int>(*n);
      }
    }
    if (const Field* f = plan::FindField(fields, "in_doubt")) {
      when->in_doubt = OneStep(*f);
      if (!when->in_doubt.empty()) RefuseApprovalSteps(*f, {when->in_doubt});
    }
    if (const Field* f = plan::FindField(fields, "check")) ReadCheck(*f, *when);
    if (const Field* f = plan::FindField(fields, "refuse_approval")) {
      when->refuse_approval = StepList(*f);
      for (const std::string& id : when->refuse_approval) {
        if (!IsApproval(id)) {
          Error(f->value_loc(), fmt::format("'refuse_approval': step '{}' is not an approval", id));
        }
      }
    }
    if (const Field* f = plan::FindField(fields, "abort_at")) {
      when->abort_at = OneStep(*f);
      if (!when->abort_at.empty()) RefuseApprovalSteps(*f, {when->abort_at});
    }
    if (const Field* f = plan::FindField(fields, "operator")) ReadOperator(*f, when);
    // One step's attempts end one way: failing, timing out, or in doubt.
    std::set<std::string> scripted;
    std::vector<std::string> all = when->fails;
    all.insert(all.end(), when->times_out.begin(), when->times_out.end());
    if (!when->in_doubt.empty()) all.push_back(when->in_doubt);
    for (const std::string& id : all) {
      if (scripted.insert(id).second) continue;
      Error(field.value_loc(), fmt::format("step '{}' is named twice among fails, times_out and "
                                           "in_doubt; give it one of them",
                                           id));
    }
  }

  void ReadCheck(const Field& field, When& when) {
    const std::optional<std::size_t> index = OneOf(field, kCheckValues);
    if (!index) return;
    const plan::Step* step = plan_.FindStep(when.in_doubt);
    if (step == nullptr) {
      Error(field.key_loc, "'check' says what an in-doubt step's check finds: give 'in_doubt'");
      return;
    }
    switch (sm::InDoubtRuleOf(*step)) {
      case sm::InDoubtRule::kRunAgain:
        Error(field.key_loc, fmt::format("step '{}' is idempotent: a resume runs it again and "
                                         "never asks its check",
                                         step->id));
        return;
      case sm::InDoubtRule::kOperatorResolves:
        Error(field.key_loc, fmt::format("step '{}' has no check: an operator resolves it "
                                         "(operator: [resolve_applied] or [resolve_not_applied])",
                                         step->id));
        return;
      case sm::InDoubtRule::kCheckDecides: break;
    }
    static constexpr std::array kFindings = {sm::StepChecked::Finding::kPresent,
                                             sm::StepChecked::Finding::kAbsent,
                                             sm::StepChecked::Finding::kUnknown};
    when.check = kFindings[*index];
  }

  void ReadOperator(const Field& field, When* when) {
    if (!field.value.IsSequence()) {
      Error(field.value_loc(),
            fmt::format("'operator' must be a list of what the operator does at each pause, in "
                        "order: {}",
                        Join(kOperatorValues)));
      return;
    }
    for (const YAML::Node& item : field.value) {
      const SourceLoc loc = plan::ToLoc(item.Mark());
      const std::string word = item.IsScalar() ? item.Scalar() : "";
      const std::optional<std::size_t> index = IndexOf(kOperatorValues, word);
      if (!index) {
        Error(loc, fmt::format("an operator action must be one of {}{}", Join(kOperatorValues),
                               DidYouMean(word, Names(kOperatorValues))));
        continue;
      }
      when->operator_actions.push_back(static_cast<OperatorAction>(*index));
    }
  }

  void ReadExpect(const Field& field, const std::string& where, Expect* expect) {
    const std::optional<std::vector<Field>> section = SectionFields(field, kExpectFields, where);
    if (!section) return;
    const std::vector<Field>& fields = *section;
    if (fields.empty()) {
      Error(field.value_loc(), fmt::format("'expect' of {} is empty: say what the path must be",
                                           where));
    }
    if (const Field* f = plan::FindField(fields, "status")) {
      static constexpr std::array kStatuses = {sm::RunStatus::kSucceeded, sm::RunStatus::kFailed,
                                               sm::RunStatus::kAborted, sm::RunStatus::kPaused};
      if (std::optional<std::size_t> index = OneOf(*f, kStatusValues)) {
        expect->status = kStatuses[*index];
      }
    }
    auto list = [&](std::string_view key, std::vector<std::string>* out) {
      if (const Field* f = plan::FindField(fields, key)) *out = StepList(*f);
    };
    list("runs", &expect->runs);
    list("does_not_run", &expect->does_not_run);
    list("skips", &expect->skips);
    list("succeeds", &expect->succeeds);
    list("fails", &expect->fails);
    // An empty list is an expectation too: "never pauses".
    auto exact = [&](std::string_view key, std::optional<std::vector<std::string>>* out) {
      if (const Field* f = plan::FindField(fields, key)) *out = StepList(*f);
    };
    exact("pauses_at", &expect->pauses_at);
    exact("started", &expect->started);
  }

  const plan::Plan& plan_;
  std::vector<std::string> step_ids_;
};

}  // namespace

std::string_view ToString(OperatorAction action) {
  return kOperatorValues[static_cast<std::size_t>(action)];
}

SpecParse ParseSpec(std::string_view text, std::string_view source_file, const plan::Plan& plan) {
  SpecReader reader(source_file, plan);
  Spec spec = reader.Read(std::string(text));
  SpecParse out;
  out.diagnostics = reader.TakeDiagnostics();
  std::stable_sort(out.diagnostics.begin(), out.diagnostics.end(),
                   [](const plan::Diagnostic& a, const plan::Diagnostic& b) {
                     return std::pair(a.loc.line, a.loc.col) < std::pair(b.loc.line, b.loc.col);
                   });
  if (out.diagnostics.empty()) out.spec = std::move(spec);
  return out;
}

}  // namespace backout::scenarios
