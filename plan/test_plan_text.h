// For plan parser tests: a plan's first lines with two targets, and diagnostics as text.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"

namespace backout::plan {

// Six lines that plans in tests start from; their steps begin on line 7.
inline constexpr std::string_view kTestPlanHeader =
    "version: 1\n"
    "name: demo\n"
    "targets:\n"
    "  appdb: { type: sqlite, path: app.db }\n"
    "  ops: { type: command }\n"
    "steps:\n";

inline std::string WithHeader(std::string_view steps) {
  return std::string(kTestPlanHeader) + std::string(steps);
}

// One Diagnostic::ToString() a line.
inline std::string Describe(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += d.ToString() + "\n";
  return out;
}

}  // namespace backout::plan
