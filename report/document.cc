#include "report/document.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <type_traits>
#include <utility>

#include "report/text.h"

namespace backout::report {
namespace {

constexpr std::size_t kCellMax = 200;  // longer free text is cut in tables (JSON has it all)

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  return fmt::format("{}", fmt::join(parts, sep));
}

// "appdb (sqlite) copied, app (command) skipped, api (http) redirected (base_url)": what a
// rehearsal did with each target.
std::string RehearsalTargetsText(const std::vector<RehearsalTarget>& targets) {
  std::vector<std::string> parts;
  for (const RehearsalTarget& t : targets) {
    std::string part = fmt::format("{} ({}) {}", t.target, t.type, t.handling);
    if (!t.redirected_keys.empty()) part += " (" + Join(t.redirected_keys, ", ") + ")";
    parts.push_back(std::move(part));
  }
  return parts.empty() ? "no targets" : Join(parts, ", ");
}

// The real targets a rehearsal used as they are (`rehearsal: live`), or "none".
std::string LiveTargetsText(const std::vector<RehearsalTarget>& targets) {
  std::vector<std::string> live;
  for (const RehearsalTarget& t : targets) {
    if (t.handling == "live") live.push_back(t.target);
  }
  return live.empty() ? "none" : Join(live, ", ");
}

Cell Code(std::string text) { return Cell{std::move(text), Tone::kCode}; }

// A value from adapter outputs, as a person reads it.
std::string ValueText(const nlohmann::json& v) {
  if (v.is_null()) return "—";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    std::vector<std::string> parts;
    for (const auto& [key, value] : v.items()) parts.push_back(key + ": " + ValueText(value));
    return Join(parts, ", ");
  }
  if (v.is_array()) {
    std::vector<std::string> parts;
    for (const nlohmann::json& item : v) parts.push_back(ValueText(item));
    return Join(parts, ", ");
  }
  return v.dump();
}

std::string Bytes(std::int64_t n) {
  constexpr double kMiB = 1024.0 * 1024.0;
  if (n < 1024 * 1024) return fmt::format("{} bytes", n);
  return fmt::format("{:.1f} MiB ({} bytes)", static_cast<double>(n) / kMiB, n);
}

// "users (1200 rows), orders": each table with its count where the adapter counted it.
std::string TablesText(const std::vector<RestoredTable>& tables) {
  std::vector<std::string> parts;
  for (const RestoredTable& t : tables) {
    parts.push_back(t.rows ? fmt::format("{} ({} rows)", t.name, *t.rows) : t.name);
  }
  return Join(parts, ", ");
}

// "`backups/app.db` into appdb (2.0 MiB (2097152 bytes), sha256 `ab…`)".
std::string RestoreText(const Restore& r) {
  std::string text = fmt::format("`{}` into {}", r.source, r.target);
  if (!r.tables.empty()) text += ": " + TablesText(r.tables);
  if (r.rows) text += fmt::format("; {} rows in all", *r.rows);
  return text + fmt::format(" ({}, sha256 `{}`)", Bytes(r.bytes), r.sha256);
}

std::string ActionWords(const std::string& action) {
  if (action == "rollback_now") return "roll back now";
  if (action == "forward_fix") return "fix forward";
  return action;
}

// A run's outcome or a step's status: done, gone wrong, or anything else (in between).
Tone ResultTone(const std::string& status) {
  if (status == "succeeded") return Tone::kGood;
  if (status == "failed" || status == "aborted") return Tone::kBad;
  return Tone::kWarn;
}

bool Finished(const Summary& s) {
  return s.outcome == "succeeded" || s.outcome == "failed" || s.outcome == "aborted";
}

bool OverPlan(const StepReport& s) {
  return s.planned_ms && s.actual_ms && *s.actual_ms > *s.planned_ms;
}

std::string DowntimeText(const Downtime& d) {
  switch (d.state) {
    case Downtime::State::kNotMarked:
      return "not marked in the plan (mark steps `downtime: start` and `downtime: end`)";
    case Downtime::State::kNotStarted:
      return fmt::format("not started: `{}` never began", d.start_step);
    case Downtime::State::kOpen:
      return fmt::format("at least {} and still open: `{}` began {}; `{}` has not succeeded",
                         HumanDuration(d.duration_ms), d.start_step, HumanTime(d.start_us),
                         d.end_step);
    case Downtime::State::kClosed:
      return fmt::format("{}, from `{}` starting ({}) to `{}` succeeding ({})",
                         HumanDuration(d.duration_ms), d.start_step, HumanTime(d.start_us),
                         d.end_step, HumanTime(d.end_us));
  }
  return "";
}

