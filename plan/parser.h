// Parsing and structural validation of plan YAML (design section 3).
//
// ParsePlan() is pure: it reads only `text` (never the file system or the environment) and
// reports every problem it finds, each with file:line:col. It checks everything that can be
// known from the text alone: YAML syntax, version, field types, step ids (format, unique),
// exactly one action key per step, known action kinds, the target named by an action exists
// and its type offers that action, durations, retry/on_failure values, and
// `${steps.ID.outputs.NAME}` references naming an earlier step. Which target types and
// action kinds exist it learns from `vocabulary` (plan/vocabulary.h), which the caller builds
// from the adapters of the build (engine::PlanVocabulary).
//
// What it cannot know is checked elsewhere: `${VAR}` presence (CheckVariables, below, given
// an environment) and each adapter's own parameters (adapters' Validate, called by the
// engine's plan check).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"
#include "plan/vocabulary.h"

namespace backout::plan {

struct ParseOutcome {
  std::optional<Plan> plan;              // set when there is no error
  std::vector<Diagnostic> diagnostics;   // errors and warnings, in file order

  bool ok() const { return plan.has_value(); }
};

ParseOutcome ParsePlan(std::string_view text, std::string_view source_file,
                       const Vocabulary& vocabulary);

// Reports, with locations, every `${VAR}` in the plan (targets and step parameters) for which
// `lookup` returns nothing.
using VarLookup = std::function<std::optional<std::string>(const std::string&)>;
std::vector<Diagnostic> CheckVariables(const Plan& plan, const VarLookup& lookup);

}  // namespace backout::plan
