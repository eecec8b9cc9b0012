#include "engine/session.h"

#include <fmt/format.h>

#include <thread>

#include "base/utf8.h"
#include "engine/plan_check.h"
#include "plan/parser.h"

namespace backout::engine {

namespace {
// A run with no events at all. The journal publishes a run only once its first batch
// (RunStarted) and head file are durable, and checks the records against that head, so this
// cannot come from a crash: the history was lost. Say what is known, and never advise removing
// the directory, which is the only evidence of what the run did.
Status CheckNotEmpty(const journal::Journal& journal, const std::string& run_id,
                     const std::vector<journal::Record>& records) {
  if (!records.empty()) return Status::Ok();
  const std::string dir = (journal.dir() / run_id).string();
  return Status::Corruption(fmt::format(
      "run {} has no events in {}: its history was lost, so nothing can be resumed from it. "
      "Steps may have changed the targets: check them by hand. Keep the evidence: copy the "
      "whole directory, out of the journal (cp -a {} ~/backout-evidence-{}), and do not remove "
      "it",
      run_id, dir, dir, run_id));
}
}  // namespace

namespace {
// Decodes records[begin, end) into events[begin, end).
Status DecodeRange(const std::vector<journal::Record>& records, std::size_t begin,
                   std::size_t end, std::vector<sm::Event>& events) {
  for (std::size_t i = begin; i < end; ++i) {
    const journal::Record& r = records[i];
    nlohmann::json payload = nlohmann::json::parse(r.payload, nullptr, /*allow_exceptions=*/false);
    if (payload.is_discarded()) {
      return Status::Corruption(fmt::format("event #{} {}: payload is not valid JSON", r.seq, r.type));
    }
    Result<sm::EventBody> body = sm::DecodePayload(r.type, payload);
    if (!body.ok()) return body.status().WithContext(fmt::format("event #{}", r.seq));
    events[i] = sm::Event{.seq = r.seq,
                          .time_us = r.time_us,
                          .operator_name = r.operator_name,
                          .host = r.host,
                          .body = std::move(body).value()};
  }
  return Status::Ok();
}

// Parsing the JSON payloads is most of the time it takes to read a long run (resume, status,
// report); records decode independently, so from this many on the second half is parsed on
// another thread.
constexpr std::size_t kParallelDecodeRecords = 20'000;
}  // namespace

Result<std::vector<sm::Event>> DecodeEvents(const std::vector<journal::Record>& records) {
  std::vector<sm::Event> events(records.size());
  const bool split =
      records.size() >= kParallelDecodeRecords && std::thread::hardware_concurrency() > 1;
  const std::size_t half = split ? records.size() / 2 : records.size();
  Status second_half;
  std::thread worker;
  if (split) {
    worker = std::thread(
        [&] { second_half = DecodeRange(records, half, records.size(), events); });
  }
  const Status first_half = DecodeRange(records, 0, half, events);
  if (worker.joinable()) worker.join();
  // The first bad record in seq order is the one reported.
  BACKOUT_RETURN_IF_ERROR(first_half);
  BACKOUT_RETURN_IF_ERROR(second_half);
  return events;
}

Result<RunSnapshot> ReadSnapshot(const journal::Journal& journal, const std::string& run_id) {
  Result<std::vector<journal::Record>> records = journal.ReadRun(run_id);
  if (!records.ok()) return records.status();
  BACKOUT_RETURN_IF_ERROR(CheckNotEmpty(journal, run_id, *records));
  return SnapshotOfRecords(std::move(records).value());
}

namespace {
// The events of `records` (read and chain-checked already) and the state they fold to.
Status DecodeAndFold(const std::vector<journal::Record>& records, std::vector<sm::Event>* events,
                     sm::RunState* state) {
  if (records.empty()) return Status::Corruption("no events to read");
  const std::string& run_id = records.front().run_id;
  Result<std::vector<sm::Event>> decoded = DecodeEvents(records);
  if (!decoded.ok()) return decoded.status().WithContext(fmt::format("run {}", run_id));
  *events = std::move(decoded).value();
  Result<sm::RunState> folded = sm::Fold(*events);
  if (!folded.ok()) return folded.status().WithContext(fmt::format("run {}", run_id));
  *state = std::move(folded).value();
  return Status::Ok();
}
}  // namespace

Result<RunSnapshot> SnapshotOfRecords(std::vector<journal::Record> records) {
  RunSnapshot snap;
  snap.records = std::move(records);
  BACKOUT_RETURN_IF_ERROR(DecodeAndFold(snap.records, &snap.events, &snap.state));
  return snap;
}

Result<plan::Plan> PlanFromJournal(const sm::RunState& state) {
  plan::ParseOutcome parsed = plan::ParsePlan(state.start.plan_text, state.start.plan_file,
                                                 DefaultPlanVocabulary());
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
                                                       SessionOptions options, bool rehearsal) {
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
  started.rehearsal = rehearsal;
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
  // The writer keeps the records; folding them in place spares a copy of a long run.
  std::vector<sm::Event> events;
  BACKOUT_RETURN_IF_ERROR(DecodeAndFold(session->writer_->records(), &events, &session->state_));
  Result<plan::Plan> plan = PlanFromJournal(session->state_);
  if (!plan.ok()) return plan.status().WithContext(fmt::format("run {}", run_id));
  session->plan_ = std::move(plan).value();
  return session;
}

Status RunSession::Append(std::vector<sm::EventBody> bodies) {
  const std::int64_t now = options_.env->NowMicros();
  // The envelope's names come from the command line and the system: any bytes.
  const std::string operator_name = MarkInvalidUtf8(options_.who.operator_name);
  const std::string host = MarkInvalidUtf8(options_.who.host);
  std::vector<journal::NewRecord> records;
  records.reserve(bodies.size());
  for (sm::EventBody& body : bodies) {
    // Paths, environment values, outputs and command output may hold bytes that are not
    // UTF-8, which JSON cannot carry (dump() would throw, after the effect). Marking them
    // here, for every event, makes an unencodable event impossible; the body is rebuilt from
    // the marked payload so that the state holds exactly what a later fold of the journal
    // will (a resumed run sees the same values).
    nlohmann::json payload = sm::EncodePayload(body);
    if (MarkInvalidUtf8InPlace(payload)) {
      Result<sm::EventBody> marked = sm::DecodePayload(sm::TypeName(body), payload);
      if (!marked.ok()) {
        return Status::FailedPrecondition(fmt::format(
            "internal error: an event with marked bytes does not decode: {}",
            marked.status().message()));
      }
      body = std::move(marked).value();
    }
    sm::Event event{.seq = state_.last_seq + 1,
                    .time_us = now,
                    .operator_name = operator_name,
                    .host = host,
                    .body = std::move(body)};
    Status applied = sm::Apply(state_, event);
    if (!applied.ok()) {
      return Status::FailedPrecondition(
          fmt::format("internal error: refusing to journal an illegal event: {}",
                      applied.message()));
    }
    records.push_back(journal::NewRecord{.time_us = now,
                                         .type = std::string(sm::TypeName(event.body)),
                                         .operator_name = operator_name,
                                         .host = host,
                                         // Marked above, so `replace` never acts; no
                                         // input can make this throw.
                                         .payload = payload.dump(
                                             -1, ' ', false,
                                             nlohmann::json::error_handler_t::replace)});
  }
  Result<std::span<const journal::Record>> stored = writer_->Append(records);
  if (!stored.ok()) return stored.status().WithContext("journal append");
  ++appends_;
  if (options_.after_append) options_.after_append(appends_);
  return Status::Ok();
}

}  // namespace backout::engine