std::string InDoubtText(const InDoubt& d) {
  const std::string found = fmt::format("in doubt after attempt {}", d.attempt);
  switch (d.settled) {
    case InDoubt::Settled::kUnsettled:
      return found + (d.detail.empty() ? ", still unsettled"
                                       : ", still unsettled (the check could not tell: " +
                                             OneLine(d.detail, kCellMax) + ")");
    case InDoubt::Settled::kCheck:
      return found + (d.effect_in_place.value_or(false)
                          ? ": the check found the effect in place, recovered without re-running"
                          : ": the check found the effect absent, ran again");
    case InDoubt::Settled::kResolve:
      return found +
             fmt::format(": {} resolved it as {}", d.by,
                         d.effect_in_place.value_or(false) ? "applied" : "not applied (ran again)");
    case InDoubt::Settled::kRerun:
      return found + ": idempotent, ran again";
  }
  return found;
}

std::string StepNotes(const StepReport& s) {
  std::vector<std::string> notes;
  if (s.downtime == plan::Downtime::kStart) notes.push_back("downtime starts");
  if (s.downtime == plan::Downtime::kEnd) notes.push_back("downtime ends");
  if (s.always) notes.push_back("always runs");
  if (const std::optional<StepApproval>& approval = s.approval) {
    notes.push_back(fmt::format("approved by {} via {}", approval->by, approval->via));
  }
  for (const InDoubt& d : s.in_doubt) notes.push_back(InDoubtText(d));
  if (!s.skip_reason.empty()) notes.push_back("skipped: " + s.skip_reason);
  if (!s.error.empty()) notes.push_back("error: " + OneLine(s.error, kCellMax));
  return Join(notes, "; ");
}

std::string InterruptionText(const Interruption& i) {
  std::string text =
      i.kind == Interruption::Kind::kPause
          ? fmt::format("paused: {}{}{}", i.reason, i.step.empty() ? "" : ", step ", i.step)
          : "the runner stopped without journaling a pause (killed, crashed or lost)";
  if (!i.in_doubt_steps.empty()) {
    text += fmt::format("; found in doubt on resume: {}", Join(i.in_doubt_steps, ", "));
  }
  return text;
}

std::string StandingStill(const Interruption& i) {
  // Only a pause can still stand: a crash gap ends at the RunResumed that reveals it.
  return i.gap_ms ? HumanDuration(i.gap_ms) : "still paused";
}

// "bob as root (uid 0), mismatch": an operator name and the OS user that appended as it.
std::string AppenderText(const Appender& a) {
  return fmt::format("{} as {}{}", a.operator_name, OsUserText(a.os_user),
                     a.mismatch ? ", mismatch" : "");
}

std::string AppendersText(const std::vector<Appender>& appenders) {
  std::vector<std::string> parts;
  for (const Appender& a : appenders) parts.push_back(AppenderText(a));
  return Join(parts, "; ");
}

bool AnyMismatch(const std::vector<Appender>& appenders) {
  return std::any_of(appenders.begin(), appenders.end(),
                     [](const Appender& a) { return a.mismatch; });
}

// Makes `line` "TIME (+SINCE) WHO: `STEP` TEXT", appended rather than formatted: one per key
// moment.
void FillTimelineLine(const TimelineEntry& e, std::string* line) {
  line->clear();
  AppendHumanTime(e.time_us, line);
  line->append(" (+");
  AppendHumanDuration(e.since_start_ms, line);
  line->append(") ").append(e.operator_name).append(": ");
  if (!e.step.empty()) line->append("`").append(e.step).append("` ");
  line->append(e.text);
}

// What `make` makes of each of `source`'s entries, as they stream: a fact or a row, or for a
// type not every entry makes one of, an optional. A `make(entry, &made)` fills one `made`
// kept across the entries of a scan (a row per event then reuses the last one's strings).
// `make` keeps no state: scans may run at once (EntrySource::concurrent_scans). An entry
// that makes one item is made only when wanted.
template <typename T, typename Made, typename Make>
EntrySource<Made> Streamed(const EntrySource<T>& source, Make make) {
  return EntrySource<Made>{
      .entries = source.entries,
      .scan =
          [&source, make](const std::function<Status(const Made&)>& visit,
                          const EntryWanted& wanted) {
            if constexpr (requires { make(std::declval<const T&>()).has_value(); }) {
              std::size_t next = 0;  // counts what is made, not the entries
              return source.scan(
                  [&](const T& entry) -> Status {
                    const auto maybe = make(entry);
                    return maybe && Wanted(wanted, &next) ? visit(*maybe) : Status::Ok();
                  },
                  {});
            } else {
              Made made;
              return source.scan(
                  [&](const T& entry) -> Status {
                    if constexpr (std::is_invocable_v<Make, const T&, Made*>) {
                      make(entry, &made);
                      return visit(made);
                    } else {
                      return visit(make(entry));
                    }
                  },
                  wanted);
            }
          },
      .concurrent_scans = source.concurrent_scans};
}

// Makes `row` `width` empty plain cells, each keeping its string's capacity.
void ResetRow(std::size_t width, std::vector<Cell>* row) {
  row->resize(width);
  for (Cell& cell : *row) {
    cell.text.clear();
    cell.tone = Tone::kPlain;
  }
}

// --- post-mortem ---------------------------------------------------------------------

