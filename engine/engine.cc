#include "engine/engine.h"

#include <fmt/format.h>

#include <filesystem>

#include "adapters/common/run_log.h"
#include "adapters/common/verify.h"
#include "base/redactor.h"
#include "base/sha256.h"
#include "base/time.h"
#include "base/utf8.h"
#include "capture/capture.h"
#include "engine/plan_check.h"
#include "engine/rehearsal.h"
#include "engine/target_locks.h"
#include "plan/interpolate.h"
#include "statemachine/decide.h"
#include "statemachine/operator.h"

namespace backout::engine {
namespace {

using sm::RunStatus;
using sm::StepStatus;

// An adapter's outcome as the state machine takes it (statemachine/ does not know adapters).
sm::AdapterAnswer AnswerOf(adapters::Outcome outcome) {
  return sm::AdapterAnswer{std::move(outcome.status), std::move(outcome.outputs)};
}

// The directory of the plan file the run started from (journaled marked: see base/utf8.h).
std::filesystem::path PlanDir(const sm::RunState& state) {
  return std::filesystem::path(UnmarkInvalidUtf8(state.start.plan_file)).parent_path();
}

// Puts `log` into an outcome event (StepSucceeded, StepFailed); other events have no log.
void AttachLog(sm::EventBody& event, std::optional<sm::LogDigest> log) {
  std::visit(
      [&](auto& b) {
        if constexpr (requires { b.log; }) b.log = std::move(log);
      },
      event);
}

// What running an attempt gave: the adapter's outcome, and the digest of the full output log
// the attempt wrote (its section of the run log), if it wrote one.
struct Ran {
  adapters::Outcome outcome;
  std::optional<sm::LogDigest> log;
};

class StepRunner {
 public:
  // `copies` (may be null: not a rehearsal) must outlive the runner.
  StepRunner(RunSession& session, const DriveOptions& options, const RehearsalCopies* copies)
      : session_(session),
        options_(options),
        copies_(copies),
        run_log_(session.journal().LogDir(session.run_id()) / adapters::kRunLogFileName) {
    for (const std::string& s : options.secrets) redactor_.Add(s);
  }

  // Runs the step's action (or, with `as_check`, its check) with everything resolved. An
  // exception (a bug: adapters report through Status) is an error here, never a crash:
  // whether the effect happened is then unknown, so the caller journals no outcome for it.
  // The log's digest is taken from what the attempt wrote, once the adapter has returned and
  // before the outcome is journaled: the chain then covers the log (docs/events.md).
  Result<Ran> Run(const plan::Step& step, int attempt, bool as_check) {
    adapters::AttemptLog log(
        run_log_, adapters::LogFileName(as_check ? step.id + ".check" : step.id, attempt));
    try {
      Ran ran{RunUnguarded(step, attempt, as_check, log), std::nullopt};
      if (log.begun()) {
        FileDigest digest = log.Finish();
        ran.log = sm::LogDigest{log.name(), digest.bytes, std::move(digest.sha256_hex)};
      }
      return ran;
    } catch (const std::exception& e) {
      return Status::FailedPrecondition(
          fmt::format("internal error: step {}{}: {}", step.id, as_check ? " (check)" : "",
                      redactor_.Scrub(e.what())));
    }
  }

  // What opening the run log had to repair (empty when nothing), once.
  std::string TakeLogRepairNotice() { return run_log_.TakeRepairNotice(); }

