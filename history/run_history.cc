#include "history/run_history.h"

#include <fmt/format.h>

#include <thread>

#include "base/json_text.h"
#include "plan/parser.h"

namespace backout::history {

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

Result<sm::Event> DecodeEvent(const journal::Record& r) {
  const nlohmann::json payload = ParseJsonText(r.payload);
  if (payload.is_discarded()) {
    return Status::Corruption(fmt::format("event #{} {}: payload is not valid JSON", r.seq, r.type));
  }
  Result<sm::EventBody> body = sm::DecodePayload(r.type, payload);
  if (!body.ok()) return body.status().WithContext(fmt::format("event #{}", r.seq));
  return sm::Event{.seq = r.seq,
                   .time_us = r.time_us,
                   .operator_name = r.operator_name,
                   .host = r.host,
                   .body = std::move(body).value()};
}

namespace {
// Decodes records[begin, end) into events[begin, end).
Status DecodeRange(const std::vector<journal::Record>& records, std::size_t begin,
                   std::size_t end, std::vector<sm::Event>& events) {
  for (std::size_t i = begin; i < end; ++i) {
    Result<sm::Event> event = DecodeEvent(records[i]);
    if (!event.ok()) return event.status();
    events[i] = std::move(event).value();
  }
  return Status::Ok();
}

// Reads that hold a whole run (export, import: SnapshotOfRecords) decode every payload;
// records decode independently, so from this many on the second half is decoded on another
// thread. (The streamed reads, RunFold, decode on the visiting thread while the journal
// reads ahead on another.)
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

Result<plan::Plan> PlanFromJournal(const sm::RunState& state, const plan::Vocabulary& vocabulary) {
  plan::ParseOutcome parsed =
      plan::ParsePlan(state.start.plan_text, state.start.plan_file, vocabulary);
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

Status RunFold::Add(const journal::Record& record) {
  ++events_;
  if (!decode_failed_.ok()) return Status::Ok();
  Result<sm::Event> event = DecodeEvent(record);
  if (!event.ok()) {
    decode_failed_ = event.status().WithContext(fmt::format("run {}", run_id_));
    return Status::Ok();
  }
  if (!fold_failed_.ok()) return Status::Ok();
  if (visit_) BACKOUT_RETURN_IF_ERROR(visit_(record, *event, state_));
  if (Status applied = sm::Apply(state_, *event); !applied.ok()) {
    fold_failed_ = applied.WithContext(fmt::format("run {}", run_id_));
  }
  return Status::Ok();
}

Result<sm::RunState> RunFold::Finish(const journal::Journal& journal) && {
  if (events_ == 0) return CheckNotEmpty(journal, run_id_, {});
  BACKOUT_RETURN_IF_ERROR(decode_failed_);
  BACKOUT_RETURN_IF_ERROR(fold_failed_);
  return std::move(state_);
}

Result<sm::RunState> FoldRun(const journal::Journal& journal, const std::string& run_id,
                             const EventVisitor& visit) {
  RunFold fold(run_id, visit);
  BACKOUT_RETURN_IF_ERROR(
      journal.ScanRun(run_id, [&](const journal::Record& record) { return fold.Add(record); }));
  return std::move(fold).Finish(journal);
}

Result<std::optional<RunOutcomes>> ReadOutcomes(
    const journal::Journal& journal, const std::string& run_id,
    const std::function<bool(const journal::Record& first)>& wanted) {
  RunOutcomes outcomes;
  RunFold fold(run_id, [&](const journal::Record&, const sm::Event& event, const sm::RunState&) {
    if (std::holds_alternative<sm::RunStarted>(event.body) ||
        std::holds_alternative<sm::StepSucceeded>(event.body) ||
        std::holds_alternative<sm::StepFailed>(event.body)) {
      outcomes.events.push_back(event);
    }
    return Status::Ok();
  });
  bool turned_down = false;
  const Status scanned = journal.ScanRun(run_id, [&](const journal::Record& record) {
    if (fold.events() == 0 && wanted && !wanted(record)) {
      turned_down = true;
      return Status::Cancelled("run passed over");  // stops the scan
    }
    return fold.Add(record);
  });
  if (turned_down) return std::optional<RunOutcomes>();
  BACKOUT_RETURN_IF_ERROR(scanned);
  Result<sm::RunState> state = std::move(fold).Finish(journal);
  if (!state.ok()) return state.status();
  outcomes.state = std::move(state).value();
  return std::optional<RunOutcomes>(std::move(outcomes));
}

Result<sm::RunState> StateOfRecords(const journal::Journal& journal, const std::string& run_id,
                                    const std::vector<journal::Record>& records) {
  BACKOUT_RETURN_IF_ERROR(CheckNotEmpty(journal, run_id, records));
  std::vector<sm::Event> events;
  sm::RunState state;
  BACKOUT_RETURN_IF_ERROR(DecodeAndFold(records, &events, &state));
  return state;
}

}  // namespace backout::history
