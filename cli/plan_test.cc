#include "cli/plan_test.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <set>

#include "adapters/adapter.h"
#include "base/file_util.h"
#include "base/utf8.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "report/junit.h"
#include "scenarios/scenarios.h"
#include "scenarios/spec.h"

namespace backout::cli {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// The version of the JSON form (its "format" field), as for the plan preview.
constexpr int kFormatVersion = 1;

// The cases to run: the spec's, or the built-in ones. nullopt after printing the spec's
// errors.
std::optional<std::vector<scenarios::Case>> CasesToRun(const plan::Plan& plan,
                                                       const std::string& spec_file) {
  if (spec_file.empty()) return scenarios::BuiltinCases(plan);
  Result<std::string> text = ReadFileToString(spec_file);
  if (!text.ok()) {
    std::cerr << spec_file << ": error: " << text.status().message() << "\n";
    return std::nullopt;
  }
  scenarios::SpecParse parsed = scenarios::ParseSpec(*text, spec_file, plan);
  PrintDiagnostics(parsed.diagnostics);
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed.spec->cases);
}

std::string FirstLine(const scenarios::Outcome& outcome) {
  if (!outcome.error.ok()) return std::string(outcome.error.message());
  return outcome.failures.empty() ? "" : outcome.failures.front();
}

std::string JUnitReport(const plan::Plan& plan, const std::string& suite,
                        const std::vector<scenarios::Outcome>& outcomes) {
  report::JUnitSuite junit{.name = suite, .cases = {}};
  for (const scenarios::Outcome& outcome : outcomes) {
    junit.cases.push_back(report::JUnitCase{
        .name = outcome.name,
        .classname = plan.name,
        .failed = !outcome.passed(),
        .failure_message = FirstLine(outcome),
        .failure_detail = outcome.passed() ? "" : scenarios::OutcomeText(outcome),
        .output = outcome.passed() ? scenarios::OutcomeText(outcome) : ""});
  }
  return report::RenderJUnit({junit});
}

}  // namespace

int TestPlan(const std::string& plan_file, const std::string& spec_file,
             const TestOutput& output) {
  // A CI job has no production secret: a variable not set is answered with a placeholder
  // (never used: the simulation expands nothing) and listed, instead of refusing the plan.
  std::set<std::string> unset;
  const plan::VarLookup environment = EnvLookup();
  const plan::VarLookup variables = [&](const std::string& name) -> std::optional<std::string> {
    std::optional<std::string> value = environment(name);
    if (value) return value;
    unset.insert(name);
    return std::string();
  };
  const adapters::Registry registry = adapters::Registry::Default();
  engine::PlanCheck check = CheckPlanFile(plan_file, registry, variables);
  PrintDiagnostics(check.diagnostics);
  if (!check.plan) return kExitUsage;
  const plan::Plan& plan = *check.plan;
  std::optional<std::vector<scenarios::Case>> cases = CasesToRun(plan, spec_file);
  if (!cases) return kExitUsage;

  std::vector<scenarios::Outcome> outcomes;
  std::size_t passed = 0;
  for (const scenarios::Case& c : *cases) {
    outcomes.push_back(scenarios::RunCase(plan, c));
    if (outcomes.back().passed()) ++passed;
  }
  const bool ok = passed == outcomes.size();
  const std::string source = spec_file.empty() ? "built-in scenarios" : spec_file;

  if (output.json) {
    nlohmann::json results = nlohmann::json::array();
    for (const scenarios::Outcome& outcome : outcomes) {
      results.push_back(scenarios::OutcomeJson(outcome));
    }
    const nlohmann::json out{
        {"format", kFormatVersion},
        {"plan", {{"name", plan.name}, {"file", plan.source_file}, {"sha256", plan.sha256}}},
        {"spec", spec_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec_file)},
        {"ok", ok},
        {"scenarios", outcomes.size()},
        {"passed", passed},
        {"failed", outcomes.size() - passed},
        {"unset_variables", unset},
        {"results", std::move(results)}};
    std::cout << DumpJson(out, 2) << "\n";
  } else {
    if (!unset.empty()) {
      std::cout << fmt::format("note: not set, and not needed (a test expands no variable): {}\n",
                               fmt::join(unset, ", "));
    }
    std::cout << fmt::format("{}: plan '{}', {}\n", plan_file, plan.name, source);
    for (const scenarios::Outcome& outcome : outcomes) {
      std::cout << scenarios::OutcomeText(outcome);
    }
    std::cout << fmt::format("{}: {} scenario{}, {} passed, {} failed\n", plan_file,
                             outcomes.size(), outcomes.size() == 1 ? "" : "s", passed,
                             outcomes.size() - passed);
  }
  if (!output.junit_file.empty() &&
      !WriteOutput(JUnitReport(plan, fmt::format("backout test {} ({})", plan.name, source),
                               outcomes),
                   output.junit_file, "JUnit report")) {
    return kExitUsage;
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace backout::cli
