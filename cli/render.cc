#include "cli/render.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "base/file_util.h"
#include "base/json_text.h"
#include "base/time.h"
#include "report/report.h"

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

nlohmann::json RunnerToJson(const std::optional<journal::RunHolder>& runner) {
  if (!runner) return nullptr;
  return {{"pid", runner->pid}, {"host", runner->host}, {"since", runner->since}};
}

// The `runner` line of `status RUN`.
std::string DescribeRunner(const std::string& run_id, const sm::RunState& state,
                           const RunLiveness& liveness) {
  if (const std::optional<journal::RunHolder>& r = liveness.runner) {
    if (r->pid == 0) return "a runner holds the run (it is recording its pid)";
    return fmt::format("pid {} on host {}, holding the run since {}", r->pid, r->host, r->since);
  }
  if (Interrupted(state, liveness)) {
    return fmt::format(
        "none: the run was interrupted (its runner stopped without pausing it); continue with: "
        "backout resume {}",
        run_id);
  }
  return "none";
}

}  // namespace

bool Interrupted(const sm::RunState& state, const RunLiveness& liveness) {
  return !liveness.runner && state.status == sm::RunStatus::kRunning;
}

nlohmann::json RunToJson(const std::string& run_id, const sm::RunState& state,
                         std::size_t event_count, const RunLiveness& liveness) {
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
                        {"runner", RunnerToJson(liveness.runner)},
                        {"interrupted", Interrupted(state, liveness)},
                        {"queued_notes", liveness.queued_notes},
                        {"abort_requested", state.abort_requested},
                        {"rehearsal", state.start.rehearsal},
                        {"events", event_count},
                        {"started", FormatUtcMicros(state.started_us)},
                        {"last_event", FormatUtcMicros(state.last_event_us)},
                        {"steps", std::move(steps)}};
  if (!state.abort_reasons.empty()) out["abort_reasons"] = state.abort_reasons;
  if (state.pause && state.status == sm::RunStatus::kPaused) {
    out["pause"] = {{"reason", sm::ToString(state.pause->reason)}, {"step", state.pause->step}};
  }
  return out;
}

