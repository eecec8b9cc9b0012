#include "plan/plan.h"

#include <fmt/format.h>

namespace backout::plan {

std::string Diagnostic::ToString() const {
  const char* severity_name = severity == Severity::kError ? "error" : "warning";
  if (loc.line == 0) return fmt::format("{}: {}: {}", file, severity_name, message);
  return fmt::format("{}:{}:{}: {}: {}", file, loc.line, loc.col, severity_name, message);
}

SourceLoc LocatedJson::LocOf(const std::string& pointer) const {
  std::string current = pointer;
  while (true) {
    if (auto it = locs.find(current); it != locs.end()) return it->second;
    if (current.empty()) return {};
    // Escaped pointer tokens never contain '/', so the last '/' always starts the last token.
    const std::size_t slash = current.rfind('/');
    current.resize(slash == std::string::npos ? 0 : slash);
  }
}

const Step* Plan::FindStep(const std::string& id) const {
  const int index = IndexOf(id);
  return index < 0 ? nullptr : &steps[static_cast<std::size_t>(index)];
}

int Plan::IndexOf(const std::string& id) const {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

const Target* Plan::RehearsalSkipTarget(const Step& step) const {
  for (const Action* action : {&step.action, step.check ? &*step.check : nullptr}) {
    if (action == nullptr) continue;
    const auto it = targets.find(action->target);
    if (it != targets.end() && it->second.rehearsal == Target::Rehearsal::kSkip) {
      return &it->second;
    }
  }
  return nullptr;
}

const Trigger* Plan::FindTrigger(const std::string& issue, const std::string& severity) const {
  for (const Trigger& t : triggers) {
    if (t.issue == issue && t.severity == severity) return &t;
  }
  return nullptr;
}

}  // namespace backout::plan