 private:
  adapters::Outcome RunUnguarded(const plan::Step& step, int attempt, bool as_check,
                                 adapters::AttemptLog& log) {
    const plan::Action& action = as_check ? *step.check : step.action;
    const plan::Plan& plan = session_.plan();
    // Validated when the run started, so the target exists.
    const ActionTarget served = *TargetOf(plan, action, *options_.registry);
    adapters::Adapter* adapter = options_.registry->Find(served.adapter_type);
    if (adapter == nullptr) {
      return {Status::InvalidArgument(
                  fmt::format("no adapter for target type '{}'", served.adapter_type)),
              {}};
    }
    plan::Lookups lookups;
    lookups.variable = [this](const std::string& name) { return session_.env()->GetVar(name); };
    lookups.step_output = [this](const std::string& id, const std::string& path) {
      const sm::StepState* st = session_.state().FindStep(id);
      if (st == nullptr) return std::optional<nlohmann::json>();
      std::optional<nlohmann::json> value = plan::OutputAt(st->outputs, path);
      // Outputs are journaled with bytes that are not UTF-8 marked; the step gets the
      // original bytes (a backup path with a 0xFF byte names the same file).
      if (value) value = UnmarkInvalidUtf8Json(*value);
      return value;
    };
    lookups.output_names = [this](const std::string& id) {
      std::vector<std::string> names;
      if (const sm::StepState* st = session_.state().FindStep(id)) {
        for (const auto& [name, value] : st->outputs.items()) names.push_back(name);
      }
      return names;
    };
    std::vector<std::string> secrets;
    Result<nlohmann::json> target_config = plan::ExpandTree(served.config, lookups, &secrets);
    Result<nlohmann::json> params = plan::ExpandTree(action.params.value, lookups, &secrets);
    for (std::string& s : secrets) redactor_.Add(std::move(s));
    if (!target_config.ok()) {
      return {target_config.status().WithContext("target " + served.target->name), {}};
    }
    if (!params.ok()) return {params.status(), {}};
    // Validation refused the plan's own paths into the journal; one made of step outputs is
    // known only now, and must not overwrite another run's journal files either.
    if (std::optional<std::string> into = PathIntoJournal(
            served.adapter_type, action.kind, *target_config, *params,
            PlanDir(session_.state()),
            session_.journal().dir())) {
      return {Status::InvalidArgument(redactor_.Scrub(*into)), {}};
    }

    // `capture.NAME` references, from the captures journaled when the run was created.
    Result<capture::ResolvedAction> resolved = capture::ResolveAction(
        action.kind, *params, action.target,
        UnmarkInvalidUtf8Json(session_.state().start.captures));
    if (!resolved.ok()) return {resolved.status(), {}};

    adapters::Invocation inv;
    if (resolved->baseline) {
      inv.baseline = std::move(resolved->baseline);
    } else if (action.kind == "verify") {
      const int baseline = BaselineStepFor(plan, plan.IndexOf(step.id), action.target);
      if (baseline >= 0) {
        inv.baseline = UnmarkInvalidUtf8Json(
            session_.state().steps[static_cast<std::size_t>(baseline)].outputs);
      }
    }
    if (action.kind == "notify") inv.run_facts = RunFacts(step);
    inv.action = action.kind;
    inv.target = std::move(target_config).value();
    if (const nlohmann::json* copy = copies_ ? copies_->Find(action.target) : nullptr) {
      inv.target = *copy;  // a rehearsal works on the copy
    }
    inv.params = InScratch(*adapter, action.kind, std::move(resolved->params));
    if (action.kind == "baseline") {
      const adapters::ActionSpec* spec = adapter->vocabulary().Find(action.kind);
      if (spec != nullptr && spec->Takes(adapters::common::kBaselineChecksumParam)) {
        inv.params[adapters::common::kBaselineChecksumParam] =
            BaselineChecksums(plan, plan.IndexOf(step.id));
      }
    }
    inv.run_id = session_.run_id();
    inv.step_id = as_check ? step.id + ".check" : step.id;  // a check keeps its own log
    inv.attempt = attempt;
    inv.base_dir = PlanDir(session_.state());
    inv.log_dir = session_.journal().LogDir(session_.run_id());
    inv.log = &log;
    inv.timeout = action.timeout.value_or(step.timeout.value_or(std::chrono::milliseconds(0)));
    inv.now_micros = session_.env()->NowMicros();
    inv.cancel = options_.cancel;
    inv.env = session_.env();
    if (!as_check) {
      // Progress a later attempt builds on (an upload's acknowledged parts): journaled before
      // the adapter goes on, handed back to the step's next attempt. A check only reads.
      inv.checkpoints = UnmarkInvalidUtf8Json(session_.state().FindStep(step.id)->checkpoints);
      inv.checkpoint = [this, id = step.id, attempt](const nlohmann::json& checkpoint) {
        return session_.Append(
            {sm::StepCheckpoint{id, attempt, redactor_.ScrubJson(checkpoint)}});
      };
    }
    if (options_.progress != nullptr) {
      inv.progress = [this, id = step.id](std::string_view text) {
        options_.progress->Activity(fmt::format("{}: {}", id, redactor_.Scrub(text)));
      };
    }
    adapters::Outcome outcome = action.kind == capture::kCaptureAction
                                    ? RunCapture(*adapter, std::move(inv))
                                    : adapter->Run(inv);
    // Nothing expanded from the environment leaves this function.
    outcome.outputs = redactor_.ScrubJson(outcome.outputs);
    outcome.status = Status(outcome.status.code(), redactor_.Scrub(outcome.status.message()));
    return outcome;
  }