std::string StepCounts(const std::vector<StepReport>& steps) {
  auto count = [&](std::string_view status) {
    return std::count_if(steps.begin(), steps.end(),
                         [&](const StepReport& s) { return s.status == status; });
  };
  std::string text = fmt::format("{} of {} steps succeeded", count("succeeded"), steps.size());
  for (std::string_view status :
       {"failed", "skipped", "pending", "running", "in_doubt", "awaiting_approval"}) {
    if (const auto n = count(status); n > 0) text += fmt::format(", {} {}", n, status);
  }
  return text + ".";
}

std::string ClockText(const Summary::ClockStep& c) {
  return fmt::format(
      "The host clock stepped back during the run (event #{} is {} earlier than an event "
      "before it); durations across the step are counted as 0, so times here may be short",
      c.seq, HumanDuration(c.ms));
}

PostMortemSection PostMortemSummary(const RunReport& r, const EventLists& lists) {
  const Summary& s = r.summary;
  const std::string incident = s.incident.empty() ? "" : " for " + s.incident;
  PostMortemSection out{.title = "Summary"};
  if (Finished(s)) {
    out.facts.push_back(fmt::format("Run {} of plan {}{} started {} and {} {} later.", r.run_id,
                                    s.plan, incident, HumanTime(s.started_us),
                                    s.outcome == "aborted" ? "was aborted" : s.outcome,
                                    HumanDuration(s.total_ms)));
  } else {
    out.facts.push_back(
        fmt::format("Run {} of plan {}{} started {}; at its last event ({}, {} later) it was {}.",
                    r.run_id, s.plan, incident, HumanTime(s.started_us), HumanTime(s.ended_us),
                    HumanDuration(s.total_ms), s.outcome_detail));
  }
  out.facts.push_back(StepCounts(r.steps));
  if (!s.abort_reason.empty()) out.facts.push_back("Abort requested: " + s.abort_reason + ".");
  if (s.abort_reasons.size() > 1) {
    const std::vector<std::string> later(s.abort_reasons.begin() + 1, s.abort_reasons.end());
    out.facts.push_back("Abort requested again: " + Join(later, "; ") + ".");
  }
  if (s.rehearsal) {
    out.facts.push_back(
        fmt::format("This was a rehearsal: {}.", RehearsalTargetsText(s.rehearsal_targets)));
  }
  if (s.clock_stepped_back) out.facts.push_back(ClockText(*s.clock_stepped_back) + ".");
  out.facts.push_back("Operators: " + Join(s.operators, ", ") + ".");
  if (!s.appenders.empty()) {
    out.facts.push_back("Run by (operator as OS user): " + AppendersText(s.appenders) + ".");
  }
  if (AnyMismatch(s.appenders)) {
    out.facts.push_back(
        "Operator and OS user differ for some events: the operator name is what the command was "
        "told (--operator), the OS user is who the system ran it as; the event timeline marks "
        "each such event.");
  }
  if (const std::size_t n = lists.interruptions.entries; n != 0) {
    out.facts.push_back(fmt::format("The run was interrupted {} and stood still for {}.",
                                    n == 1 ? "once" : fmt::format("{} times", n),
                                    HumanDuration(s.stood_still_ms)));
  }
  out.blank =
      "What went wrong and why it was rolled back, in two or three sentences for someone "
      "who was not there.";
  return out;
}

PostMortemSection PostMortemImpact(const RunReport& r) {
  const Downtime& d = r.summary.downtime;
  PostMortemSection out{.title = "Impact"};
  switch (d.state) {
    case Downtime::State::kNotMarked:
      break;
    case Downtime::State::kNotStarted:
      out.facts.push_back(fmt::format("The downtime window (`{}` to `{}`) never opened.",
                                      d.start_step, d.end_step));
      break;
    case Downtime::State::kOpen:
      out.facts.push_back(fmt::format(
          "The downtime window was still open at the last event: at least {} since `{}` began.",
          HumanDuration(d.duration_ms), d.start_step));
      break;
    case Downtime::State::kClosed:
      out.facts.push_back(fmt::format("Downtime during the rollback: {} (from `{}` to `{}`).",
                                      HumanDuration(d.duration_ms), d.start_step, d.end_step));
      break;
  }
  if (r.summary.rehearsal) {
    out.facts.push_back(fmt::format(
        "A rehearsal. Real targets it used as they are (`rehearsal: live`): {}; the others "
        "were copied, skipped or redirected.",
        LiveTargetsText(r.summary.rehearsal_targets)));
  }
  out.blank = "Who and what was affected (users, requests, data), and for how long.";
  return out;
}

std::string TriageFact(const Triage& t) {
  return fmt::format("Triage by {} at {}: {} at severity {}; recommended action: {}{}.", t.by,
                     HumanTime(t.at_us), t.issue, t.severity, ActionWords(t.action),
                     t.note.empty() ? "" : " (" + t.note + ")");
}

