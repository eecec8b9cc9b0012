// The plan preview (`backout plan`, `backout run --dry-run`): everything a run of a checked
// plan would do, written out before it runs, the way `terraform plan` shows a change before
// `apply`. For each step: its action in full as far as it is known before the run (each
// adapter writes its own: Adapter::Describe), what it does to its target, its in-doubt
// policy, the locks it takes, approval gates as points of no return, `always` steps, the
// `${steps...}` values known only at run time with their source, and the path the run takes
// if the step fails, derived by the state machine (sm::Simulate), not described by hand.
//
// The JSON form is documented in docs/plan-preview.md; the text form is rendered from it.
// No secret: `${VAR}` references stay as written, and every expanded value (read only to open
// the files the plan names: `file:` scripts, restore sources) is scrubbed from the result.
// Reads files; never connects to a target, never writes.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/adapter.h"
#include "base/status.h"
#include "plan/parser.h"
#include "plan/plan.h"

namespace backout::preview {

// The version of the JSON form (its "format" field); raised when a field changes meaning or
// goes away (new fields may be added without it).
inline constexpr int kFormatVersion = 1;

struct PreviewOptions {
  const adapters::Registry* registry = nullptr;  // not owned; never null
  plan::VarLookup variables;       // `${VAR}` values, for opening the files the plan names
  std::filesystem::path base_dir;  // the plan's folder: relative paths start here
  std::vector<std::string> secrets;  // more values to mask (the journal key's text)
};

// The preview of `plan` (checked already: engine::CheckPlanText). An error only when the
// state machine's simulation fails, which would be a bug (sm::Simulate).
Result<nlohmann::json> BuildPreview(const plan::Plan& plan, const PreviewOptions& options);

// The text form of a BuildPreview() result, for people.
std::string RenderPreviewText(const nlohmann::json& preview);

}  // namespace backout::preview