std::string RunToText(const std::string& run_id, const sm::RunState& state,
                      std::size_t event_count, const RunLiveness& liveness) {
  std::string out = fmt::format("run      {}\nplan     {} ({})\n", run_id, state.start.plan_name,
                                state.start.plan_file);
  if (!state.start.incident.empty()) out += fmt::format("incident {}\n", state.start.incident);
  if (state.start.rehearsal) {
    out += "kind     rehearsal (run --rehearse: copied, skipped or redirected targets; "
           "`backout report` says which)\n";
  }
  out += fmt::format("status   {}\nrunner   {}\n", sm::DescribeStatus(state),
                     DescribeRunner(run_id, state, liveness));
  if (liveness.queued_notes > 0) {
    out += fmt::format("notes    {} queued, journaled with the run's next event\n",
                       liveness.queued_notes);
  }
  for (const std::string& reason : state.abort_reasons) out += fmt::format("abort    {}\n", reason);
  out += fmt::format("started  {}\nevents   {} (last {})\n\n", FormatUtcMicros(state.started_us),
                     event_count, FormatUtcMicros(state.last_event_us));
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

std::string RunSummaryLine(const std::string& run_id, const sm::RunState& state,
                           const RunLiveness& liveness) {
  std::string status = sm::DescribeStatus(state);
  if (liveness.runner && liveness.runner->pid != 0) {
    status += fmt::format(" (pid {})", liveness.runner->pid);
  } else if (Interrupted(state, liveness)) {
    status += " (interrupted: resume)";
  }
  return fmt::format("{:<32} {:<28} {:<30} {}{}", run_id, status, state.start.plan_name,
                     FormatUtcMicros(state.started_us), state.start.rehearsal ? "  rehearsal" : "");
}

std::string AbortOutcomeText(const std::string& run_id, const sm::RunState& state,
                             const plan::Plan& plan) {
  std::string out;
  if (!state.abort_reasons.empty()) {
    out += fmt::format("the abort is recorded in the journal: \"{}\"", state.abort_reasons.back());
    if (state.abort_reasons.size() > 1) {
      const std::vector<std::string> earlier(state.abort_reasons.begin(),
                                             state.abort_reasons.end() - 1);
      out += fmt::format(" (earlier aborts: \"{}\")", fmt::join(earlier, "\", \""));
    }
    out += "\n";
  }
  std::vector<std::string> not_run, in_doubt;
  std::string always;
  for (std::size_t i = 0; i < state.steps.size() && i < plan.steps.size(); ++i) {
    const sm::StepState& st = state.steps[i];
    const plan::Step& step = plan.steps[i];
    if (step.always) {
      if (st.status == sm::StepStatus::kFailed) {
        always += fmt::format(
            "always step {} FAILED: {}\n  what it does ({}) is NOT done: see to it by hand\n",
            st.id, Shorten(st.error, 300), step.title);
      } else {
        always += fmt::format("always step {} {}\n", st.id, sm::ToString(st.status));
      }
      continue;
    }
    if (st.status == sm::StepStatus::kSkipped || st.status == sm::StepStatus::kPending ||
        st.status == sm::StepStatus::kAwaitingApproval) {
      not_run.push_back(st.id);
    } else if (st.status == sm::StepStatus::kInDoubt) {
      in_doubt.push_back(st.id);
    }
  }
  out += not_run.empty() ? "every other step had already run\n"
                         : fmt::format("will not run: {}\n", fmt::join(not_run, ", "));
  out += always;
  if (!in_doubt.empty()) {
    out += fmt::format(
        "left in doubt (started, outcome unknown; check the target): {}\n",
        fmt::join(in_doubt, ", "));
  }
  out += fmt::format("run {} is {}\n", run_id, sm::DescribeStatus(state));
  return out;
}

nlohmann::json EventToJson(const journal::Record& r) {
  nlohmann::json payload = ParseJsonText(r.payload);
  const bool os_user_known = r.os_uid != OsUser::kUnknownUid;
  return {{"run_id", r.run_id},
          {"seq", r.seq},
          {"time", FormatUtcMicros(r.time_us)},
          {"type", r.type},
          {"operator", r.operator_name},
          {"host", r.host},
          {"os_user", os_user_known ? nlohmann::json(r.os_user) : nlohmann::json()},
          {"os_uid", os_user_known ? nlohmann::json(r.os_uid) : nlohmann::json()},
          {"payload", payload},
          {"prev_hash", ToHex(r.prev_hash)},
          {"hash", ToHex(r.hash)}};
}

namespace {

// " as root (uid 0)" after the operator, flagged when that OS user is not the operator; ""
// for a record that does not know its OS user (record format version 1).
std::string AppendedAsText(const journal::Record& r) {
  if (r.os_uid == OsUser::kUnknownUid) return "";
  const OsUser os_user{.uid = r.os_uid, .name = r.os_user};
  return fmt::format(" as {}{}", report::OsUserText(os_user),
                     report::IdentityMismatch(r.operator_name, os_user) ? " [mismatch]" : "");
}

}  // namespace

std::string EventToText(const journal::Record& r, const sm::Event& e) {
  std::string detail;
  if (const auto* started = std::get_if<sm::RunStarted>(&e.body)) {
    detail = fmt::format("plan={} sha256={} steps={}", started->plan_name,
                         started->plan_sha256.substr(0, 12), started->step_ids.size());
  } else {
    detail = Shorten(r.payload, 160);
  }
  return fmt::format("#{:<4} {} {}@{}{} {} {}", r.seq, FormatUtcMicros(r.time_us),
                     r.operator_name, r.host, AppendedAsText(r), r.type, detail);
}

bool WriteOutput(const std::string& text, const std::string& output_file, std::string_view what) {
  if (output_file.empty()) {
    std::cout << text << std::flush;
    return true;
  }
  if (Status s = WriteFileAtomically(output_file, text); !s.ok()) {
    std::cerr << "backout: error: cannot write the " << what << ": " << s.message() << "\n";
    return false;
  }
  return true;
}

}  // namespace backout::cli