PostMortemSection PostMortemTrigger(const RunReport& r, const EventLists& lists) {
  PostMortemSection out{.title = "Trigger and root cause",
                        .streamed_facts = Streamed<Triage, std::string>(lists.triage, TriageFact)};
  if (lists.triage.entries == 0) {
    out.facts.push_back("No triage decision was recorded in this run.");
  }
  if (!r.summary.description.empty()) {
    out.facts.push_back("What the plan undoes: " + OneLine(r.summary.description, 1000));
  }
  out.blank = "The change or event that caused the incident, and why it did.";
  return out;
}

PostMortemSection PostMortemDetection() {
  return PostMortemSection{
      .title = "Detection",
      .blank =
          "How and when the problem was noticed (alert, dashboard, user report), and how "
          "long that took."};
}

PostMortemSection PostMortemResolution(const RunReport& r) {
  PostMortemSection out{.title = "Resolution"};
  for (const StepReport& s : r.steps) {
    std::string line = fmt::format("{} (`{}`): {}", s.title, s.id, s.status);
    if (s.actual_ms) line += " in " + HumanDuration(s.actual_ms);
    if (!s.recovered.empty()) line += ", recovered by " + s.recovered;
    out.facts.push_back(line);
  }
  if (!r.verification.empty()) {
    std::vector<std::string> failed;
    for (const VerificationCheck& c : r.verification) {
      if (!c.pass) failed.push_back(c.check);
    }
    out.facts.push_back(fmt::format("Verification: {} of {} checks passed{}.",
                                    r.verification.size() - failed.size(), r.verification.size(),
                                    failed.empty() ? "" : "; failed: " + Join(failed, ", ")));
  }
  for (const Backup& b : r.backups) {
    out.facts.push_back(
        fmt::format("Backup taken: `{}` ({}, sha256 `{}`).", b.path, Bytes(b.bytes), b.sha256));
  }
  for (const Restore& x : r.restores) out.facts.push_back("Restored: " + RestoreText(x) + ".");
  if (!Finished(r.summary)) {
    out.blank = fmt::format("What remains to be done: the run is {}.", r.summary.outcome_detail);
  }
  return out;
}

PostMortemSection PostMortemTimeline(const EventLists& lists) {
  PostMortemSection out{
      .title = "Timeline",
      .streamed_facts = Streamed<TimelineEntry, std::string>(lists.key_moments, FillTimelineLine)};
  out.blank =
      "What happened before the rollback (detection, escalation, the decision to roll "
      "back) and after it.";
  return out;
}

std::optional<std::string> CrashFact(const Interruption& i) {
  if (i.kind != Interruption::Kind::kCrash) return std::nullopt;
  return fmt::format("Find out why the runner stopped after {} (nothing journaled for {}).",
                     HumanTime(i.from_us), HumanDuration(i.gap_ms));
}

PostMortemSection PostMortemActionItems(const RunReport& r, const EventLists& lists) {
  PostMortemSection out{.title = "Action items"};
  for (const VerificationCheck& c : r.verification) {
    if (c.pass) continue;
    out.facts.push_back(
        fmt::format("Find out why verification check '{}' (`{}`) failed: expected "
                    "{}, observed {}.",
                    c.check, c.step, OneLine(ValueText(c.expected), kCellMax),
                    OneLine(ValueText(c.observed), kCellMax)));
  }
  for (const StepReport& s : r.steps) {
    if (s.status == "failed") {
      out.facts.push_back(fmt::format("Fix step `{}`: {}", s.id, OneLine(s.error, kCellMax)));
    }
    for (const InDoubt& d : s.in_doubt) {
      if (d.settled == InDoubt::Settled::kResolve) {
        out.facts.push_back(
            fmt::format("Give step `{}` a `check:`, so that a crash there is settled without "
                        "asking an operator.",
                        s.id));
      }
    }
    if (OverPlan(s)) {
      out.facts.push_back(fmt::format("Revisit the estimate of step `{}`: planned {}, took {}.",
                                      s.id, HumanDuration(s.planned_ms),
                                      HumanDuration(s.actual_ms)));
    }
  }
  out.streamed_facts = Streamed<Interruption, std::string>(lists.interruptions, CrashFact);
  out.streamed_at = out.facts.size();
  out.blank = "Owner, action, ticket and due date for each follow-up.";
  return out;
}

// --- detail tables -------------------------------------------------------------------

