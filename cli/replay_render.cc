#include "cli/replay_render.h"

#include <fmt/format.h>

#include "report/junit.h"

namespace backout::cli {
namespace {

std::vector<const sm::Divergence*> Divergences(const sm::ReplaySummary& summary) {
  std::vector<const sm::Divergence*> out;
  if (summary.divergence) out.push_back(&*summary.divergence);
  for (const sm::Divergence& d : summary.later_divergences) out.push_back(&d);
  return out;
}

// "decision 3" or, for an approval the run never asked for, "input".
std::string WhichDecision(const sm::Divergence& d) {
  return d.decision == 0 ? "input" : fmt::format("decision {}", d.decision);
}

std::string DescribeChange(const sm::StepChange& change) {
  if (change.kind == sm::StepChange::Kind::kRenamed) {
    return fmt::format("step renamed: {} -> {} (position {}, same action)", change.id,
                       change.new_id, change.position);
  }
  return fmt::format("step {}: {} (position {} of the {} plan)", sm::ToString(change.kind),
                     change.id, change.position,
                     change.kind == sm::StepChange::Kind::kAdded ? "new" : "journaled");
}

std::string DivergenceText(const std::string& run_id, const sm::Divergence& d) {
  return fmt::format(
      "replay of run {}: {} diverges at event #{} {}\n"
      "  recorded: {}\n"
      "  derived:  {}\n",
      run_id, WhichDecision(d), d.seq, d.event_type, d.recorded, d.derived);
}

std::string CountLine(const ReplayOutcome& o) {
  const std::size_t diverging = Divergences(o.summary).size();
  return fmt::format("replay of run {}: {} events, {} decisions re-derived, {}\n", o.run_id,
                     o.event_count, o.summary.decisions_checked,
                     diverging == 0 ? std::string("all match")
                                    : fmt::format("{} diverge", diverging));
}

// JSON null for a text that is not there.
nlohmann::json OrNull(const std::string& text) {
  return text.empty() ? nlohmann::json() : nlohmann::json(text);
}

}  // namespace

std::string ReplayToText(const ReplayOutcome& o) {
  std::string text;
  if (!o.plan_file.empty()) {
    text += fmt::format("replay of run {} against {} (plan '{}'): {}\n", o.run_id, o.plan_file,
                        o.plan_name,
                        o.step_changes.empty()
                            ? std::string("the same steps as the journaled plan")
                            : fmt::format("{} step{} changed", o.step_changes.size(),
                                          o.step_changes.size() == 1 ? "" : "s"));
    for (const sm::StepChange& change : o.step_changes) {
      text += "  " + DescribeChange(change) + "\n";
    }
  }
  for (const sm::Divergence* d : Divergences(o.summary)) text += DivergenceText(o.run_id, *d);
  // Without --all a divergence ends the replay: the count would say nothing more.
  if (o.matches() || o.all) text += CountLine(o);
  return text;
}

nlohmann::json ReplayToJson(const ReplayOutcome& o) {
  nlohmann::json changes = nlohmann::json::array();
  for (const sm::StepChange& c : o.step_changes) {
    nlohmann::json change = {
        {"change", sm::ToString(c.kind)}, {"step", c.id}, {"position", c.position}};
    if (c.kind == sm::StepChange::Kind::kRenamed) change["new_step"] = c.new_id;
    changes.push_back(std::move(change));
  }
  nlohmann::json divergences = nlohmann::json::array();
  for (const sm::Divergence* d : Divergences(o.summary)) {
    divergences.push_back({{"decision", d->decision},
                           {"seq", d->seq},
                           {"event_type", d->event_type},
                           {"recorded", d->recorded},
                           {"derived", d->derived}});
  }
  return {{"run", o.run_id},
          {"export_file", OrNull(o.export_file)},
          {"plan", {{"file", OrNull(o.plan_file)},
                    {"journaled", o.plan_file.empty()},
                    {"name", o.plan_name},
                    {"sha256", o.plan_sha256}}},
          {"events", o.event_count},
          {"all", o.all},
          {"decisions_checked", o.summary.decisions_checked},
          {"step_changes", std::move(changes)},
          {"divergences", std::move(divergences)},
          {"match", o.matches()}};
}

std::string ReplayToJUnit(const ReplayOutcome& o) {
  report::JUnitCase run{.name = fmt::format("replay of run {}", o.run_id),
                        .classname = o.plan_name,
                        .output = CountLine(o)};
  if (!o.matches()) {
    const sm::Divergence& first = *o.summary.divergence;
    run.failed = true;
    run.failure_message =
        fmt::format("{} diverges at event #{} {}: recorded {}, derived {}", WhichDecision(first),
                    first.seq, first.event_type, first.recorded, first.derived);
    run.failure_detail = ReplayToText(o);
  }
  const std::string suite =
      o.plan_file.empty() ? "backout replay" : fmt::format("backout replay --plan {}", o.plan_file);
  return report::RenderJUnit({report::JUnitSuite{.name = suite, .cases = {std::move(run)}}});
}

nlohmann::json VerifyToJson(const VerifyOutcome& o) {
  nlohmann::json out = {{"run", o.run_id},
                        {"events", o.event_count},
                        {"head", OrNull(o.head)},
                        {"chain", OrNull(o.chain)},
                        {"checks", o.checks},
                        {"decisions_checked", o.decisions_checked},
                        {"signatures", nullptr},
                        {"ok", !o.error.has_value()},
                        {"error", nullptr}};
  if (o.signatures) {
    out["signatures"] = {{"state", journal::SignatureStateName(o.signatures->state)},
                         {"key", OrNull(o.signatures->fingerprint)},
                         {"count", o.signatures->signatures},
                         {"signed_through", o.signatures->signed_through_seq}};
  }
  if (o.error) {
    nlohmann::json error = {{"message", *o.error}};
    if (o.divergence) {
      error["seq"] = o.divergence->seq;
      error["event_type"] = o.divergence->event_type;
      error["recorded"] = o.divergence->recorded;
      error["derived"] = o.divergence->derived;
    }
    out["error"] = std::move(error);
  }
  return out;
}

}  // namespace backout::cli