  // `params` of `action` with the files it writes sent to the rehearsal's scratch directory
  // (checked against the journal as the plan wrote them; the scratch directory is the run's
  // own); as they are when this is no rehearsal.
  nlohmann::json InScratch(const adapters::Adapter& adapter, const std::string& action,
                           nlohmann::json params) const {
    if (copies_ == nullptr) return params;
    const adapters::ActionSpec* spec = adapter.vocabulary().Find(action);
    return spec == nullptr ? params : copies_->WithFilesInScratch(*spec, std::move(params));
  }

  // A capture step: its target's baseline, then its backup (when the step has `backup:`),
  // each as the adapter's own action; the outputs of both under the capture's name.
  adapters::Outcome RunCapture(adapters::Adapter& adapter, adapters::Invocation inv) {
    const std::string name = inv.params.value(capture::kOutputName, std::string());
    nlohmann::json baseline = nlohmann::json::object();
    std::optional<nlohmann::json> backup;
    for (capture::CapturePart& part : capture::PartsOf(inv.params)) {
      adapters::Invocation part_inv = inv;
      part_inv.action = part.action;
      part_inv.params = InScratch(adapter, part.action, std::move(part.params));
      adapters::Outcome outcome = adapter.Run(part_inv);
      if (!outcome.status.ok()) {
        return {outcome.status.WithContext(fmt::format("capture {}: {}", name, part.action)),
                outcome.outputs};
      }
      (part.action == capture::kOutputBaseline ? baseline : backup.emplace()) =
          std::move(outcome.outputs);
    }
    return {Status::Ok(), capture::StepOutputs(name, std::move(baseline), std::move(backup))};
  }

  // What a notification may say about the run (see docs/adapters/notify.md).
  nlohmann::json RunFacts(const plan::Step& step) const {
    const sm::RunState& state = session_.state();
    const std::int64_t now = session_.env()->NowMicros();
    nlohmann::json failed = nlohmann::json::array();
    int done = 0;
    for (const sm::StepState& st : state.steps) {
      if (st.status == StepStatus::kFailed) failed.push_back(st.id);
      if (st.status == StepStatus::kSucceeded) ++done;
    }
    // From the folded state, by the state machine's own rules: never guessed here.
    const sm::RunFinished::Ending ending = sm::EndingSoFar(state, session_.plan());
    std::string ending_words(sm::ToString(ending));
    if (ending == sm::RunFinished::Ending::kSucceeded && !state.Finished()) {
      ending_words += " so far";
    }
    return {{"run_id", session_.run_id()},
            {"plan", state.start.plan_name},
            {"incident", state.start.incident},
            {"step", step.id},
            {"step_title", step.title},
            {"status", sm::DescribeStatus(state)},
            {"operator", session_.identity().operator_name},
            {"elapsed",
             FormatDuration(std::chrono::milliseconds(ElapsedMs(state.started_us, now)))},
            {"steps_done", done},
            {"steps_total", state.steps.size()},
            {"failed_steps", failed},
            {"ending", ending_words},
            {"abort_reasons", state.abort_reasons},
            {"rehearsal", state.start.rehearsal}};
  }

  RunSession& session_;
  const DriveOptions& options_;
  const RehearsalCopies* copies_;
  adapters::RunLog run_log_;  // shared by every attempt of this session
  Redactor redactor_;
};

class Driver {
 public:
  Driver(RunSession& session, const DriveOptions& options, const RehearsalCopies* copies)
      : session_(session),
        options_(options),
        steps_(session, options, copies),
        locks_{.registry = options.registry,
               .env = session.env(),
               .run_id = session.run_id(),
               .base_dir = PlanDir(session.state()),
               .cancel = options.cancel,
               .copies = copies} {}

