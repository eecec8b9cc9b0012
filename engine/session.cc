#include "engine/session.h"

#include <fmt/format.h>

#include "plan/parser.h"

namespace backout::engine {

namespace {
// A run directory whose RunStarted never became durable: the runner died between creating
// the run and its first append, so nothing ran.
Status CheckNotEmpty(const journal::Journal& journal, const std::string& run_id,
                     const std::vector<journal::Record>& records) {
  if (!records.empty()) return Status::Ok();
  return Status::Corruption(fmt::format(
      "run {} has no events: its runner stopped before RunStarted was journaled, so nothing "
      "ran; remove {} to clear it",
      run_id, (journal.dir() / run_id).string()));
}
}  // namespace

Result<std::vector<sm::Event>> DecodeEvents(const std::vector<journal::Record>& records) {
  std::vector<sm::Event> events;
  events.reserve(records.size());
  for (const journal::Record& r : records) {
    nlohmann::json payload = nlohmann::json::parse(r.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded()) {
      return Status::Corruption(fmt::format("event #{} {}: payload is not valid JSON", r.seq, r.type));
    }
    Result<sm::EventBody> body = sm::DecodePayload(r.type, payload);
    if (!body.ok()) return body.status().WithContext(fmt::format("event #{}", r.seq));
    events.push_back(sm::Event{.seq = r.seq,
                               .time_us = r.time_us,
                               .operator_name = r.operator_name,
                               .host = r.host,
                               .body = std::move(body).value()});
  }
  return events;
}

Result<RunSnapshot> ReadSnapshot(const journal::Journal& journal, const std::string& run_id) {
  Result<std::vector<journal::Record>> records = journal.ReadRun(run_id);
  if (!records.ok()) return records.status();
  BACKOUT_RETURN_IF_ERROR(CheckNotEmpty(journal, run_id, *records));
  return SnapshotOfRecords(std::move(records).value());
}

Result<RunSnapshot> SnapshotOfRecords(std::vector<journal::Record> records) {
  if (records.empty()) return Status::Corruption("no events to read");
  RunSnapshot snap;
  snap.records = std::move(records);
  const std::string& run_id = snap.records.front().run_id;
  Result<std::vector<sm::Event>> events = DecodeEvents(snap.records);
  if (!events.ok()) return events.status().WithContext(fmt::format("run {}", run_id));
  snap.events = std::move(events).value();
  Result<sm::RunState> state = sm::Fold(snap.events);
  if (!state.ok()) return state.status().WithContext(fmt::format("run {}", run_id));
  snap.state = std::move(state).value();
  return snap;
}

Result<plan::Plan> PlanFromJournal(const sm::RunState& state) {
  plan::ParseOutcome parsed = plan::ParsePlan(state.start.plan_text, state.start.plan_file);
  if (!parsed.ok()) {
    std::string first = parsed.diagnostics.empty() ? "" : parsed.diagnostics.front().ToString();
    return Status::Corruption(fmt::format("the plan journaled in RunStarted no longer parses: {}",
                                          first));
  }
  std::vector<std::string> ids;
  for (const plan::Step& s : parsed.plan->steps) ids.push_back(s.id);
  if (ids != state.start.step_ids) {
    return Status::Corruption("the journaled plan's steps differ from RunStarted's step list");
  }
  return std::move(*parsed.plan);
}

Result<std::unique_ptr<RunSession>> RunSession::Create(const journal::Journal& journal,
                                                       const std::string& run_id,
                                                       const plan::Plan& plan,
                                                       const std::string& plan_file,
                                                       SessionOptions options) {
  Result<std::unique_ptr<journal::RunWriter>> writer = journal.CreateRun(run_id);
  if (!writer.ok()) return writer.status();
  std::unique_ptr<RunSession> session(
      new RunSession(journal, std::move(writer).value(), std::move(options)));
  session->plan_ = plan;
  sm::RunStarted started;
  started.plan_name = plan.name;
  started.plan_file = plan_file;
  started.plan_text = plan.text;
  started.plan_sha256 = plan.sha256;
  started.incident = plan.incident;
  for (const plan::Step& s : plan.steps) started.step_ids.push_back(s.id);
  BACKOUT_RETURN_IF_ERROR(session->Append({std::move(started)}));
  return session;
}

Result<std::unique_ptr<RunSession>> RunSession::Open(const journal::Journal& journal,
                                                     const std::string& run_id,
                                                     SessionOptions options) {
  Result<std::unique_ptr<journal::RunWriter>> writer = journal.OpenRun(run_id);
  if (!writer.ok()) return writer.status();
  std::unique_ptr<RunSession> session(
      new RunSession(journal, std::move(writer).value(), std::move(options)));
  BACKOUT_RETURN_IF_ERROR(CheckNotEmpty(journal, run_id, session->writer_->records()));
  Result<RunSnapshot> snap = SnapshotOfRecords(session->writer_->records());
  if (!snap.ok()) return snap.status();
  session->state_ = std::move(snap->state);
  Result<plan::Plan> plan = PlanFromJournal(session->state_);
  if (!plan.ok()) return plan.status().WithContext(fmt::format("run {}", run_id));
  session->plan_ = std::move(plan).value();
  return session;
}

Status RunSession::Append(std::vector<sm::EventBody> bodies) {
  const std::int64_t now = options_.env->NowMicros();
  std::vector<journal::NewRecord> records;
  records.reserve(bodies.size());
  for (sm::EventBody& body : bodies) {
    sm::Event event{.seq = state_.last_seq + 1,
                    .time_us = now,
                    .operator_name = options_.who.operator_name,
                    .host = options_.who.host,
                    .body = std::move(body)};
    Status applied = sm::Apply(state_, event);
    if (!applied.ok()) {
      return Status::FailedPrecondition(
          fmt::format("internal error: refusing to journal an illegal event: {}",
                      applied.message()));
    }
    records.push_back(journal::NewRecord{.time_us = now,
                                         .type = std::string(sm::TypeName(event.body)),
                                         .operator_name = options_.who.operator_name,
                                         .host = options_.who.host,
                                         .payload = sm::EncodePayload(event.body).dump()});
  }
  Result<std::vector<journal::Record>> stored = writer_->Append(records);
  if (!stored.ok()) return stored.status().WithContext("journal append");
  ++appends_;
  if (options_.after_append) options_.after_append(appends_);
  return Status::Ok();
}

}  // namespace backout::engine