std::vector<std::pair<std::string, Cell>> Overview(const RunReport& r) {
  const Summary& s = r.summary;
  std::vector<std::pair<std::string, Cell>> rows = {
      {"Plan", Code(s.plan)},
      {"Incident", Cell{s.incident.empty() ? "—" : s.incident}},
      {"Outcome", Cell{s.outcome_detail, ResultTone(s.outcome)}},
      {"Rehearsal", Cell{s.rehearsal ? "yes: " + RehearsalTargetsText(s.rehearsal_targets)
                                     : "no"}},
      {"Operators", Cell{Join(s.operators, ", ")}},
      {"Started", Cell{HumanTime(s.started_us)}},
      {"Ended (last event)", Cell{HumanTime(s.ended_us)}},
      {"Total time", Cell{HumanDuration(s.total_ms)}},
      {"Downtime", Cell{DowntimeText(s.downtime),
                        s.downtime.state == Downtime::State::kOpen ? Tone::kWarn : Tone::kPlain}},
      {"Run", Code(r.run_id)},
      {"Plan file", Code(s.plan_file)},
      {"Plan SHA-256", Code(s.plan_sha256)},
  };
  if (s.clock_stepped_back) {
    rows.insert(rows.begin() + 8, {"Clock", Cell{ClockText(*s.clock_stepped_back), Tone::kWarn}});
  }
  // Only for runs that recorded OS users, so the reports of older runs stay as they were.
  if (!s.appenders.empty()) {
    const auto operators = std::find_if(rows.begin(), rows.end(),
                                        [](const auto& row) { return row.first == "Operators"; });
    rows.insert(operators + 1,
                {"Run by", Cell{AppendersText(s.appenders),
                                AnyMismatch(s.appenders) ? Tone::kWarn : Tone::kPlain}});
  }
  return rows;
}

Section StepsSection(const RunReport& r) {
  Section out{
      .title = "Steps",
      .lead =
          "Planned and actual time of each step. The actual time runs from the step's "
          "first start (an approval: its request) to its outcome, retries and "
          "interruptions included.",
      .table = {{"#", "Step", "Title", "Result", "Planned", "Actual", "Attempts", "Notes"}, {}},
      .if_empty = "The plan has no steps.",
      .figure = Section::Figure::kPlannedVsActual};
  int n = 0;
  for (const StepReport& s : r.steps) {
    out.table.rows.push_back(
        {Cell{std::to_string(++n)}, Code(s.id), Cell{s.title}, Cell{s.status, ResultTone(s.status)},
         Cell{HumanDuration(s.planned_ms)},
         Cell{HumanDuration(s.actual_ms), OverPlan(s) ? Tone::kWarn : Tone::kPlain},
         Cell{std::to_string(s.attempts)}, Cell{StepNotes(s)}});
  }
  return out;
}

std::vector<Cell> DecisionRow(const Decision& d) {
  const std::string decision = d.kind == Decision::Kind::kApproval
                                   ? "approved with phrase " + d.answer
                                   : "resolved as " + d.answer;
  return {Cell{HumanTime(d.at_us)}, Code(d.step), Cell{decision}, Cell{d.by},
          Code(d.via),              Cell{HumanDuration(d.waited_ms)}};
}

Section DecisionsSection(const EventLists& lists) {
  return Section{.title = "Approvals and resolves",
                 .lead = "Operators' answers, as journaled with their names.",
                 .table = {{"When", "Step", "Decision", "By", "Via", "Waited"}, {}},
                 .if_empty = "No approvals or resolves.",
                 .streamed_rows = Streamed<Decision, std::vector<Cell>>(lists.decisions,
                                                                        DecisionRow)};
}

Section VerificationSection(const RunReport& r) {
  Section out{.title = "Verification",
              .lead = "Each check of the verify steps, as their outputs recorded it.",
              .table = {{"Step", "Check", "Expected", "Observed", "Result"}, {}},
              .if_empty = "No verify step recorded checks."};
  for (const VerificationCheck& c : r.verification) {
    out.table.rows.push_back({Code(c.step), Cell{c.check},
                              Cell{OneLine(ValueText(c.expected), kCellMax)},
                              Cell{OneLine(ValueText(c.observed), kCellMax)},
                              c.pass ? Cell{"pass", Tone::kGood} : Cell{"FAIL", Tone::kBad}});
  }
  return out;
}

Section BackupsSection(const RunReport& r) {
  Section out{.title = "Backups",
              .table = {{"Step", "Path", "Size", "SHA-256"}, {}},
              .if_empty = "No backups were taken."};
  for (const Backup& b : r.backups) {
    out.table.rows.push_back({Code(b.step), Code(b.path), Cell{Bytes(b.bytes)}, Code(b.sha256)});
  }
  return out;
}

Section RestoresSection(const RunReport& r) {
  Section out{.title = "Restores",
              .lead = "Every restore the run made, as the restoring step recorded it.",
              .table = {{"Step", "Target", "Source", "Size", "SHA-256", "Loaded"}, {}},
              .if_empty = "Nothing was restored."};
  for (const Restore& x : r.restores) {
    std::string loaded = x.tables.empty() ? (x.into.empty() ? "—" : x.into) : TablesText(x.tables);
    if (x.rows && x.tables.size() > 1) loaded += fmt::format("; {} rows in all", *x.rows);
    out.table.rows.push_back({Code(x.step), Cell{x.target}, Code(x.source), Cell{Bytes(x.bytes)},
                              Code(x.sha256), Cell{std::move(loaded)}});
  }
  return out;
}

std::vector<Cell> ErrorRow(const StepError& e) {
  return {Cell{HumanTime(e.at_us)}, Code(e.step), Cell{std::to_string(e.attempt)},
          Cell{OneLine(e.message, 2000)}};
}