  Result<RunStatus> Loop() {
    // Every target the plan uses is locked before the first decision, so a second runner
    // is stopped before any step of this run goes on, not at the first step on the
    // contended target.
    if (Handled locked = PauseIfNotLocked(LockPlanTargets(session_.plan(), locks_), "");
        !locked.ok() || locked->has_value()) {
      return locked.ok() ? Result<RunStatus>(**locked) : Result<RunStatus>(locked.status());
    }
    while (true) {
      if (Cancelled()) {
        Result<std::optional<RunStatus>> paused = PauseForSignal("");
        if (!paused.ok()) return paused.status();
        return **paused;
      }
      const sm::Command command = sm::Decide(session_.state(), session_.plan());
      Result<std::optional<RunStatus>> done = std::visit(
          [this](const auto& c) { return Handle(c); }, command);
      if (!done.ok()) return done.status();
      if (done->has_value()) return **done;
    }
  }

 private:
  // What handling a command led to: a value ends the loop.
  using Handled = Result<std::optional<RunStatus>>;
  static constexpr std::optional<RunStatus> kContinue = std::nullopt;
  static Handled Stop(RunStatus status) { return std::optional<RunStatus>(status); }

  bool Cancelled() const { return options_.cancel != nullptr && options_.cancel->load(); }

  const plan::Step& PlanStep(const std::string& id) const {
    return *session_.plan().FindStep(id);
  }
  int Position(const std::string& id) const { return session_.plan().IndexOf(id) + 1; }
  int Total() const { return static_cast<int>(session_.plan().steps.size()); }

  void Say(const std::string& text) {
    if (options_.progress != nullptr) options_.progress->Note(text);
  }

  void SayLogRepair() {
    if (std::string notice = steps_.TakeLogRepairNotice(); !notice.empty()) {
      Say("warning: " + notice);
    }
  }

  Handled PauseForSignal(const std::string& step) {
    BACKOUT_RETURN_IF_ERROR(
        session_.Append({sm::RunPaused{sm::RunPaused::Reason::kSignal, step}}));
    Say(fmt::format("run {} paused by signal; continue with: backout resume {}",
                    session_.run_id(), session_.run_id()));
    return Stop(RunStatus::kPaused);
  }

  // What a failed Lock means for the run: a value (the run paused) when the lock could not
  // be had or the wait for it was interrupted; kContinue when it is held.
  Handled PauseIfNotLocked(const Status& locked, const std::string& step) {
    if (locked.code() == Code::kCancelled) return PauseForSignal(step);
    if (locked.code() != Code::kLocked) return kContinue;
    BACKOUT_RETURN_IF_ERROR(
        session_.Append({sm::RunPaused{sm::RunPaused::Reason::kLocked, step}}));
    Say(fmt::format("run {} paused{}: {}\n  when that runner has finished: backout resume {}",
                    session_.run_id(), step.empty() ? "" : " before step " + step,
                    locked.message(), session_.run_id()));
    return Stop(RunStatus::kPaused);
  }

  // The targets of `step`'s action (when `action`) and of its check (when `check`), locked again
  // before anything of the step is journaled: a PostgreSQL connection that broke since the
  // last step takes its lock here, not inside the step.
  Handled LockStepTargets(const plan::Step& step, bool action, bool check) {
    if (action) {
      Handled locked = PauseIfNotLocked(LockTarget(session_.plan(), step.action.target, locks_),
                                     step.id);
      if (!locked.ok() || locked->has_value()) return locked;
    }
    if (check && step.check) {
      return PauseIfNotLocked(LockTarget(session_.plan(), step.check->target, locks_), step.id);
    }
    return kContinue;
  }

