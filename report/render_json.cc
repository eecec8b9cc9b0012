// The JSON form of a report. Keys are sorted (nlohmann::json objects), times are ISO 8601 UTC
// with microseconds, durations are integer milliseconds; a time or duration that does not
// exist is null, a text that does not exist is "". docs/report.schema.json is its contract:
// change both together.
#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <concepts>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/time.h"
#include "base/utf8.h"
#include "report/render.h"
#include "report/write_forms.h"

namespace backout::report {
namespace {

using nlohmann::json;

// The JSON form's version: raise it when a field changes meaning or goes away.
constexpr int kFormatVersion = 1;

// A time, or null for one that does not exist (0).
json Time(std::int64_t time_us) { return time_us == 0 ? json() : json(FormatUtcMicros(time_us)); }

json Ms(const std::optional<std::int64_t>& ms) { return ms ? json(*ms) : json(); }

json OptionalBool(const std::optional<bool>& b) { return b ? json(*b) : json(); }

json RehearsalTargetsJson(const std::vector<RehearsalTarget>& targets) {
  json out = json::array();
  for (const RehearsalTarget& t : targets) {
    out.push_back({{"target", t.target},
                   {"type", t.type},
                   {"handling", t.handling},
                   {"redirected_keys", t.redirected_keys}});
  }
  return out;
}

json SummaryJson(const Summary& s) {
  const Downtime& d = s.downtime;
  json out = {{"plan", s.plan},
             {"description", s.description},
             {"incident", s.incident},
             {"plan_file", s.plan_file},
             {"plan_sha256", s.plan_sha256},
             {"outcome", s.outcome},
             {"outcome_detail", s.outcome_detail},
             {"abort_reason", s.abort_reason},
             {"abort_reasons", s.abort_reasons},
             {"rehearsal", s.rehearsal},
             {"operators", s.operators},
             {"started", Time(s.started_us)},
             {"ended", Time(s.ended_us)},
             {"total_ms", s.total_ms},
             {"clock_stepped_back",
              s.clock_stepped_back ? json{{"seq", s.clock_stepped_back->seq},
                                          {"ms", s.clock_stepped_back->ms}}
                                   : json()},
             {"downtime",
              {{"state", ToString(d.state)},
               {"start_step", d.start_step},
               {"end_step", d.end_step},
               {"start", Time(d.start_us)},
               {"end", Time(d.end_us)},
               {"duration_ms", Ms(d.duration_ms)}}}};
  // Only in a rehearsal's report, so a real run's report is as it was before the field.
  if (s.rehearsal) out["rehearsal_targets"] = RehearsalTargetsJson(s.rehearsal_targets);
  // Only when the run recorded OS users, so the report of an older run is as it was.
  if (!s.appenders.empty()) {
    json appenders = json::array();
    for (const Appender& a : s.appenders) {
      appenders.push_back({{"operator", a.operator_name},
                           {"os_user", a.os_user.name},
                           {"os_uid", a.os_user.uid},
                           {"events", a.events},
                           {"mismatch", a.mismatch}});
    }
    out["run_by"] = std::move(appenders);
  }
  return out;
}

// --- entries of the lists that grow with events, one object per event --------------------
//
// Their fields are listed once, to a `field(key, value)` of either kind below: FlatObject
// writes them without a nlohmann::json per entry (a million-event run writes a million),
// JsonObject builds the json RenderJson holds. Values: strings, integers, bools, optional
// strings (null when unset) and times (TimeField). The fields are listed in the order of their
// keys, which is how nlohmann::json's std::map orders them and so how FlatObject must write
// them (checked in debug builds; the report's tests compare both writers' bytes).

// A time: ISO 8601 UTC with microseconds, or null for one that does not exist (0).
struct TimeField {
  std::int64_t us = 0;
};

// A flat object written as json::dump(2) writes it `depth` levels deep, straight to `out`:
// strings as DumpJson writes them.
class FlatObject {
 public:
  FlatObject(int depth, std::string* out)
      : pad_(static_cast<std::size_t>(2 * depth)), out_(out) {
    out_->push_back('{');
  }

  void operator()(std::string_view key, std::string_view text) {
    Key(key);
    AppendJsonString(text, out_);
  }
  void operator()(std::string_view key, const std::string& text) {
    (*this)(key, std::string_view(text));
  }
  void operator()(std::string_view key, const char* text) = delete;  // would be a bool
  void operator()(std::string_view key, const std::optional<std::string>& text) {
    if (text) (*this)(key, *text);
    else Key(key).append("null");
  }
  void operator()(std::string_view key, TimeField time) {
    if (time.us == 0) {
      Key(key).append("null");
      return;
    }
    Key(key).push_back('"');
    AppendUtcMicros(time.us, out_);  // digits and "-:.TZ": nothing to escape
    out_->push_back('"');
  }
  void operator()(std::string_view key, bool b) {
    Key(key).append(b ? std::string_view("true") : std::string_view("false"));
  }
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  void operator()(std::string_view key, I n) {
    const fmt::format_int text(n);
    Key(key).append(text.data(), text.size());
  }