Section ErrorsSection(const EventLists& lists) {
  return Section{.title = "Errors",
                 .lead = "Every failed attempt, with the adapter's message.",
                 .table = {{"When", "Step", "Attempt", "Message"}, {}},
                 .if_empty = "No step failed.",
                 .streamed_rows = Streamed<StepError, std::vector<Cell>>(lists.errors, ErrorRow)};
}

std::vector<Cell> InterruptionRow(const Interruption& i) {
  return {Cell{std::string(ToString(i.kind)),
               i.kind == Interruption::Kind::kCrash ? Tone::kBad : Tone::kWarn},
          Cell{HumanTime(i.from_us)},
          Cell{HumanTime(i.until_us)},
          Cell{StandingStill(i)},
          Cell{InterruptionText(i)},
          Cell{i.resumed_by.empty() ? "—" : i.resumed_by}};
}

Section InterruptionsSection(const EventLists& lists) {
  return Section{
      .title = "Interruptions",
      .lead =
          "Each time the run stood still: pauses (until resumed) and crashes (from the "
          "runner's last event to the resume that found it gone).",
      .table = {{"Kind", "From", "Until", "Stood still", "What happened", "Resumed by"}, {}},
      .if_empty = "The run was never interrupted.",
      .streamed_rows =
          Streamed<Interruption, std::vector<Cell>>(lists.interruptions, InterruptionRow)};
}

// The rows of one preflight: a skip, or each check.
Status VisitPreflightRows(const Preflight& p, const RowVisitor& visit) {
  if (p.skipped) {
    BACKOUT_RETURN_IF_ERROR(visit({Cell{HumanTime(p.at_us)}, Cell{p.by}, Cell{""}, Cell{""},
                                   Cell{"skipped (--skip-preflight)", Tone::kWarn}}));
  }
  for (const sm::PreflightCheck& c : p.checks) {
    BACKOUT_RETURN_IF_ERROR(visit({Cell{HumanTime(p.at_us)}, Cell{p.by},
                                   c.target.empty() ? Cell{""} : Code(c.target),
                                   Cell{fmt::format("{}", fmt::join(c.steps, ", "))},
                                   Cell{c.check, Tone::kGood}}));
  }
  return Status::Ok();
}

Section PreflightSection(const EventLists& lists) {
  return Section{.title = "Preflight",
                 .lead = "What was checked before the first effect, without changing anything "
                         "(every check passed: a failed one refuses the run).",
                 .table = {{"When", "By", "Target", "Steps", "Check"}, {}},
                 .if_empty = "",
                 .streamed_rows = {.entries = lists.preflight.entries,
                                   .scan =
                                       [&lists](const RowVisitor& visit,
                                                const EntryWanted& wanted) {
                                         std::size_t next = 0;  // counts rows
                                         const RowVisitor visit_wanted = [&](const auto& row) {
                                           return Wanted(wanted, &next) ? visit(row)
                                                                        : Status::Ok();
                                         };
                                         return lists.preflight.scan(
                                             [&](const Preflight& p) {
                                               return VisitPreflightRows(p, visit_wanted);
                                             },
                                             {});
                                       },
                                   .concurrent_scans = lists.preflight.concurrent_scans}};
}

Section CapturesSection(const RunReport& r) {
  Section out{.title = "Captures compared with",
              .lead = "The state before the migration this run compared with and restored "
                      "from (capture.NAME in the plan), as resolved from the journal when the "
                      "run was created.",
              .table = {{"Capture", "Taken", "By", "In run", "Targets", "Backups"}, {}},
              .if_empty = ""};
  for (const CaptureUsed& c : r.captures) {
    std::vector<std::string> backups;
    for (const capture::CapturedBackup& b : c.backups) {
      backups.push_back(fmt::format("{}: {} (sha256 {})", b.target, b.location, b.sha256));
    }
    out.table.rows.push_back(
        {Code(c.name), Cell{HumanTime(c.taken_us)},
         Cell{c.host.empty() ? c.by : fmt::format("{} on {}", c.by, c.host)},
         Cell{fmt::format("{} ({})", c.run_id, c.plan_name)},
         Cell{fmt::format("{}", fmt::join(c.targets, ", "))},
         Cell{backups.empty() ? "—" : fmt::format("{}", fmt::join(backups, "; "))}});
  }
  return out;
}

void FillNoteRow(const Note& n, std::vector<Cell>* row) {
  ResetRow(3, row);
  AppendHumanTime(n.at_us, &(*row)[0].text);
  (*row)[1].text = n.by;
  AppendOneLine(n.text, 4000, &(*row)[2].text);
}

Section NotesSection(const EventLists& lists) {
  return Section{.title = "Operator notes",
                 .table = {{"When", "By", "Note"}, {}},
                 .if_empty = "No notes (add one with `backout note RUN TEXT`).",
                 .streamed_rows = Streamed<Note, std::vector<Cell>>(lists.notes, FillNoteRow)};
}

