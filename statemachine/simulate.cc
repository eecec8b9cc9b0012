#include "statemachine/simulate.h"

#include <algorithm>
#include <type_traits>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "statemachine/decide.h"

namespace backout::sm {
namespace {

constexpr std::int64_t kStartUs = 1'700'000'000'000'000;  // any fixed time: no clock here
constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::string_view kRunId = "simulation";

class Simulation {
 public:
  Simulation(const plan::Plan& plan, const Scenario& scenario)
      : plan_(plan), scenario_(scenario) {}

  Result<RunState> Run() {
    RunStarted started;
    started.plan_name = plan_.name;
    started.plan_file = plan_.source_file;
    started.plan_sha256 = plan_.sha256;
    started.incident = plan_.incident;
    for (const plan::Step& step : plan_.steps) started.step_ids.push_back(step.id);
    BACKOUT_RETURN_IF_ERROR(Append({std::move(started)}));
    while (true) {
      if (static_cast<int>(events_.size()) > scenario_.max_events) {
        return Status::FailedPrecondition(fmt::format(
            "internal error: the simulated run did not end within {} events",
            scenario_.max_events));
      }
      const Command command = Decide(state_, plan_);
      decisions_.push_back(Describe(command));
      Result<bool> go_on = std::visit([this](const auto& c) { return Handle(c); }, command);
      if (!go_on.ok()) return go_on.status();
      if (!*go_on) return state_;
    }
  }

  std::vector<Event> TakeEvents() { return std::move(events_); }
  std::vector<std::string> TakeDecisions() { return std::move(decisions_); }

 private:
  // Stamps, applies and keeps `batch`, as engine::RunSession::Append does (one time for
  // the batch), minus the journal.
  Status Append(EventBatch batch) {
    for (EventBody& body : batch) {
      Event event{.seq = state_.last_seq + 1,
                  .time_us = now_us_,
                  .operator_name = std::string(kRunId),
                  .host = std::string(kRunId),
                  .body = std::move(body)};
      if (Status s = Apply(state_, event); !s.ok()) {
        return Status::FailedPrecondition(
            fmt::format("internal error: the simulation made an illegal event: {}",
                        s.message()));
      }
      events_.push_back(std::move(event));
    }
    now_us_ += kSecondUs;
    return Status::Ok();
  }

  Result<bool> Continue(EventBatch batch) {
    BACKOUT_RETURN_IF_ERROR(Append(std::move(batch)));
    return true;
  }

  AttemptResult ResultOf(const std::string& step, int attempt) const {
    const auto it = scenario_.attempts.find(step);
    if (it == scenario_.attempts.end() || it->second.empty()) return {};
    const std::size_t index = std::min<std::size_t>(attempt - 1, it->second.size() - 1);
    return it->second[index];
  }

  Result<bool> Handle(const StartStep& c) {
    const StepState* st = state_.FindStep(c.step);
    if (scenario_.abort_before == c.step && !state_.abort_requested && st->attempts == 0) {
      return Continue({AbortRequested{fmt::format("aborted before step {}", c.step)}});
    }
    now_us_ += std::chrono::duration_cast<std::chrono::microseconds>(c.delay).count();
    BACKOUT_RETURN_IF_ERROR(Append({StepStarted{c.step, c.attempt}}));
    AttemptResult result = ResultOf(c.step, c.attempt);
    AdapterAnswer answer{Status::Ok(), std::move(result.outputs)};
    switch (result.kind) {
      case AttemptResult::Kind::kSucceeds:
        break;
      case AttemptResult::Kind::kFails:
        answer.status = Status::ExpectationFailed(
            result.error.empty() ? "the step failed (simulated)" : result.error);
        break;
      case AttemptResult::Kind::kTimesOut:
        answer.status = Status::Timeout(
            result.error.empty() ? "the step's deadline passed (simulated)" : result.error);
        break;
      case AttemptResult::Kind::kInDoubt:
        // The runner died with the step started: the next runner's resume finds it in doubt.
        return AcceptAndContinue(ResumeCommand{});
    }
    return Continue({EventOfAnswer(c, std::move(answer))});
  }

  Result<bool> Handle(const RunCheck& c) {
    const auto it = scenario_.checks.find(c.step);
    const StepChecked::Finding finding =
        it == scenario_.checks.end() ? StepChecked::Finding::kPresent : it->second;
    AdapterAnswer answer;
    if (finding == StepChecked::Finding::kAbsent) {
      answer.status = Status::ExpectationFailed("the check found the effect absent (simulated)");
    } else if (finding == StepChecked::Finding::kUnknown) {
      answer.status = Status::Unavailable("the check could not tell (simulated)");
    }
    return Continue({EventOfAnswer(c, std::move(answer))});
  }

  Result<bool> Handle(const AwaitApproval& c) {
    const auto it = scenario_.approvals.find(c.step);
    if (it == scenario_.approvals.end() || it->second) {
      const std::string phrase =
          plan_.FindStep(c.step)->action.params.value.value("phrase", "");
      return Continue({ApprovalGranted{c.step, phrase, ApprovalGranted::Via::kApproveFlag}});
    }
    EventBatch batch;
    if (state_.FindStep(c.step)->status != StepStatus::kAwaitingApproval) {
      batch.push_back(ApprovalRequested{
          c.step, plan_.FindStep(c.step)->action.params.value.value("prompt", "")});
    }
    batch.push_back(RunPaused{RunPaused::Reason::kApproval, c.step});
    return Pause(std::move(batch));
  }

