// The text form of the preview: rendered from its JSON (preview.cc), so the two never say
// different things.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cctype>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include "base/time.h"
#include "preview/preview.h"

namespace backout::preview {
namespace {

using nlohmann::json;

// A JSON value in YAML's flow style, as a plan would write it: strings bare, [a, b], {k: v}.
std::string Flow(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> items;
    for (const json& item : value) items.push_back(Flow(item));
    return fmt::format("[{}]", fmt::join(items, ", "));
  }
  if (value.is_object()) {
    std::vector<std::string> items;
    for (const auto& [key, item] : value.items()) items.push_back(key + ": " + Flow(item));
    return fmt::format("{{{}}}", fmt::join(items, ", "));
  }
  return value.dump();
}

std::string Duration(const json& ms) {
  return FormatDuration(std::chrono::milliseconds(ms.get<std::int64_t>()));
}

std::string List(const json& ids) {
  std::vector<std::string> names;
  for (const json& id : ids) names.push_back(id.get<std::string>());
  return fmt::format("{}", fmt::join(names, ", "));
}

// "label: value", a multi-line string as an indented block under the label.
void Detail(std::ostream& out, const std::string& indent, const std::string& label,
            const json& value) {
  if (!value.is_string() || value.get_ref<const std::string&>().find('\n') == std::string::npos) {
    out << indent << label << ": " << Flow(value) << "\n";
    return;
  }
  out << indent << label << ": |\n";
  std::istringstream lines(value.get<std::string>());
  for (std::string line; std::getline(lines, line);) {
    out << indent << "    " << line << "\n";
  }
}

std::string_view EffectText(const json& effect) {
  if (effect == "reads_only") return "reads only";
  if (effect == "changes_target") return "changes the target";
  if (effect == "calls_out") return "calls out";
  if (effect == "asks_approval") return "asks for approval";
  return "";
}

std::string_view InDoubtText(const json& policy) {
  if (policy == "runs_again") return "runs again (idempotent)";
  if (policy == "check_decides") return "its check decides whether it runs again";
  return "the operator resolves it (backout resolve)";
}

// "skips X, Y; always steps run: Z; pauses at S (step_failed)" / "...; ends failed".
std::string PathText(const json& path) {
  std::vector<std::string> parts;
  if (!path["skipped"].empty()) parts.push_back("skips " + List(path["skipped"]));
  if (!path["always_run"].empty()) {
    parts.push_back("always steps run: " + List(path["always_run"]));
  }
  if (path["paused_at"].is_object()) {
    parts.push_back(fmt::format("pauses at {} ({})", path["paused_at"]["step"].get<std::string>(),
                                path["paused_at"]["reason"].get<std::string>()));
  } else {
    parts.push_back("ends " + path["final_status"].get<std::string>());
  }
  std::string text = fmt::format("{}", fmt::join(parts, "; "));
  if (path.contains("after_abort")) text += "; then on abort: " + PathText(path["after_abort"]);
  return text;
}

void Action(std::ostream& out, const std::string& indent, const json& action) {
  std::string head = action["kind"].get<std::string>();
  if (action["target"].is_string()) {
    head += " on " + action["target"].get<std::string>();
    if (action["target_type"].is_string()) {
      head += " (" + action["target_type"].get<std::string>() + ")";
    }
  }
  out << indent << head << ": " << EffectText(action["effect"]) << "\n";
  for (const json& lock : action["locks"]) out << indent << "lock: " << Flow(lock) << "\n";
  for (const json& detail : action["details"]) {
    Detail(out, indent, detail["label"].get<std::string>(), detail["value"]);
  }
  if (action.contains("baseline_step")) {
    out << indent << "equals: baseline compares with: "
        << (action["baseline_step"].is_string() ? "step " + action["baseline_step"].get<std::string>()
                                                : std::string("no baseline step"))
        << "\n";
  }
}

void Step(std::ostream& out, const json& step) {
  out << fmt::format("{:>3}. {}: {}", step["position"].get<int>(), step["id"].get<std::string>(),
                     step["title"].get<std::string>());
  if (step["point_of_no_return"].get<bool>()) out << "   [POINT OF NO RETURN: approval gate]";
  if (step["always"].get<bool>()) out << "   [always: runs even when the run fails or is aborted]";
  out << "\n";
  const std::string indent = "     ";
  Action(out, indent, step["action"]);
  if (step["point_of_no_return"].get<bool>()) {
    // A gate only asks: retries, timeouts and in-doubt do not apply to it.
    out << indent << "if not approved: " << PathText(step["if_not_approved"]) << "\n";
    return;
  }
  std::vector<std::string> how;
  if (step["retry"]["attempts"].get<int>() > 1) {
    how.push_back(fmt::format("{} attempts, backoff {} (doubling)",
                              step["retry"]["attempts"].get<int>(),
                              Duration(step["retry"]["backoff_ms"])));
  }
  if (step["timeout_ms"].is_number()) {
    how.push_back("timeout " + Duration(step["timeout_ms"]));
  }
  how.push_back("on failure: " + step["on_failure"].get<std::string>());
  if (step["downtime"].is_string()) {
    how.push_back("downtime " + step["downtime"].get<std::string>());
  }
  out << indent << fmt::format("{}", fmt::join(how, "; ")) << "\n";
  out << indent << "in doubt: " << InDoubtText(step["in_doubt"]) << "\n";
  for (const json& value : step["run_time_values"]) {
    out << indent
        << fmt::format("{}: known at run time, from step {} output {}",
                       value["reference"].get<std::string>(), value["step"].get<std::string>(),
                       value["output"].get<std::string>())
        << "\n";
  }
  if (step["check"].is_object()) {
    out << indent << "check (when in doubt):\n";
    Action(out, indent + "  ", step["check"]);
  }
  out << indent << "if it fails: " << PathText(step["if_fails"]) << "\n";
}

}  // namespace

std::string RenderPreviewText(const json& preview) {
  std::ostringstream out;
  const json& plan = preview["plan"];
  out << fmt::format("plan '{}' ({}, sha256 {})\n", plan["name"].get<std::string>(),
                     plan["file"].get<std::string>(), plan["sha256"].get<std::string>());
  std::string description = plan["description"].get<std::string>();
  while (!description.empty() && std::isspace(static_cast<unsigned char>(description.back()))) {
    description.pop_back();
  }
  if (!description.empty()) out << "  " << description << "\n";
  if (!plan["incident"].get<std::string>().empty()) {
    out << "  incident: " << plan["incident"].get<std::string>() << "\n";
  }
  std::vector<std::string> targets;
  for (const json& t : preview["targets"]) {
    targets.push_back(fmt::format("{} ({})", t["name"].get<std::string>(),
                                  t["type"].get<std::string>()));
  }
  out << "  targets: " << (targets.empty() ? "none" : fmt::format("{}", fmt::join(targets, ", ")))
      << "\n";
  out << "  if every step succeeds: " << PathText(preview["if_all_succeed"]) << "\n\n";
  for (const json& step : preview["steps"]) {
    Step(out, step);
    out << "\n";
  }
  return out.str();
}

}  // namespace backout::preview
