#include "report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <iterator>
#include <map>
#include <optional>
#include <variant>

#include "base/sha256.h"
#include "base/time.h"
#include "base/utf8.h"
#include "report/text.h"

namespace backout::report {
namespace {

// Durations below are ElapsedMs: event times are the host's wall clock, which can step back
// (NTP, a VM restored); a duration across such a step counts as 0, and the report says the
// clock stepped back.

// Typed reads of adapter outputs, which are free-form JSON: a missing or mistyped field reads
// as empty rather than throwing.
std::string StringField(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
std::int64_t IntField(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}
bool BoolField(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
nlohmann::json AnyField(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() ? *it : nlohmann::json();
}

// The step an event is about ("" for run-level events without one).
std::string_view StepOf(const sm::EventBody& body) {
  return std::visit(
      [](const auto& b) -> std::string_view {
        if constexpr (requires { b.step; }) {
          return b.step;
        } else {
          return "";
        }
      },
      body);
}

// Whether a runner (run, resume, abort driving the plan) journaled this event, rather than an
// operator's command beside a stopped run: notes, triage, `approve`, `resolve`, and the abort
// request. Only the runner's events show it was alive, so only they bound a crash gap.
bool WrittenByTheRunner(const sm::EventBody& body) {
  if (const auto* granted = std::get_if<sm::ApprovalGranted>(&body))
    return granted->via != sm::ApprovalGranted::Via::kApproveCommand;
  return !std::holds_alternative<sm::NoteAdded>(body) &&
         !std::holds_alternative<sm::TriageRecorded>(body) &&
         !std::holds_alternative<sm::StepResolved>(body) &&
         !std::holds_alternative<sm::AbortRequested>(body);
}


StepReport StepFromState(const sm::StepState& st, const plan::Plan& plan) {
  StepReport r;
  r.id = st.id;
  r.title = st.id;
  if (const plan::Step* step = plan.FindStep(st.id)) {
    r.title = step->title;
    r.kind = step->action.kind;
    r.downtime = step->downtime;
    r.always = step->always;
    if (step->planned) r.planned_ms = step->planned->count();
  }
  r.status = std::string(sm::ToString(st.status));
  r.attempts = st.attempts;
  r.started_us = st.first_started_us;
  r.finished_us = st.finished_us;
  r.recovered = st.recovered;
  r.skip_reason = st.skip_reason;
  r.error = st.error;
  return r;
}

}  // namespace

// One pass over the events, in order: the timeline entries and every list that follows the
// journal. Handlers see the current event as `e_`; each fills `entry_` (text, key).
class ReportBuilder::Pass {
 public:
  Pass(RunReport* report, std::int64_t started_us) : report_(report), started_us_(started_us) {
    for (std::size_t i = 0; i < report_->steps.size(); ++i) step_index_[report_->steps[i].id] = i;
  }

  // `record` is the journal record `e` was decoded from. Returns the event's timeline entry,
  // valid until the next call.
  const TimelineEntry& Add(const sm::Event& e, const journal::Record& record) {
    e_ = &e;
    // Every field set anew, in place: the strings keep their capacity from the entry before,
    // so that a long run's entries allocate next to nothing.
    entry_.seq = e.seq;
    entry_.time_us = e.time_us;
    entry_.since_start_ms = ElapsedMs(started_us_, e.time_us);
    entry_.type.assign(sm::TypeName(e.body));
    entry_.operator_name.assign(e.operator_name);
    entry_.host.assign(e.host);
    entry_.step.assign(StepOf(e.body));
    entry_.text.clear();
    entry_.key = false;
    entry_.identity_mismatch = false;
    if (record.os_uid == OsUser::kUnknownUid) {
      entry_.os_user.reset();
    } else {
      OsUser& os_user = entry_.os_user ? *entry_.os_user : entry_.os_user.emplace();
      os_user.uid = record.os_uid;
      os_user.name.assign(record.os_user);
      entry_.identity_mismatch = IdentityMismatch(e.operator_name, os_user);
      NoteAppender(e.operator_name, os_user);
    }
    // A RunResumed's batch (the steps it found in doubt) ends at the first other event.
    if (!std::holds_alternative<sm::StepInDoubt>(e.body)) FinishResumed();
    std::visit([this](const auto& body) { On(body); }, e.body);
    if (WrittenByTheRunner(e.body)) last_runner_event_us_ = e.time_us;
    NoteOperator(e.operator_name);
    return entry_;
  }

  // The interruption still open, or still collecting its steps in doubt, once no event
  // follows: finished as it stands.
  void EndOfEvents() {
    FinishResumed();
    if (paused_) FinishInterruption(paused_);
  }

  std::int64_t stood_still_ms() const { return stood_still_ms_; }

  // When each approval step was asked for (0: never asked, granted up front).
  std::int64_t ApprovalRequestedAt(const std::string& step) const {
    const auto it = approval_requested_us_.find(step);
    return it == approval_requested_us_.end() ? 0 : it->second;
  }

 private:
  void Say(std::string_view text, bool key) {
    entry_.text.assign(text);
    entry_.key = key;
  }

  StepReport* Step(const std::string& id) {
    const auto it = step_index_.find(id);
    return it == step_index_.end() ? nullptr : &report_->steps[it->second];
  }

  // The step's in-doubt episode still waiting to be settled, if any.
  InDoubt* OpenInDoubt(const std::string& id) {
    StepReport* step = Step(id);
    if (step == nullptr || step->in_doubt.empty()) return nullptr;
    InDoubt& last = step->in_doubt.back();
    return last.settled == InDoubt::Settled::kUnsettled ? &last : nullptr;
  }

  // An interruption is listed once nothing more can change it.
  void FinishInterruption(std::optional<Interruption>& i) {
    stood_still_ms_ += i->gap_ms.value_or(0);
    report_->interruptions.push_back(std::move(*i));
    i.reset();
  }
  void FinishResumed() {
    if (resumed_) FinishInterruption(resumed_);
  }

  void Settle(const std::string& id, InDoubt::Settled how, std::optional<bool> effect_in_place) {
    if (InDoubt* open = OpenInDoubt(id)) {
      open->settled = how;
      open->effect_in_place = effect_in_place;
      open->by = e_->operator_name;
      open->at_us = e_->time_us;
    }
  }

  void NoteAppender(const std::string& operator_name, const OsUser& os_user) {
    std::vector<Appender>& appenders = report_->summary.appenders;
    auto it = std::find_if(appenders.begin(), appenders.end(), [&](const Appender& a) {
      return a.operator_name == operator_name && a.os_user == os_user;
    });
    if (it == appenders.end()) {
      it = appenders.insert(appenders.end(),
                            Appender{.operator_name = operator_name,
                                     .os_user = os_user,
                                     .mismatch = IdentityMismatch(operator_name, os_user)});
    }
    ++it->events;
  }

  void NoteOperator(const std::string& name) {
    std::vector<std::string>& ops = report_->summary.operators;
    if (std::find(ops.begin(), ops.end(), name) == ops.end()) ops.push_back(name);
  }

  // " (downtime starts)" on the first start of the step that opens the window.
  std::string DowntimeStarts(const sm::StepStarted& b) const {
    const bool opens = b.step == report_->summary.downtime.start_step && b.attempt == 1;
    return opens ? " (downtime starts)" : "";
  }
  std::string DowntimeEnds(const sm::StepSucceeded& b) const {
    return b.step == report_->summary.downtime.end_step ? " (downtime ends)" : "";
  }

  void On(const sm::RunStarted& b) {
    Say(fmt::format("run started: plan {}, {} steps{}", b.plan_name, b.step_ids.size(),
                    b.rehearsal ? ", rehearsal" : ""),
        true);
    NotePreflight(b.preflight);
    for (const nlohmann::json& journaled : b.captures) {
      // Checked when the run was created; one that no longer decodes is shown as far as known.
      const Result<capture::Capture> c = capture::CaptureFromJson(journaled);
      if (!c.ok()) {
        report_->captures.push_back({.name = journaled.value("name", std::string("?"))});
        continue;
      }
      CaptureUsed used{.name = c->name,
                       .run_id = c->run_id,
                       .plan_name = c->plan_name,
                       .taken_us = c->taken_us,
                       .by = c->operator_name,
                       .host = c->host,
                       .targets = {},
                       .backups = capture::BackupsOf(*c)};
      for (const auto& [target, taken] : c->targets) used.targets.push_back(target);
      report_->captures.push_back(std::move(used));
    }
  }

  void NotePreflight(const sm::PreflightRecord& p) {
    if (p.mode == sm::PreflightRecord::Mode::kNotRun) return;
    report_->preflight.push_back(Preflight{.event = std::string(sm::TypeName(e_->body)),
                                           .by = e_->operator_name,
                                           .at_us = e_->time_us,
                                           .skipped = p.mode == sm::PreflightRecord::Mode::kSkipped,
                                           .checks = p.checks});
  }

  void On(const sm::StepStarted& b) {
    if (OpenInDoubt(b.step) != nullptr) Settle(b.step, InDoubt::Settled::kRerun, std::nullopt);
    const std::string mark = DowntimeStarts(b);
    Say(fmt::format("started, attempt {}{}", b.attempt, mark), !mark.empty());
  }

  void On(const sm::StepSucceeded& b) {
    const std::string mark = DowntimeEnds(b);
    Say(b.attempt > 1 ? fmt::format("succeeded on attempt {}{}", b.attempt, mark)
                      : "succeeded" + mark,
        !mark.empty());
  }

  void On(const sm::StepFailed& b) {
    report_->errors.push_back(StepError{b.step, b.attempt, e_->time_us, b.error});
    Say(fmt::format("failed, attempt {}: {}", b.attempt, OneLine(b.error, 160)), true);
  }

  void On(const sm::StepSkipped& b) { Say("skipped: " + b.reason, false); }

  // What the attempt reported it had done so far (an upload's id, an acknowledged part).
  void On(const sm::StepCheckpoint& b) {
    Say(fmt::format("checkpoint, attempt {}: {}", b.attempt, OneLine(DumpJson(b.checkpoint), 160)),
        false);
  }

  void On(const sm::StepInDoubt& b) {
    if (StepReport* step = Step(b.step)) {
      step->in_doubt.push_back(InDoubt{.attempt = b.attempt, .since_us = e_->time_us});
    }
    if (resumed_) resumed_->in_doubt_steps.push_back(b.step);
    Say(fmt::format("in doubt: attempt {} started and has no outcome", b.attempt), true);
  }

  void On(const sm::StepChecked& b) {
    if (InDoubt* open = OpenInDoubt(b.step)) open->detail = b.detail;
    switch (b.finding) {
      case sm::StepChecked::Finding::kPresent:
        Settle(b.step, InDoubt::Settled::kCheck, true);
        Say("check found the effect in place: recovered without running it again", true);
        break;
      case sm::StepChecked::Finding::kAbsent:
        Settle(b.step, InDoubt::Settled::kCheck, false);
        Say("check found the effect absent: it runs again", true);
        break;
      case sm::StepChecked::Finding::kUnknown:
        Say("check could not tell: " + OneLine(b.detail, 160), true);
        break;
    }
  }

  void On(const sm::StepResolved& b) {
    const std::string answer = b.applied ? "applied" : "not applied";
    Settle(b.step, InDoubt::Settled::kResolve, b.applied);
    report_->decisions.push_back(Decision{.kind = Decision::Kind::kResolve,
                                          .step = b.step,
                                          .by = e_->operator_name,
                                          .at_us = e_->time_us,
                                          .answer = answer,
                                          .via = "resolve"});
    Say(fmt::format("resolved by {}: {}", e_->operator_name, answer), true);
  }

  void On(const sm::ApprovalRequested& b) {
    approval_requested_us_.try_emplace(b.step, e_->time_us);
    Say("approval requested: " + OneLine(b.prompt, 160), false);
  }

  void On(const sm::ApprovalGranted& b) {
    const std::int64_t requested = ApprovalRequestedAt(b.step);
    Decision d{.kind = Decision::Kind::kApproval,
               .step = b.step,
               .by = e_->operator_name,
               .at_us = e_->time_us,
               .answer = b.phrase,
               .via = std::string(sm::ToString(b.via)),
               .requested_us = requested};
    if (requested != 0) d.waited_ms = ElapsedMs(requested, e_->time_us);
    if (StepReport* step = Step(b.step); step != nullptr && !step->approval) {
      step->approval = StepApproval{.by = d.by, .via = d.via};
    }
    report_->decisions.push_back(std::move(d));
    Say(fmt::format("approved by {} (via {})", e_->operator_name, sm::ToString(b.via)), true);
  }

  void On(const sm::RunPaused& b) {
    if (paused_) FinishInterruption(paused_);  // paused again without a resume: never resumed
    paused_.emplace(Interruption{.kind = Interruption::Kind::kPause,
                                 .reason = std::string(sm::ToString(b.reason)),
                                 .step = b.step,
                                 .from_us = e_->time_us});
    Say(fmt::format("run paused: {}", sm::ToString(b.reason)), true);  // the entry names the step
  }

  void On(const sm::RunResumed& b) {
    NotePreflight(b.preflight);
    const std::string plan_note =
        b.plan_file_note == sm::RunResumed::PlanFileNote::kUnchanged
            ? ""
            : fmt::format(" (the plan file is {})", sm::ToString(b.plan_file_note));
    if (paused_) {
      paused_->until_us = e_->time_us;
      paused_->gap_ms = ElapsedMs(paused_->from_us, e_->time_us);
      paused_->resumed_by = e_->operator_name;
      resumed_ = std::move(paused_);
      paused_.reset();
      Say(fmt::format("run resumed by {} after a pause of {}{}", e_->operator_name,
                      HumanDuration(resumed_->gap_ms), plan_note),
          true);
      return;
    }
    // The run was still running: the previous runner died without journaling a pause.
    const std::int64_t gap_ms = ElapsedMs(last_runner_event_us_, e_->time_us);
    resumed_.emplace(Interruption{.kind = Interruption::Kind::kCrash,
                                  .from_us = last_runner_event_us_,
                                  .until_us = e_->time_us,
                                  .gap_ms = gap_ms,
                                  .resumed_by = e_->operator_name});
    Say(fmt::format("run resumed by {} after the runner stopped without pausing (crash); "
                    "nothing journaled for {}{}",
                    e_->operator_name, HumanDuration(gap_ms), plan_note),
        true);
  }

  void On(const sm::AbortRequested& b) { Say("abort requested: " + OneLine(b.reason, 160), true); }

  void On(const sm::RunFinished& b) {
    Say(fmt::format("run finished: {}", sm::ToString(b.outcome)), true);
  }

  void On(const sm::NoteAdded& b) {
    report_->notes.push_back(Note{e_->operator_name, e_->time_us, b.text});
    entry_.text.assign("note: ");
    AppendOneLine(b.text, 160, &entry_.text);
    entry_.key = true;
  }

  void On(const sm::TriageRecorded& b) {
    report_->triage.push_back(
        Triage{e_->operator_name, e_->time_us, b.issue, b.severity, b.action, b.note});
    Say(fmt::format("triage: {} at severity {}: {}", b.issue, b.severity, b.action), true);
  }

  RunReport* report_;
  std::int64_t started_us_;
  std::map<std::string, std::size_t, std::less<>> step_index_;
  std::map<std::string, std::int64_t, std::less<>> approval_requested_us_;
  const sm::Event* e_ = nullptr;
  TimelineEntry entry_;
  std::optional<Interruption> paused_;   // the pause that still stands
  std::optional<Interruption> resumed_;  // the interruption a RunResumed just ended: the
                                         // StepInDoubt events of its batch belong to it
  std::int64_t last_runner_event_us_ = 0;  // where a crash gap starts
  std::int64_t stood_still_ms_ = 0;        // of the interruptions finished
};

namespace {

// Approval steps have no StepStarted: a granted one ran from its request (or, granted up
// front, took no time) to its grant.
template <typename RequestedAt>
void TimeApprovalSteps(const RequestedAt& approval_requested_at, std::vector<StepReport>& steps) {
  for (StepReport& step : steps) {
    if (step.kind != "approval" || step.status != "succeeded") continue;
    const std::int64_t requested = approval_requested_at(step.id);
    step.started_us = requested != 0 ? requested : step.finished_us;
  }
}

void TimeSteps(std::vector<StepReport>& steps) {
  for (StepReport& step : steps) {
    if (step.started_us != 0 && step.finished_us != 0) {
      step.actual_ms = ElapsedMs(step.started_us, step.finished_us);
    }
  }
}

// The steps that open and close the outage window: the first marked `downtime: start`, and
// the last marked `downtime: end` after it (the outage lasts until everything is back). Not
// yet measured.
Downtime MarkedWindow(const std::vector<StepReport>& steps) {
  Downtime d;
  const auto start = std::find_if(steps.begin(), steps.end(), [](const StepReport& s) {
    return s.downtime == plan::Downtime::kStart;
  });
  if (start == steps.end()) return d;
  const auto after_start = std::make_reverse_iterator(start + 1);
  const auto end = std::find_if(steps.rbegin(), after_start, [](const StepReport& s) {
    return s.downtime == plan::Downtime::kEnd;
  });
  if (end == after_start) return d;
  d.state = Downtime::State::kNotStarted;
  d.start_step = start->id;
  d.end_step = end->id;
  return d;
}

void MeasureWindow(const std::vector<StepReport>& steps, std::int64_t last_event_us, Downtime& d) {
  if (d.state == Downtime::State::kNotMarked) return;
  auto step_named = [&](const std::string& id) -> const StepReport& {
    return *std::find_if(steps.begin(), steps.end(),
                         [&](const StepReport& s) { return s.id == id; });
  };
  const StepReport& start = step_named(d.start_step);
  const StepReport& end = step_named(d.end_step);
  d.start_us = start.started_us;
  if (d.start_us == 0) return;  // kNotStarted
  if (end.status == "succeeded") {
    d.state = Downtime::State::kClosed;
    d.end_us = end.finished_us;
    d.duration_ms = ElapsedMs(d.start_us, d.end_us);
  } else {
    d.state = Downtime::State::kOpen;
    d.duration_ms = ElapsedMs(d.start_us, last_event_us);
  }
}

std::vector<VerificationCheck> VerificationOf(const std::vector<StepReport>& steps,
                                              const sm::RunState& state) {
  std::vector<VerificationCheck> out;
  for (const StepReport& step : steps) {
    if (step.kind != "verify") continue;
    const nlohmann::json& outputs = state.FindStep(step.id)->outputs;
    const auto checks = outputs.find("checks");
    if (checks == outputs.end() || !checks->is_array()) continue;
    for (const nlohmann::json& c : *checks) {
      if (!c.is_object()) continue;
      out.push_back(VerificationCheck{step.id, StringField(c, "check"), AnyField(c, "expected"),
                                      AnyField(c, "observed"), BoolField(c, "pass"),
                                      StringField(c, "message")});
    }
  }
  return out;
}

std::vector<Backup> BackupsOf(const std::vector<StepReport>& steps, const sm::RunState& state) {
  std::vector<Backup> out;
  for (const StepReport& step : steps) {
    if (step.kind != "backup") continue;
    const nlohmann::json& outputs = state.FindStep(step.id)->outputs;
    // A local file's path, or the s3:// URL of an object that went to object storage.
    std::string where = StringField(outputs, "path");
    if (where.empty()) where = StringField(outputs, "url");
    if (where.empty()) continue;  // it never produced a backup
    out.push_back(Backup{step.id, std::move(where), IntField(outputs, "bytes"),
                         StringField(outputs, "sha256")});
  }
  return out;
}

// The tables a restore step's outputs name: postgres `tables` ({NAME: {rows}}), json_store
// `collections` ({NAME: {records}}), dynamodb `table` with its `items`.
std::vector<RestoredTable> RestoredTablesOf(const nlohmann::json& outputs) {
  std::vector<RestoredTable> out;
  auto add_each = [&](const char* key, const char* count) {
    const auto it = outputs.find(key);
    if (it == outputs.end() || !it->is_object()) return;
    for (const auto& [name, figures] : it->items()) {
      RestoredTable table{name, std::nullopt};
      if (figures.is_object() && figures.contains(count) && figures[count].is_number_integer()) {
        table.rows = figures[count].get<std::int64_t>();
      }
      out.push_back(std::move(table));
    }
  };
  add_each("tables", "rows");
  add_each("collections", "records");
  if (!StringField(outputs, "table").empty()) {
    RestoredTable table{StringField(outputs, "table"), std::nullopt};
    if (outputs.contains("items")) table.rows = IntField(outputs, "items");
    out.push_back(std::move(table));
  }
  return out;
}

std::vector<Restore> RestoresOf(const std::vector<StepReport>& steps, const sm::RunState& state,
                                const plan::Plan& plan) {
  std::vector<Restore> out;
  for (const StepReport& step : steps) {
    if (step.status != "succeeded") continue;
    const nlohmann::json& outputs = state.FindStep(step.id)->outputs;
    const bool restores = step.kind == "restore" || step.kind == "import" ||
                          (step.kind == "file" && StringField(outputs, "operation") == "restore");
    if (!restores) continue;
    const plan::Step* planned = plan.FindStep(step.id);
    // dynamodb's import names the file it read `path`; json_store's restore names the store
    // it wrote `path`, a file restore its destination `to`.
    const bool is_import = step.kind == "import";
    Restore r{.step = step.id,
              .target = planned == nullptr ? "" : planned->action.target,
              .kind = step.kind,
              .source = StringField(outputs, is_import ? "path" : "from"),
              .into = is_import ? "" : StringField(outputs, step.kind == "file" ? "to" : "path"),
              .bytes = IntField(outputs, "bytes"),
              .sha256 = StringField(outputs, "sha256"),
              .tables = RestoredTablesOf(outputs)};
    const bool all_counted =
        !r.tables.empty() && std::all_of(r.tables.begin(), r.tables.end(),
                                         [](const RestoredTable& t) { return t.rows.has_value(); });
    if (all_counted) {
      r.rows = 0;
      for (const RestoredTable& t : r.tables) *r.rows += *t.rows;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<RehearsalTarget> RehearsalTargetsOf(const plan::Plan& plan) {
  std::vector<RehearsalTarget> out;
  for (const auto& [name, target] : plan.targets) {
    RehearsalTarget t{.target = name, .type = target.type};
    switch (target.rehearsal) {
      case plan::Target::Rehearsal::kCopy: t.handling = "copied"; break;
      case plan::Target::Rehearsal::kLive: t.handling = "live"; break;
      case plan::Target::Rehearsal::kSkip: t.handling = "skipped"; break;
      case plan::Target::Rehearsal::kRedirect:
        t.handling = "redirected";
        for (const auto& [key, value] : target.rehearsal_overlay.items()) {
          t.redirected_keys.push_back(key);
        }
        break;
    }
    out.push_back(std::move(t));
  }
  return out;
}

Summary SummaryOf(const sm::RunState& state, const plan::Plan& plan) {
  Summary s;
  s.plan = state.start.plan_name;
  s.description = plan.description;
  s.incident = state.start.incident;
  s.plan_file = state.start.plan_file;
  s.plan_sha256 = state.start.plan_sha256;
  s.outcome = std::string(sm::ToString(state.status));
  s.outcome_detail = sm::DescribeStatus(state);
  s.abort_reasons = state.abort_reasons;
  if (!s.abort_reasons.empty()) s.abort_reason = s.abort_reasons.front();
  s.rehearsal = state.start.rehearsal;
  if (s.rehearsal) s.rehearsal_targets = RehearsalTargetsOf(plan);
  s.started_us = state.started_us;
  s.ended_us = state.last_event_us;
  s.total_ms = ElapsedMs(state.started_us, state.last_event_us);
  return s;
}

}  // namespace

ReportBuilder::ReportBuilder(std::string run_id, const sm::RunState& state,
                             const plan::Plan& plan, Lists keep)
    : keep_(keep) {
  report_.run_id = std::move(run_id);
  for (const sm::StepState& st : state.steps) report_.steps.push_back(StepFromState(st, plan));
  report_.summary.downtime = MarkedWindow(report_.steps);
  pass_ = std::make_unique<Pass>(&report_, state.started_us);
}

ReportBuilder::~ReportBuilder() = default;

void ReportBuilder::DropMade() {
  auto drop = [](auto& list, std::size_t& dropped) {
    dropped += list.size();
    list.clear();
  };
  drop(report_.decisions, dropped_.decisions);
  drop(report_.errors, dropped_.errors);
  drop(report_.notes, dropped_.notes);
  drop(report_.triage, dropped_.triage);
  drop(report_.interruptions, dropped_.interruptions);
  drop(report_.preflight, dropped_.preflight);
  drop(report_.logs, dropped_.logs);
}

EventListSizes ReportBuilder::sizes() const {
  return EventListSizes{.timeline = report_.integrity.events,
                        .key_moments = key_moments_,
                        .decisions = dropped_.decisions + report_.decisions.size(),
                        .errors = dropped_.errors + report_.errors.size(),
                        .notes = dropped_.notes + report_.notes.size(),
                        .triage = dropped_.triage + report_.triage.size(),
                        .interruptions = dropped_.interruptions + report_.interruptions.size(),
                        .preflight = dropped_.preflight + report_.preflight.size(),
                        .logs = dropped_.logs + report_.logs.size()};
}

std::size_t ReportBuilder::held_entries() const {
  return report_.timeline.size() + report_.decisions.size() + report_.errors.size() +
         report_.notes.size() + report_.triage.size() + report_.interruptions.size() +
         report_.preflight.size() + report_.logs.size();
}

void ReportBuilder::EndOfEvents() {
  if (keep_ != Lists::kHold) DropMade();
  pass_->EndOfEvents();
}

const TimelineEntry& ReportBuilder::Add(const journal::Record& record, const sm::Event& e) {
  if (keep_ != Lists::kHold) DropMade();
  // Where the clock first stepped back, and by how much at most.
  if (e.time_us < latest_us_) {
    const std::int64_t back_ms = (latest_us_ - e.time_us + 999) / 1000;
    if (!clock_stepped_back_) clock_stepped_back_ = Summary::ClockStep{.seq = e.seq, .ms = back_ms};
    clock_stepped_back_->ms = std::max(clock_stepped_back_->ms, back_ms);
  }
  latest_us_ = std::max(latest_us_, e.time_us);
  if (const std::optional<sm::StepLogOf> log = sm::LogOf(e.body)) {
    report_.logs.push_back(StepLog{.step = log->step,
                                   .attempt = log->attempt,
                                   .seq = e.seq,
                                   .file = log->digest.file,
                                   .bytes = log->digest.bytes,
                                   .sha256 = log->digest.sha256});
  }
  Integrity& integrity = report_.integrity;
  ++integrity.events;
  integrity.head_seq = record.seq;
  head_hash_ = record.hash;
  head_chain_mode_ = record.chain_mode;
  if (std::find(integrity.hosts.begin(), integrity.hosts.end(), record.host) ==
      integrity.hosts.end()) {
    integrity.hosts.push_back(record.host);
  }
  const TimelineEntry& entry = pass_->Add(e, record);
  if (entry.key) ++key_moments_;
  if (keep_ == Lists::kHold) report_.timeline.push_back(entry);
  return entry;
}

RunReport ReportBuilder::Finish(const sm::RunState& state, const plan::Plan& plan,
                                bool chain_verified) {
  EndOfEvents();
  if (keep_ != Lists::kHold) DropMade();
  // What the pass gathered stays; the rest is the final fold's.
  Summary summary = SummaryOf(state, plan);
  summary.operators = std::move(report_.summary.operators);
  summary.appenders = std::move(report_.summary.appenders);
  summary.downtime = report_.summary.downtime;
  summary.clock_stepped_back = clock_stepped_back_;
  summary.stood_still_ms = pass_->stood_still_ms();
  report_.summary = std::move(summary);
  for (std::size_t i = 0; i < report_.steps.size() && i < state.steps.size(); ++i) {
    StepReport from_state = StepFromState(state.steps[i], plan);
    from_state.in_doubt = std::move(report_.steps[i].in_doubt);
    from_state.approval = std::move(report_.steps[i].approval);
    report_.steps[i] = std::move(from_state);
  }
  TimeApprovalSteps([this](const std::string& id) { return pass_->ApprovalRequestedAt(id); },
                    report_.steps);
  TimeSteps(report_.steps);

  MeasureWindow(report_.steps, state.last_event_us, report_.summary.downtime);
  report_.verification = VerificationOf(report_.steps, state);
  report_.backups = BackupsOf(report_.steps, state);
  report_.restores = RestoresOf(report_.steps, state, plan);
  Integrity& integrity = report_.integrity;
  integrity.chain_verified = chain_verified;
  if (integrity.events != 0) {
    integrity.head_hash = ToHex(head_hash_);
    // One chain mode per run (the chain check refuses a mix), so the head's is every record's.
    integrity.chain_mode = std::string(journal::ChainModeName(head_chain_mode_));
  }
  return std::move(report_);
}

RunReport BuildReport(const std::string& run_id, const std::vector<journal::Record>& records,
                   const std::vector<sm::Event>& events, const sm::RunState& state,
                   const plan::Plan& plan, bool chain_verified) {
  ReportBuilder builder(run_id, state, plan, ReportBuilder::Lists::kHold);
  assert(records.size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) builder.Add(records[i], events[i]);
  return builder.Finish(state, plan, chain_verified);
}

bool IdentityMismatch(const std::string& operator_name, const OsUser& os_user) {
  return os_user.name.empty() || os_user.name != operator_name;
}

void AppendOsUserText(const OsUser& os_user, std::string* out) {
  char uid[16];
  const std::string_view uid_text(uid, std::to_chars(uid, std::end(uid), os_user.uid).ptr);
  if (os_user.name.empty()) {
    out->append("uid ").append(uid_text).append(" (no user name)");
  } else {
    out->append(os_user.name).append(" (uid ").append(uid_text).push_back(')');
  }
}

std::string OsUserText(const OsUser& os_user) {
  std::string text;
  AppendOsUserText(os_user, &text);
  return text;
}

std::string_view ToString(SignatureStatus::State s) {
  switch (s) {
    case SignatureStatus::State::kUnsigned:
      return "unsigned";
    case SignatureStatus::State::kUnchecked:
      return "unchecked";
    case SignatureStatus::State::kVerified:
      return "verified";
    case SignatureStatus::State::kFailed:
      return "failed";
  }
  return "?";
}

std::string_view ToString(Downtime::State s) {
  switch (s) {
    case Downtime::State::kNotMarked:
      return "not_marked";
    case Downtime::State::kNotStarted:
      return "not_started";
    case Downtime::State::kOpen:
      return "open";
    case Downtime::State::kClosed:
      return "closed";
  }
  return "?";
}

std::string_view ToString(InDoubt::Settled s) {
  switch (s) {
    case InDoubt::Settled::kUnsettled:
      return "unsettled";
    case InDoubt::Settled::kCheck:
      return "check";
    case InDoubt::Settled::kResolve:
      return "resolve";
    case InDoubt::Settled::kRerun:
      return "rerun";
  }
  return "?";
}

std::string_view ToString(Decision::Kind k) {
  return k == Decision::Kind::kApproval ? "approval" : "resolve";
}

std::string_view ToString(Interruption::Kind k) {
  return k == Interruption::Kind::kPause ? "pause" : "crash";
}

std::string_view ToString(plan::Downtime d) {
  switch (d) {
    case plan::Downtime::kNone:
      return "";
    case plan::Downtime::kStart:
      return "start";
    case plan::Downtime::kEnd:
      return "end";
  }
  return "?";
}

}  // namespace backout::report