  Handled Handle(const sm::StartStep& c) {
    const plan::Step& step = PlanStep(c.step);
    if (c.delay.count() > 0) {
      Say(fmt::format("retrying {} in {}", c.step, FormatDuration(c.delay)));
      if (!session_.env()->SleepFor(c.delay, options_.cancel)) return PauseForSignal("");
    }
    if (Handled locked = LockStepTargets(step, true, false); !locked.ok() || locked->has_value()) {
      return locked;
    }
    BACKOUT_RETURN_IF_ERROR(session_.Append({sm::StepStarted{c.step, c.attempt}}));
    if (options_.progress != nullptr) {
      options_.progress->StepStarted(Position(c.step), Total(), c.step, step.title, c.attempt);
    }
    const auto began = std::chrono::steady_clock::now();
    Result<Ran> ran = steps_.Run(step, c.attempt, /*as_check=*/false);
    SayLogRepair();
    if (!ran.ok()) {
      // The effect may or may not have happened: no outcome is journaled, so the step stays
      // in doubt and resume settles it (idempotent, check, or resolve).
      return ran.status().WithContext(fmt::format(
          "run {}: step {} is left in doubt", session_.run_id(), c.step));
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - began);
    const std::string message = ran->outcome.status.message();
    std::optional<sm::LogDigest> log = std::move(ran->log);
    sm::EventBody event = sm::EventOfAnswer(c, AnswerOf(std::move(ran->outcome)));
    if (const auto* paused = std::get_if<sm::RunPaused>(&event)) {
      // The effect may be half done: no outcome is journaled, so resume treats it as in doubt.
      SayStepEnded(c.step, "interrupted", elapsed, message);
      return PauseForSignal(paused->step);
    }
    AttachLog(event, std::move(log));
    const bool succeeded = std::holds_alternative<sm::StepSucceeded>(event);
    BACKOUT_RETURN_IF_ERROR(session_.Append({std::move(event)}));
    SayStepEnded(c.step, succeeded ? "succeeded" : "failed", elapsed, succeeded ? "" : message);
    return kContinue;
  }

  Handled Handle(const sm::RunCheck& c) {
    const plan::Step& step = PlanStep(c.step);
    if (Handled locked = LockStepTargets(step, false, true); !locked.ok() || locked->has_value()) {
      return locked;
    }
    const sm::StepState* st = session_.state().FindStep(c.step);
    Result<Ran> ran = steps_.Run(step, st->attempts, /*as_check=*/true);
    SayLogRepair();
    // A check that threw found nothing out: its finding is unknown.
    sm::EventBody event = sm::EventOfAnswer(
        c, ran.ok() ? AnswerOf(std::move(ran->outcome)) : sm::AdapterAnswer{ran.status()});
    // An interrupted check found nothing out: journal no finding, so resume checks again.
    if (const auto* paused = std::get_if<sm::RunPaused>(&event)) {
      return PauseForSignal(paused->step);
    }
    sm::StepChecked& checked = std::get<sm::StepChecked>(event);
    Say(fmt::format("step {} was in doubt; its check says: {} ({})", c.step,
                    sm::ToString(checked.finding), checked.detail));
    BACKOUT_RETURN_IF_ERROR(session_.Append({std::move(event)}));
    return kContinue;
  }

  Handled Handle(const sm::AwaitApproval& c) {
    const plan::Step& step = PlanStep(c.step);
    const std::string phrase = step.action.params.value.value("phrase", "");
    const std::string prompt = step.action.params.value.value("prompt", "");
    if (auto it = options_.approvals.find(c.step); it != options_.approvals.end()) {
      // sm::CheckApprovals already refused a wrong phrase before the run went anywhere.
      BACKOUT_RETURN_IF_ERROR(session_.Append({sm::ApprovalGranted{
          c.step, phrase, sm::ApprovalGranted::Via::kApproveFlag}}));
      Say(fmt::format("step {} approved by {} (--approve)", c.step,
                      session_.identity().operator_name));
      return kContinue;
    }
    std::vector<sm::EventBody> request;
    if (session_.state().FindStep(c.step)->status != StepStatus::kAwaitingApproval) {
      request.push_back(sm::ApprovalRequested{c.step, prompt});
    }
    if (options_.ask) {
      if (!request.empty()) BACKOUT_RETURN_IF_ERROR(session_.Append(std::move(request)));
      for (int tries = 0; tries < 3; ++tries) {
        std::optional<std::string> answer =
            options_.ask(fmt::format("{}\nType {} to approve: ", prompt, phrase));
        if (!answer || Cancelled()) break;
        if (*answer == phrase) {
          BACKOUT_RETURN_IF_ERROR(session_.Append({sm::ApprovalGranted{
              c.step, phrase, sm::ApprovalGranted::Via::kPrompt}}));
          return kContinue;
        }
        Say("that is not the phrase");
      }
      request.clear();
    }
    request.push_back(sm::RunPaused{sm::RunPaused::Reason::kApproval, c.step});
    BACKOUT_RETURN_IF_ERROR(session_.Append(std::move(request)));
    Say(fmt::format("run {} paused: step {} needs approval ({}).\n"
                    "  approve with: backout approve {} {} --phrase {}\n"
                    "  then:         backout resume {}",
                    session_.run_id(), c.step, prompt, session_.run_id(), c.step, phrase,
                    session_.run_id()));
    return Stop(RunStatus::kPaused);
  }