  void Close() { out_->append("\n").append(pad_, ' ').push_back('}'); }

 private:
  // The keys are the Fields' own: plain ASCII, nothing to escape. What goes before the
  // value is written in place in one step: a report writes a dozen keys per entry.
  std::string& Key(std::string_view key) {
    assert(last_key_.empty() || last_key_ < key);  // in the order nlohmann::json writes them
    last_key_ = key;
    const std::size_t old_size = out_->size();
    out_->resize(old_size + (first_ ? 1 : 2) + pad_ + 2 + 1 + key.size() + 3);
    char* at = out_->data() + old_size;
    if (!first_) *at++ = ',';
    *at++ = '\n';
    at = std::fill_n(at, pad_ + 2, ' ');
    *at++ = '"';
    at = std::copy(key.begin(), key.end(), at);
    std::copy_n("\": ", 3, at);
    first_ = false;
    return *out_;
  }

  std::size_t pad_;
  std::string* out_;
  bool first_ = true;
  std::string_view last_key_;
};

// The same fields as a nlohmann::json object.
class JsonObject {
 public:
  template <typename V>
  void operator()(std::string_view key, const V& value) {
    if constexpr (std::is_same_v<V, std::optional<std::string>>) {
      object_[std::string(key)] = value ? json(*value) : json();
    } else if constexpr (std::is_same_v<V, TimeField>) {
      object_[std::string(key)] = Time(value.us);
    } else {
      object_[std::string(key)] = value;
    }
  }
  json Take() { return std::move(object_); }