// Makes `cell` (empty and plain, as ResetRow leaves it) the OS user that appended `e`, flagged
// when it is not the operator.
void FillOsUserCell(const TimelineEntry& e, Cell* cell) {
  if (!e.os_user) {
    cell->text = "not recorded";
    return;
  }
  AppendOsUserText(*e.os_user, &cell->text);
  if (e.identity_mismatch) {
    cell->text.append(", not ").append(e.operator_name).append(": mismatch");
    cell->tone = Tone::kWarn;
  }
}

// A run that recorded OS users shows, beside the operator, who appended and where; an older
// run's table stays as it was.
bool ShowsWhoAndWhere(const RunReport& r) { return !r.summary.appenders.empty(); }

// Fills `row` with the timeline section's cells for `e`, an entry of `r`'s run.
void FillTimelineRow(const RunReport& r, const TimelineEntry& e, std::vector<Cell>* row) {
  const bool who_and_where = ShowsWhoAndWhere(r);
  ResetRow(who_and_where ? 8 : 6, row);
  auto cell = row->begin();
  char seq[24];
  (cell++)->text.append(seq, std::to_chars(seq, std::end(seq), e.seq).ptr);
  AppendHumanTime(e.time_us, &(cell++)->text);
  cell->text = "+";
  AppendHumanDuration(e.since_start_ms, &(cell++)->text);
  (cell++)->text = e.operator_name;
  if (who_and_where) {
    FillOsUserCell(e, &*(cell++));
    (cell++)->text = e.host;
  }
  if (!e.step.empty()) {
    cell->text = e.step;
    cell->tone = Tone::kCode;
  }
  (++cell)->text = e.text;
}

Section TimelineSection(const RunReport& r, const EventLists& lists) {
  Section out{.title = "Event timeline",
              .lead = "Every event in the journal, in order.",
              .table = {{"#", "Time", "Since start", "Who", "Step", "What"}, {}},
              .if_empty = "The journal has no events.",
              .streamed_rows = Streamed<TimelineEntry, std::vector<Cell>>(
                  lists.timeline,
                  [&r](const TimelineEntry& e, std::vector<Cell>* row) { FillTimelineRow(r, e, row); })};
  if (ShowsWhoAndWhere(r)) {
    out.lead = "Every event in the journal, in order; who: the operator name given, OS user: "
               "the user the system ran the command as, host: where it ran.";
    out.table.columns = {"#", "Time", "Since start", "Who", "OS user", "Host", "Step", "What"};
  }
  return out;
}

// What the chain mode the records say means for a reader of the report.
std::string ChainLead(const Integrity& i) {
  if (i.chain_mode == "hmac-sha256") {
    return "Each event carries an HMAC-SHA-256, keyed with the journal key "
           "(`BACKOUT_JOURNAL_KEY`), of itself and the hash of the event before it, so the head "
           "hash stands for the whole history and only a holder of the key can recompute or "
           "check the chain. Record the head in the ticket; `backout verify` checks the chain "
           "again later.";
  }
  return "Each event carries the SHA-256 of itself and the hash of the event before it, so the "
         "head hash stands for the whole history. A plain SHA-256 chain is not keyed: anyone "
         "can recompute it, so it shows damage but not a deliberate rewrite. Record the head "
         "in the ticket and check it later with `backout verify --expect-head`, or sign the "
         "run.";
}

std::string ChainModeText(const std::string& mode) {
  if (mode == "hmac-sha256") return "hmac-sha256 (keyed with the journal key)";
  if (mode == "sha256") return "sha256 (unkeyed: anyone can recompute it)";
  return "—";
}

Cell SignatureCell(const Integrity& i) {
  const SignatureStatus& s = i.signature;
  const std::string covers =
      s.covers_seq == 0 ? "" : fmt::format(", covering events #1 to #{}", s.covers_seq);
  const std::string uncovered = s.covers_seq != 0 && s.covers_seq < i.head_seq
                                    ? fmt::format("; events after #{} are not signed", s.covers_seq)
                                    : "";
  switch (s.state) {
    case SignatureStatus::State::kUnsigned:
      return Cell{"unsigned", Tone::kWarn};
    case SignatureStatus::State::kUnchecked:
      return Cell{fmt::format("signed with key {}{}; not checked (no public key given){}",
                              s.key_fingerprint, covers, uncovered),
                  Tone::kWarn};
    case SignatureStatus::State::kVerified:
      return Cell{fmt::format("verified with key {}{}{}", s.key_fingerprint, covers, uncovered),
                  uncovered.empty() ? Tone::kGood : Tone::kWarn};
    case SignatureStatus::State::kFailed:
      return Cell{s.key_fingerprint.empty() ? "FAILED" : "FAILED (key " + s.key_fingerprint + ")",
                  Tone::kBad};
  }
  return Cell{""};
}

Cell DecisionsCell(const std::optional<bool>& verified) {
  if (!verified) return Cell{"not re-derived", Tone::kWarn};
  return *verified ? Cell{"every decision re-derived: all match", Tone::kGood}
                   : Cell{"a decision diverges when re-derived (see `backout replay`)", Tone::kBad};
}

