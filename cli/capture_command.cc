// `backout capture PLAN --name NAME`: a run of the capture steps a plan has or needs
// (capture::CapturePlanFor), as `run` runs any plan.
#include <fmt/format.h>

#include <iostream>

#include "base/utf8.h"
#include "capture/capture.h"
#include "cli/commands.h"

namespace backout::cli {

int Capture(const Common& c, const std::string& plan_file, const std::string& name,
            const std::string& backup_to, bool skip_preflight) {
  if (!capture::IsCaptureName(name)) {
    std::cerr << fmt::format("backout: error: --name '{}' is not a capture name: 1 to 64 of "
                             "A-Z a-z 0-9 _ -\n",
                             name);
    return 2;
  }
  const adapters::Registry registry = adapters::Registry::Default();
  const engine::PlanCheck source = CheckPlanFile(plan_file, registry, EnvLookup(), c.journal_dir);
  PrintDiagnostics(source.diagnostics);
  if (!source.plan) return 2;
  Result<nlohmann::json> capture_plan = capture::CapturePlanFor(*source.plan, name, backup_to);
  if (!capture_plan.ok()) {
    std::cerr << "backout: error: " << capture_plan.status().message() << "\n";
    return 2;
  }
  // Parsed as if it were the file: its relative paths start where the plan's do, and the
  // run journals the file's path beside this text.
  const engine::PlanCheck check = engine::CheckPlanText(DumpJson(*capture_plan, 2), plan_file,
                                                        registry, EnvLookup(), c.journal_dir);
  PrintDiagnostics(check.diagnostics);
  if (!check.plan) return 2;
  // A capture is taken again under the same name as often as needed: the latest one counts.
  return RunCheckedPlan(c, *check.plan, plan_file, {},
                        RunMode{.again = true, .skip_preflight = skip_preflight}, registry);
}

}  // namespace backout::cli
