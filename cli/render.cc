#include "cli/render.h"

#include <fmt/format.h>

#include "base/time.h"

namespace backout::cli {
namespace {

std::string StepDuration(const sm::StepState& st) {
  if (st.first_started_us == 0 || st.finished_us == 0) return "";
  return FormatDuration(std::chrono::milliseconds(ElapsedMs(st.first_started_us, st.finished_us)));
}

std::string Shorten(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  text.resize(max);
  return text + "…";
}

}  // namespace

nlohmann::json RunToJson(const std::string& run_id, const sm::RunState& state,
                         std::size_t event_count) {
  nlohmann::json steps = nlohmann::json::array();
  for (const sm::StepState& st : state.steps) {
    nlohmann::json j = {{"id", st.id},
                        {"status", sm::ToString(st.status)},
                        {"attempts", st.attempts},
                        {"outputs", st.outputs}};
    if (!st.error.empty()) j["error"] = st.error;
    if (!st.recovered.empty()) j["recovered"] = st.recovered;
    if (!st.skip_reason.empty()) j["skip_reason"] = st.skip_reason;
    if (!st.approved_by.empty()) j["approved_by"] = st.approved_by;
    if (st.first_started_us != 0 && st.finished_us != 0) {
      j["duration_ms"] = ElapsedMs(st.first_started_us, st.finished_us);
    }
    steps.push_back(std::move(j));
  }
  nlohmann::json out = {{"run_id", run_id},
                        {"plan", state.start.plan_name},
                        {"plan_file", state.start.plan_file},
                        {"plan_sha256", state.start.plan_sha256},
                        {"incident", state.start.incident},
                        {"status", sm::ToString(state.status)},
                        {"abort_requested", state.abort_requested},
                        {"rehearsal", state.start.rehearsal},
                        {"events", event_count},
                        {"started", FormatUtcMicros(state.started_us)},
                        {"last_event", FormatUtcMicros(state.last_event_us)},
                        {"steps", std::move(steps)}};
  if (state.pause && state.status == sm::RunStatus::kPaused) {
    out["pause"] = {{"reason", sm::ToString(state.pause->reason)}, {"step", state.pause->step}};
  }
  return out;
}

std::string RunToText(const std::string& run_id, const sm::RunState& state,
                      std::size_t event_count) {
  std::string out = fmt::format("run      {}\nplan     {} ({})\n", run_id, state.start.plan_name,
                                state.start.plan_file);
  if (!state.start.incident.empty()) out += fmt::format("incident {}\n", state.start.incident);
  if (state.start.rehearsal) {
    out += "kind     rehearsal (run --rehearse: copied, skipped or redirected targets; "
           "`backout report` says which)\n";
  }
  out += fmt::format("status   {}\nstarted  {}\nevents   {} (last {})\n\n",
                     sm::DescribeStatus(state), FormatUtcMicros(state.started_us), event_count,
                     FormatUtcMicros(state.last_event_us));
  out += fmt::format("  {:>2}  {:<24} {:<18} {:>8}  {:>9}  {}\n", "#", "step", "status",
                     "attempts", "time", "note");
  int n = 0;
  for (const sm::StepState& st : state.steps) {
    std::string note;
    if (!st.recovered.empty()) note = "recovered by " + st.recovered;
    if (!st.approved_by.empty()) note = "approved by " + st.approved_by;
    if (!st.skip_reason.empty()) note = st.skip_reason;
    if (!st.error.empty() && st.status == sm::StepStatus::kFailed) note = Shorten(st.error, 80);
    out += fmt::format("  {:>2}  {:<24} {:<18} {:>8}  {:>9}  {}\n", ++n, st.id,
                       sm::ToString(st.status), st.attempts, StepDuration(st), note);
  }
  return out;
}

std::string RunSummaryLine(const std::string& run_id, const sm::RunState& state) {
  return fmt::format("{:<26} {:<28} {:<30} {}{}", run_id, sm::DescribeStatus(state),
                     state.start.plan_name, FormatUtcMicros(state.started_us),
                     state.start.rehearsal ? "  rehearsal" : "");
}

nlohmann::json EventToJson(const journal::Record& r) {
  nlohmann::json payload = nlohmann::json::parse(r.payload, nullptr, false);
  return {{"run_id", r.run_id},           {"seq", r.seq},
          {"time", FormatUtcMicros(r.time_us)}, {"type", r.type},
          {"operator", r.operator_name},  {"host", r.host},
          {"payload", payload},           {"prev_hash", ToHex(r.prev_hash)},
          {"hash", ToHex(r.hash)}};
}

std::string EventToText(const journal::Record& r, const sm::Event& e) {
  std::string detail;
  if (const auto* started = std::get_if<sm::RunStarted>(&e.body)) {
    detail = fmt::format("plan={} sha256={} steps={}", started->plan_name,
                         started->plan_sha256.substr(0, 12), started->step_ids.size());
  } else {
    detail = Shorten(r.payload, 160);
  }
  return fmt::format("#{:<4} {} {}@{} {} {}", r.seq, FormatUtcMicros(r.time_us), r.operator_name,
                     r.host, r.type, detail);
}

}  // namespace backout::cli
