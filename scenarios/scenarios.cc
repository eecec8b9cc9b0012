#include "scenarios/scenarios.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "statemachine/decide.h"
#include "statemachine/operator.h"

namespace backout::scenarios {
namespace {

using Kind = sm::AttemptResult::Kind;
using Finding = sm::StepChecked::Finding;

// `times` attempts ending as `kind`, then success; every attempt when `times` is not given.
std::vector<sm::AttemptResult> Attempts(Kind kind, std::optional<int> times) {
  if (!times) return {sm::AttemptResult{.kind = kind}};
  std::vector<sm::AttemptResult> out(static_cast<std::size_t>(*times),
                                     sm::AttemptResult{.kind = kind});
  out.push_back(sm::AttemptResult{});
  return out;
}

sm::Scenario ScenarioOf(const When& when) {
  sm::Scenario scenario;
  for (const std::string& id : when.fails) {
    scenario.attempts[id] = Attempts(Kind::kFails, when.times);
  }
  for (const std::string& id : when.times_out) {
    scenario.attempts[id] = Attempts(Kind::kTimesOut, when.times);
  }
  if (!when.in_doubt.empty()) {
    scenario.attempts[when.in_doubt] = {sm::AttemptResult{.kind = Kind::kInDoubt},
                                        sm::AttemptResult{}};
    if (when.check) scenario.checks[when.in_doubt] = *when.check;
  }
  for (const std::string& id : when.refuse_approval) scenario.approvals[id] = false;
  if (!when.abort_at.empty()) scenario.abort_before = when.abort_at;
  return scenario;
}

// What `action` is as a command at `pause`.
sm::OperatorCommand CommandAt(OperatorAction action, const sm::RunPaused& pause,
                              const plan::Plan& plan) {
  switch (action) {
    case OperatorAction::kAbort: return sm::AbortCommand{"aborted by the test scenario"};
    case OperatorAction::kResume: return sm::ResumeCommand{};
    case OperatorAction::kApprove: {
      const plan::Step* step = plan.FindStep(pause.step);
      return sm::ApproveCommand{
          pause.step, step == nullptr ? "" : step->action.params.value.value("phrase", "")};
    }
    case OperatorAction::kResolveApplied: return sm::ResolveCommand{pause.step, true};
    case OperatorAction::kResolveNotApplied: return sm::ResolveCommand{pause.step, false};
  }
  return sm::ResumeCommand{};
}

// Simulates `when`, giving the operator's actions one pause at a time: each is made a command
// for the step the run paused at, and the (deterministic) simulation is run again with it.
Result<sm::SimulatedPath> SimulateWhen(const plan::Plan& plan, const When& when) {
  sm::Scenario scenario = ScenarioOf(when);
  while (true) {
    Result<sm::SimulatedPath> path = sm::Simulate(plan, scenario);
    if (!path.ok()) return path;
    const std::size_t given = scenario.on_pause.size();
    if (given == when.operator_actions.size()) return path;
    if (path->final_status != sm::RunStatus::kPaused) {
      return Status::InvalidArgument(fmt::format(
          "operator action {} ({}) is left over: the run {} without pausing again", given + 1,
          ToString(when.operator_actions[given]), sm::ToString(path->final_status)));
    }
    scenario.on_pause.push_back(CommandAt(when.operator_actions[given], *path->pause, plan));
  }
}

std::string StatusOfStep(const sm::SimulatedPath& path, const std::string& id) {
  const sm::StepState* st = path.state.FindStep(id);
  if (st == nullptr || st->status == sm::StepStatus::kPending) return "not reached";
  return std::string(sm::ToString(st->status));
}

std::string List(const std::vector<std::string>& ids) {
  return ids.empty() ? "none" : fmt::format("{}", fmt::join(ids, ", "));
}

std::vector<std::string> PauseSteps(const sm::SimulatedPath& path) {
  std::vector<std::string> out;
  for (const sm::RunPaused& pause : path.pauses) out.push_back(pause.step);
  return out;
}

bool Contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::vector<std::string> Check(const Expect& expect, const sm::SimulatedPath& path) {
  std::vector<std::string> failures;
  if (expect.status && *expect.status != path.final_status) {
    failures.push_back(fmt::format("expected status {}, the run ends {}",
                                   sm::ToString(*expect.status),
                                   sm::DescribeStatus(path.state)));
  }
  for (const std::string& id : expect.runs) {
    if (Contains(path.started, id)) continue;
    failures.push_back(fmt::format("expected {} to run; it did not ({}); started: {}", id,
                                   StatusOfStep(path, id), List(path.started)));
  }
  for (const std::string& id : expect.does_not_run) {
    if (!Contains(path.started, id)) continue;
    failures.push_back(fmt::format("expected {} not to run; it started ({})", id,
                                   StatusOfStep(path, id)));
  }
  auto ends = [&](const std::vector<std::string>& ids, sm::StepStatus status) {
    for (const std::string& id : ids) {
      const sm::StepState* st = path.state.FindStep(id);
      if (st != nullptr && st->status == status) continue;
      failures.push_back(fmt::format("expected {} to end {}; it is {}", id, sm::ToString(status),
                                     StatusOfStep(path, id)));
    }
  };
  ends(expect.skips, sm::StepStatus::kSkipped);
  ends(expect.succeeds, sm::StepStatus::kSucceeded);
  ends(expect.fails, sm::StepStatus::kFailed);
  if (expect.pauses_at && *expect.pauses_at != PauseSteps(path)) {
    failures.push_back(fmt::format("expected the run to pause at [{}]; it paused at [{}]",
                                   fmt::join(*expect.pauses_at, ", "),
                                   fmt::join(PauseSteps(path), ", ")));
  }
  if (expect.started && *expect.started != path.started) {
    failures.push_back(fmt::format("expected the attempts [{}]; the run started [{}]",
                                   fmt::join(*expect.started, ", "),
                                   fmt::join(path.started, ", ")));
  }
  return failures;
}

Case Builtin(std::string name, When when) {
  return Case{.name = std::move(name), .when = std::move(when), .expect = std::nullopt, .loc = {}};
}

}  // namespace

std::vector<Case> BuiltinCases(const plan::Plan& plan) {
  std::vector<Case> cases = {Builtin("everything succeeds", {})};
  const std::vector<OperatorAction> kAbort = {OperatorAction::kAbort};
  for (const plan::Step& step : plan.steps) {
    const std::string& id = step.id;
    if (step.action.kind == "approval") {
      cases.push_back(Builtin(id + " not approved", {.refuse_approval = {id}}));
      cases.push_back(Builtin(id + " refused (aborted at the gate)",
                              {.refuse_approval = {id}, .operator_actions = kAbort}));
      continue;
    }
    cases.push_back(Builtin(id + " fails", {.fails = {id}}));
    if (step.on_failure == plan::OnFailure::kPause) {
      cases.push_back(
          Builtin(id + " fails, aborted at the pause", {.fails = {id}, .operator_actions = kAbort}));
    }
    cases.push_back(Builtin(id + " times out", {.times_out = {id}}));
    switch (sm::InDoubtRuleOf(step)) {
      case sm::InDoubtRule::kRunAgain:
        cases.push_back(Builtin(id + " in doubt (runs again)", {.in_doubt = id}));
        break;
      case sm::InDoubtRule::kCheckDecides:
        cases.push_back(Builtin(id + " in doubt, check finds it applied",
                                {.in_doubt = id, .check = Finding::kPresent}));
        cases.push_back(Builtin(id + " in doubt, check finds it not applied",
                                {.in_doubt = id, .check = Finding::kAbsent}));
        cases.push_back(Builtin(id + " in doubt, check cannot tell",
                                {.in_doubt = id, .check = Finding::kUnknown}));
        cases.push_back(Builtin(
            id + " in doubt, check cannot tell, aborted at the pause",
            {.in_doubt = id, .check = Finding::kUnknown, .operator_actions = kAbort}));
        break;
      case sm::InDoubtRule::kOperatorResolves:
        cases.push_back(Builtin(id + " in doubt, resolved applied",
                                {.in_doubt = id,
                                 .operator_actions = {OperatorAction::kResolveApplied}}));
        cases.push_back(Builtin(id + " in doubt, resolved not applied",
                                {.in_doubt = id,
                                 .operator_actions = {OperatorAction::kResolveNotApplied}}));
        cases.push_back(Builtin(id + " in doubt, aborted at the pause",
                                {.in_doubt = id, .operator_actions = kAbort}));
        break;
    }
    cases.push_back(Builtin("abort before " + id, {.abort_at = id}));
  }
  return cases;
}

Outcome RunCase(const plan::Plan& plan, const Case& c) {
  Outcome outcome{.name = c.name, .error = Status::Ok(), .path = {}, .failures = {}};
  Result<sm::SimulatedPath> path = SimulateWhen(plan, c.when);
  if (!path.ok()) {
    outcome.error = path.status();
    return outcome;
  }
  outcome.path = std::move(path).value();
  if (c.expect) outcome.failures = Check(*c.expect, outcome.path);
  return outcome;
}

nlohmann::json OutcomeJson(const Outcome& outcome) {
  nlohmann::json out{{"name", outcome.name},
                     {"passed", outcome.passed()},
                     {"error", outcome.error.ok() ? nlohmann::json(nullptr)
                                                  : nlohmann::json(outcome.error.message())},
                     {"failures", outcome.failures},
                     {"path", nullptr}};
  if (!outcome.error.ok()) return out;
  nlohmann::json path = sm::SimulatedPathJson(outcome.path);
  path["succeeded"] = outcome.path.succeeded;
  path["failed"] = outcome.path.failed;
  nlohmann::json pauses = nlohmann::json::array();
  for (const sm::RunPaused& pause : outcome.path.pauses) {
    pauses.push_back({{"reason", sm::ToString(pause.reason)}, {"step", pause.step}});
  }
  path["pauses"] = std::move(pauses);
  out["path"] = std::move(path);
  return out;
}

std::string OutcomeText(const Outcome& outcome) {
  std::string out = fmt::format("{} {}\n", outcome.passed() ? "ok  " : "FAIL", outcome.name);
  if (!outcome.error.ok()) return out + fmt::format("     error: {}\n", outcome.error.message());
  for (const std::string& failure : outcome.failures) out += fmt::format("     - {}\n", failure);
  const sm::SimulatedPath& path = outcome.path;
  out += fmt::format("     runs: {}\n", List(path.started));
  if (!path.skipped.empty()) out += fmt::format("     skips: {}\n", List(path.skipped));
  if (!path.always_run.empty()) out += fmt::format("     always: {}\n", List(path.always_run));
  for (const sm::RunPaused& pause : path.pauses) {
    out += fmt::format("     pauses at {} ({})\n", pause.step, sm::ToString(pause.reason));
  }
  out += fmt::format("     ends: {}\n", sm::DescribeStatus(path.state));
  return out;
}

}  // namespace backout::scenarios