  Result<bool> Handle(const AwaitResolve& c) {
    return Pause({RunPaused{RunPaused::Reason::kInDoubt, c.step}});
  }

  Result<bool> Handle(const SkipStep& c) { return Continue({StepSkipped{c.step, c.reason}}); }

  Result<bool> Handle(const PauseRun& c) { return Pause({RunPaused{c.reason, c.step}}); }

  Result<bool> Handle(const FinishRun& c) {
    BACKOUT_RETURN_IF_ERROR(Append({RunFinished{c.ending}}));
    return false;
  }

  Result<bool> Handle(const Idle& c) {
    if (state_.status == RunStatus::kRunning) {
      return Status::FailedPrecondition(
          fmt::format("internal error: the simulated run has nothing to do ({})", c.why));
    }
    return false;
  }

  // Journals the pause, then plays the scenario's next operator command, if any.
  Result<bool> Pause(EventBatch batch) {
    BACKOUT_RETURN_IF_ERROR(Append(std::move(batch)));
    if (next_operator_command_ >= scenario_.on_pause.size()) return false;
    const OperatorCommand& command = scenario_.on_pause[next_operator_command_++];
    Result<bool> accepted = AcceptAndContinue(command);
    if (!accepted.ok()) return accepted;
    // An abort resumes by itself; the other commands are followed by `backout resume`.
    if (std::holds_alternative<AbortCommand>(command) ||
        std::holds_alternative<ResumeCommand>(command)) {
      return true;
    }
    return AcceptAndContinue(ResumeCommand{});
  }

  Result<bool> AcceptAndContinue(const OperatorCommand& command) {
    Result<EventBatch> events = Accept(state_, plan_, kRunId, command);
    if (!events.ok()) {
      return events.status().WithContext("the scenario's operator command is refused");
    }
    return Continue(std::move(events).value());
  }

  const plan::Plan& plan_;
  const Scenario& scenario_;
  RunState state_;
  std::vector<Event> events_;
  std::vector<std::string> decisions_;
  std::int64_t now_us_ = kStartUs;
  std::size_t next_operator_command_ = 0;
};

Status CheckNamesSteps(const plan::Plan& plan, const std::string& id, std::string_view what) {
  if (plan.FindStep(id) != nullptr) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("the scenario's {} names step '{}', which the plan does not have", what, id));
}

Status CheckScenario(const plan::Plan& plan, const Scenario& scenario) {
  for (const auto& [id, results] : scenario.attempts) {
    BACKOUT_RETURN_IF_ERROR(CheckNamesSteps(plan, id, "attempts"));
  }
  for (const auto& [id, finding] : scenario.checks) {
    BACKOUT_RETURN_IF_ERROR(CheckNamesSteps(plan, id, "checks"));
  }
  for (const auto& [id, given] : scenario.approvals) {
    BACKOUT_RETURN_IF_ERROR(CheckNamesSteps(plan, id, "approvals"));
  }
  if (scenario.abort_before) {
    BACKOUT_RETURN_IF_ERROR(CheckNamesSteps(plan, *scenario.abort_before, "abort_before"));
  }
  return Status::Ok();
}

void AddOnce(std::vector<std::string>& ids, const std::string& id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

}  // namespace

Result<SimulatedPath> Simulate(const plan::Plan& plan, const Scenario& scenario) {
  BACKOUT_RETURN_IF_ERROR(CheckScenario(plan, scenario));
  Simulation simulation(plan, scenario);
  Result<RunState> state = simulation.Run();
  if (!state.ok()) return state.status();

  SimulatedPath path;
  path.state = std::move(state).value();
  path.events = simulation.TakeEvents();
  path.decisions = simulation.TakeDecisions();
  path.final_status = path.state.status;
  if (path.state.status == RunStatus::kPaused) path.pause = path.state.pause;
  for (const Event& event : path.events) {
    if (const auto* started = std::get_if<StepStarted>(&event.body)) {
      path.started.push_back(started->step);
      if (plan.FindStep(started->step)->always) AddOnce(path.always_run, started->step);
    } else if (const auto* paused = std::get_if<RunPaused>(&event.body)) {
      path.pauses.push_back(*paused);
    }
  }
  for (const StepState& st : path.state.steps) {
    if (st.status == StepStatus::kSucceeded) path.succeeded.push_back(st.id);
    if (st.status == StepStatus::kFailed) path.failed.push_back(st.id);
    if (st.status == StepStatus::kSkipped) path.skipped.push_back(st.id);
  }
  return path;
}

Scenario StepFailsScenario(const std::string& step_id) {
  Scenario scenario;
  scenario.attempts[step_id] = {AttemptResult{.kind = AttemptResult::Kind::kFails}};
  return scenario;
}

nlohmann::json SimulatedPathJson(const SimulatedPath& path) {
  nlohmann::json out{{"final_status", ToString(path.final_status)},
                     {"paused_at", nullptr},
                     {"started", path.started},
                     {"skipped", path.skipped},
                     {"always_run", path.always_run}};
  if (path.pause) {
    out["paused_at"] = nlohmann::json{{"reason", ToString(path.pause->reason)},
                                      {"step", path.pause->step}};
  }
  return out;
}

}  // namespace backout::sm