  Handled Handle(const sm::AwaitResolve& c) {
    BACKOUT_RETURN_IF_ERROR(
        session_.Append({sm::RunPaused{sm::RunPaused::Reason::kInDoubt, c.step}}));
    Say(fmt::format(
        "run {} paused: step {} was started but its outcome was never journaled, and it is "
        "neither idempotent nor has a check.\n"
        "  Find out whether it took effect, then: backout resolve {} {} --applied | "
        "--not-applied\n  and: backout resume {}",
        session_.run_id(), c.step, session_.run_id(), c.step, session_.run_id()));
    return Stop(RunStatus::kPaused);
  }

  Handled Handle(const sm::SkipStep& c) {
    BACKOUT_RETURN_IF_ERROR(session_.Append({sm::StepSkipped{c.step, c.reason}}));
    Say(fmt::format("step {}/{} {}: skipped ({})", Position(c.step), Total(), c.step, c.reason));
    return kContinue;
  }

  Handled Handle(const sm::PauseRun& c) {
    BACKOUT_RETURN_IF_ERROR(session_.Append({sm::RunPaused{c.reason, c.step}}));
    Say(fmt::format("run {} paused after step {} failed (on_failure: pause).\n"
                    "  fix the cause, then: backout resume {}   (or: backout abort {} --reason ...)",
                    session_.run_id(), c.step, session_.run_id(), session_.run_id()));
    return Stop(RunStatus::kPaused);
  }

  Handled Handle(const sm::FinishRun& c) {
    BACKOUT_RETURN_IF_ERROR(session_.Append({sm::RunFinished{c.ending}}));
    Say(fmt::format("run {} {}", session_.run_id(), sm::ToString(c.ending)));
    return Stop(session_.state().status);
  }

  Handled Handle(const sm::Idle& c) {
    const RunStatus status = session_.state().status;
    if (status == RunStatus::kRunning) {
      return Status::FailedPrecondition(fmt::format("internal error: nothing to do ({})", c.why));
    }
    return Stop(status);
  }

  void SayStepEnded(const std::string& id, std::string_view result,
                    std::chrono::milliseconds elapsed, std::string_view detail) {
    if (options_.progress != nullptr) {
      options_.progress->StepEnded(Position(id), Total(), id, result, elapsed, detail);
    }
  }

  RunSession& session_;
  const DriveOptions& options_;
  StepRunner steps_;
  LockContext locks_;
};

}  // namespace

Result<RunStatus> Drive(RunSession& session, const DriveOptions& options) {
  if (!session.state().start.rehearsal) return Driver(session, options, nullptr).Loop();
  auto say = [&](std::string_view text) {
    if (options.progress != nullptr) options.progress->Note(text);
  };
  Result<std::filesystem::path> scratch = session.journal().ScratchDir(session.run_id());
  if (!scratch.ok()) return scratch.status();
  Result<RehearsalCopies> copies = RehearsalCopies::Prepare(
      session.plan(),
      RehearsalContext{
          .registry = options.registry,
          .env = session.env(),
          .run_id = session.run_id(),
          .scratch_dir = *scratch,
          .base_dir = PlanDir(session.state()),
          .cancel = options.cancel,
          .progress = say});
  if (!copies.ok()) return copies.status();
  Result<RunStatus> status = Driver(session, options, &*copies).Loop();
  if (status.ok() && session.state().Finished()) {
    const Status dropped = copies->DropAll();
    say(dropped.ok() ? "rehearsal copies dropped"
                     : fmt::format("warning: {} (remove it by hand)", dropped.message()));
  }
  return status;
}

}  // namespace backout::engine