 private:
  json object_ = json::object();
};

struct TimelineFields {
  template <typename Field>
  void operator()(const TimelineEntry& e, Field& field) const {
    // The OS user's fields only for events whose record knows it (not those of record format
    // version 1).
    field("host", e.host);
    if (e.os_user) field("identity_mismatch", e.identity_mismatch);
    field("key", e.key);
    field("operator", e.operator_name);
    if (e.os_user) {
      field("os_uid", e.os_user->uid);
      field("os_user", e.os_user->name);
    }
    field("seq", e.seq);
    field("since_start_ms", e.since_start_ms);
    field("step", e.step);
    field("text", e.text);
    field("time", TimeField{e.time_us});
    field("type", e.type);
  }
};

struct NoteFields {
  template <typename Field>
  void operator()(const Note& n, Field& field) const {
    field("at", TimeField{n.at_us});
    field("by", n.by);
    field("text", n.text);
  }
};

template <typename Fields, typename T>
json JsonOf(const T& entry) {
  JsonObject object;
  Fields()(entry, object);
  return object.Take();
}

json InDoubtJson(const InDoubt& d) {
  return {{"attempt", d.attempt},
          {"since", Time(d.since_us)},
          {"settled", ToString(d.settled)},
          {"effect_in_place", OptionalBool(d.effect_in_place)},
          {"by", d.by},
          {"at", Time(d.at_us)},
          {"detail", d.detail}};
}

json StepJson(const StepReport& s) {
  json in_doubt = json::array();
  for (const InDoubt& d : s.in_doubt) in_doubt.push_back(InDoubtJson(d));
  return {{"id", s.id},
          {"title", s.title},
          {"kind", s.kind},
          {"status", s.status},
          {"downtime", ToString(s.downtime)},
          {"always", s.always},
          {"attempts", s.attempts},
          {"planned_ms", Ms(s.planned_ms)},
          {"actual_ms", Ms(s.actual_ms)},
          {"started", Time(s.started_us)},
          {"finished", Time(s.finished_us)},
          {"recovered", s.recovered},
          {"in_doubt", std::move(in_doubt)},
          {"skip_reason", s.skip_reason},
          {"error", s.error}};
}

json DecisionJson(const Decision& d) {
  return {{"kind", ToString(d.kind)},
          {"step", d.step},
          {"by", d.by},
          {"at", Time(d.at_us)},
          {"answer", d.answer},
          {"via", d.via},
          {"requested", Time(d.requested_us)},
          {"waited_ms", Ms(d.waited_ms)}};
}

json CheckJson(const VerificationCheck& c) {
  return {{"step", c.step},         {"check", c.check}, {"expected", c.expected},
          {"observed", c.observed}, {"pass", c.pass},   {"message", c.message}};
}

json BackupJson(const Backup& b) {
  return {{"step", b.step}, {"path", b.path}, {"bytes", b.bytes}, {"sha256", b.sha256}};
}

json RestoreJson(const Restore& r) {
  json tables = json::array();
  for (const RestoredTable& t : r.tables) {
    tables.push_back({{"name", t.name}, {"rows", t.rows ? json(*t.rows) : json()}});
  }
  return {{"step", r.step},     {"target", r.target}, {"kind", r.kind},
          {"source", r.source}, {"into", r.into},     {"bytes", r.bytes},
          {"sha256", r.sha256}, {"tables", tables},   {"rows", r.rows ? json(*r.rows) : json()}};
}

json ErrorJson(const StepError& e) {
  return {{"step", e.step}, {"attempt", e.attempt}, {"at", Time(e.at_us)}, {"message", e.message}};
}

json TriageJson(const Triage& t) {
  return {{"by", t.by},         {"at", Time(t.at_us)}, {"issue", t.issue}, {"severity", t.severity},
          {"action", t.action}, {"note", t.note}};
}

json InterruptionJson(const Interruption& i) {
  return {{"kind", ToString(i.kind)},
          {"reason", i.reason},
          {"step", i.step},
          {"from", Time(i.from_us)},
          {"until", Time(i.until_us)},
          {"gap_ms", Ms(i.gap_ms)},
          {"resumed_by", i.resumed_by},
          {"in_doubt_steps", i.in_doubt_steps}};
}

json PreflightJson(const Preflight& p) {
  json checks = json::array();
  for (const sm::PreflightCheck& c : p.checks) {
    checks.push_back({{"target", c.target}, {"steps", c.steps}, {"check", c.check}});
  }
  return {{"event", p.event},
          {"by", p.by},
          {"at", Time(p.at_us)},
          {"skipped", p.skipped},
          {"checks", std::move(checks)}};
}

json CaptureJson(const CaptureUsed& c) {
  json backups = json::array();
  for (const capture::CapturedBackup& b : c.backups) {
    backups.push_back({{"target", b.target}, {"location", b.location}, {"bytes", b.bytes},
                       {"sha256", b.sha256}});
  }
  return {{"name", c.name},         {"run_id", c.run_id}, {"plan", c.plan_name},
          {"taken_at", Time(c.taken_us)}, {"by", c.by},     {"host", c.host},
          {"targets", c.targets},   {"backups", std::move(backups)}};
}

json StepLogJson(const StepLog& l) {
  return {{"step", l.step}, {"attempt", l.attempt}, {"seq", l.seq},
          {"file", l.file}, {"bytes", l.bytes},     {"sha256", l.sha256}};
}

json IntegrityJson(const Integrity& i) {
  const SignatureStatus& s = i.signature;
  return {{"events", i.events},
          {"head_seq", i.head_seq},
          {"head_hash", i.head_hash},
          {"chain_mode", i.chain_mode},
          {"hosts", i.hosts},
          {"chain_verified", i.chain_verified},
          {"decisions_verified", OptionalBool(i.decisions_verified)},
          {"signature",
           {{"state", ToString(s.state)},
            {"key_fingerprint", s.key_fingerprint},
            {"covers_seq", s.covers_seq == 0 ? json() : json(s.covers_seq)}}}};
}

template <typename T, typename F>
json ArrayOf(const std::vector<T>& items, F to_json) {
  json out = json::array();
  for (const T& item : items) out.push_back(to_json(item));
  return out;
}

// Everything but the lists that grow with events (EventLists), which a long run makes large:
// WriteJson writes those one entry at a time.
json RenderJsonWithoutEventLists(const RunReport& r) {
  json j = {{"format_version", kFormatVersion},
            {"run_id", r.run_id},
            {"summary", SummaryJson(r.summary)},
            {"steps", ArrayOf(r.steps, StepJson)},
            {"verification", ArrayOf(r.verification, CheckJson)},
            {"backups", ArrayOf(r.backups, BackupJson)},
            {"restores", ArrayOf(r.restores, RestoreJson)},
            {"integrity", IntegrityJson(r.integrity)}};
  // Only for a run that compared with a capture, so other reports stay as they were.
  if (!r.captures.empty()) j["captures"] = ArrayOf(r.captures, CaptureJson);
  if (r.plan_text) j["plan_text"] = *r.plan_text;  // only with `report --embed-plan`
  return j;
}

std::string Dump(const json& value) {
  // Every string came from the journal's JSON payloads (bytes that are not UTF-8 already
  // marked there); DumpJson marks anything else the same way and never throws.
  return backout::DumpJson(value, 2);
}

// Appends `value` as json::dump(2) writes it `depth` levels deep: its lines after the first
// indented by 2 * depth more (a dump has no raw newline inside strings).
void AppendDumped(const json& value, int depth, std::string* out) {
  const std::string pad(static_cast<std::size_t>(2 * depth), ' ');
  const std::string dumped = Dump(value);
  std::string_view rest = dumped;
  for (std::size_t line_end; (line_end = rest.find('\n')) != std::string_view::npos;) {
    out->append(rest.substr(0, line_end + 1)).append(pad);
    rest.remove_prefix(line_end + 1);
  }
  out->append(rest);
}

// Appends an item of a member array of the top-level object, as json::dump(2) writes it.
template <typename T>
using AppendItem = void (*)(const T& item, std::string* out);

template <typename T, json (*to_json)(const T&)>
void AppendDumpedItem(const T& item, std::string* out) {
  AppendDumped(to_json(item), 2, out);
}

template <typename T, typename Fields>
void AppendFlatItem(const T& item, std::string* out) {
  FlatObject object(2, out);
  Fields()(item, object);
  object.Close();
}

// A member array of the top-level object written one item at a time.
template <typename T>
Status StreamArray(const EntrySource<T>& source, AppendItem<T> append, PieceWriter& w) {
  return w.Stream(source, "[\n    ", append, ",\n    ", "\n  ]", "[]");
}

// The top-level members that EventLists holds, each written as it streams.
using StreamedMember = std::function<Status(PieceWriter&)>;

template <typename T>
StreamedMember Member(const EntrySource<T>& source, AppendItem<T> append) {
  return [&source, append](PieceWriter& w) { return StreamArray(source, append, w); };
}
template <auto to_json, typename T>
StreamedMember Member(const EntrySource<T>& source) {
  return Member(source, &AppendDumpedItem<T, to_json>);
}

}  // namespace

json RenderJson(const RunReport& r) {
  json j = RenderJsonWithoutEventLists(r);
  j["decisions"] = ArrayOf(r.decisions, DecisionJson);
  j["errors"] = ArrayOf(r.errors, ErrorJson);
  j["triage"] = ArrayOf(r.triage, TriageJson);
  j["interruptions"] = ArrayOf(r.interruptions, InterruptionJson);
  j["logs"] = ArrayOf(r.logs, StepLogJson);
  // Absent when nothing was journaled, so the reports of runs from before preflight stay as
  // they were.
  if (!r.preflight.empty()) j["preflight"] = ArrayOf(r.preflight, PreflightJson);
  j["timeline"] = ArrayOf(r.timeline, JsonOf<TimelineFields, TimelineEntry>);
  j["notes"] = ArrayOf(r.notes, JsonOf<NoteFields, Note>);
  return j;
}

Status WriteJson(const RunReport& r, const EventLists& lists, const OutputSink& out) {
  // The same bytes as Dump(RenderJson(r)) and a newline, without holding a document of every
  // event: a million-event run's would take gigabytes. Null placeholders put the lists that
  // grow with events in their sorted place among the keys; each is written an entry at a
  // time as its source produces it.
  const std::map<std::string, StreamedMember, std::less<>> streamed = [&] {
    std::map<std::string, StreamedMember, std::less<>> m = {
        {"decisions", Member<DecisionJson>(lists.decisions)},
        {"errors", Member<ErrorJson>(lists.errors)},
        {"triage", Member<TriageJson>(lists.triage)},
        {"interruptions", Member<InterruptionJson>(lists.interruptions)},
        {"logs", Member<StepLogJson>(lists.logs)},
        {"timeline", Member(lists.timeline, &AppendFlatItem<TimelineEntry, TimelineFields>)},
        {"notes", Member(lists.notes, &AppendFlatItem<Note, NoteFields>)}};
    // As RenderJson: absent when nothing was journaled.
    if (lists.preflight.entries != 0) m.emplace("preflight", Member<PreflightJson>(lists.preflight));
    return m;
  }();
  json rest = RenderJsonWithoutEventLists(r);
  for (const auto& [key, member] : streamed) rest[key] = nullptr;
  PieceWriter w(out);
  w.piece() = "{\n";
  bool first = true;
  for (const auto& [key, value] : rest.items()) {
    if (!first) w.piece().append(",\n");
    first = false;
    w.piece().append("  ").append(json(key).dump()).append(": ");
    if (const auto member = streamed.find(key); member != streamed.end()) {
      BACKOUT_RETURN_IF_ERROR(member->second(w));
    } else {
      AppendDumped(value, 1, &w.piece());
    }
  }
  w.piece().append("\n}\n");
  return w.Flush();
}

}  // namespace backout::report