Section IntegritySection(const RunReport& r) {
  const Integrity& i = r.integrity;
  return Section{
      .title = "Integrity",
      .lead = ChainLead(i),
      .table = {{"Fact", "Value"},
                {{Cell{"Chain mode"}, Cell{ChainModeText(i.chain_mode)}},
                 {Cell{"Events"}, Cell{std::to_string(i.events)}},
                 {Cell{"Head event"}, Cell{i.events == 0 ? "—" : "#" + std::to_string(i.head_seq)}},
                 {Cell{"Head hash"}, Code(i.head_hash)},
                 {Cell{"Hash chain"}, i.chain_verified ? Cell{"verified", Tone::kGood}
                                                       : Cell{"not verified", Tone::kBad}},
                 {Cell{"Decisions"}, DecisionsCell(i.decisions_verified)},
                 {Cell{"Signature"}, SignatureCell(i)},
                 {Cell{"Recorded on"},
                  Cell{i.hosts.empty() ? "—" : Join(i.hosts, ", ")}}}}};
}

std::vector<Cell> LogRow(const StepLog& l) {
  return {Code(l.step),   Cell{std::to_string(l.attempt)},
          Code(l.file),   Cell{Bytes(static_cast<std::int64_t>(l.bytes))},
          Code(l.sha256), Cell{"#" + std::to_string(l.seq)}};
}

Section LogsSection(const EventLists& lists) {
  return Section{.title = "Step logs",
              .lead = "The full output log of each attempt, as its outcome event journaled it "
                      "(section FILE of RUN/logs/run.log): the digest is covered by the hash chain, and `backout "
                      "export --with-logs` carries the logs, checked again on import.",
              .table = {{"Step", "Attempt", "File", "Size", "SHA-256", "Event"}, {}},
              .streamed_rows = Streamed<StepLog, std::vector<Cell>>(lists.logs, LogRow)};
}

}  // namespace

EntrySource<std::string> FactsOf(const PostMortemSection& s) {
  const bool streamed = static_cast<bool>(s.streamed_facts.scan);
  return EntrySource<std::string>{
      .entries = s.facts.size() + (streamed ? s.streamed_facts.entries : 0),
      .scan =
          [&s, streamed](const FactVisitor& visit, const EntryWanted& wanted) {
            std::size_t next = 0;
            for (std::size_t i = 0; i <= s.facts.size(); ++i) {
              if (i == s.streamed_at && streamed) {
                // The streamed facts' numbers follow those of the facts before them.
                const std::size_t first = next;
                std::size_t streamed_facts = 0;
                BACKOUT_RETURN_IF_ERROR(s.streamed_facts.scan(
                    visit, [&](std::size_t fact) {
                      streamed_facts = fact + 1;
                      return !wanted || wanted(first + fact);
                    }));
                next += streamed_facts;
              }
              if (i < s.facts.size() && Wanted(wanted, &next)) {
                BACKOUT_RETURN_IF_ERROR(visit(s.facts[i]));
              }
            }
            return Status::Ok();
          },
      .concurrent_scans = !streamed || s.streamed_facts.concurrent_scans};
}

Document BuildDocument(const RunReport& r, const EventLists& lists) {
  Document doc;
  doc.title = "Rollback report: " + r.summary.plan;
  doc.subtitle = (r.summary.incident.empty() ? "" : r.summary.incident + " · ") + "run " + r.run_id;
  doc.description = OneLine(r.summary.description, 1000);
  doc.outcome = Cell{r.summary.outcome_detail, ResultTone(r.summary.outcome)};
  doc.overview = Overview(r);
  doc.post_mortem = {PostMortemSummary(r, lists), PostMortemImpact(r),
                     PostMortemTrigger(r, lists), PostMortemDetection(),
                     PostMortemResolution(r),     PostMortemTimeline(lists),
                     PostMortemActionItems(r, lists)};
  doc.details = {StepsSection(r),        DecisionsSection(lists),
                 VerificationSection(r), BackupsSection(r),
                 RestoresSection(r),     ErrorsSection(lists),
                 InterruptionsSection(lists), NotesSection(lists),
                 TimelineSection(r, lists),   IntegritySection(r)};
  // Only for runs that journaled them, so the reports of older runs stay as they were.
  if (lists.logs.entries != 0) doc.details.insert(doc.details.end() - 1, LogsSection(lists));
  if (lists.preflight.entries != 0) {
    doc.details.insert(doc.details.begin() + 1, PreflightSection(lists));
  }
  if (!r.captures.empty()) {
    // Beside the verification that compared with them.
    const auto verification = std::find_if(doc.details.begin(), doc.details.end(),
                                           [](const Section& s) { return s.title == "Verification"; });
    doc.details.insert(verification, CapturesSection(r));
  }
  doc.plan_text = r.plan_text;
  return doc;
}

}  // namespace backout::report
