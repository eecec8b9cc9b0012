#include "engine/session.h"

#include <fmt/format.h>

#include "base/utf8.h"
#include "engine/plan_check.h"
#include "history/run_history.h"
#include "journal/note_queue.h"
#include "statemachine/operator.h"

namespace backout::engine {

Result<std::unique_ptr<RunSession>> RunSession::Create(const journal::Journal& journal,
                                                       const std::string& run_id,
                                                       const plan::Plan& plan,
                                                       const std::string& plan_file,
                                                       SessionOptions options, bool rehearsal,
                                                       sm::PreflightRecord preflight,
                                                       nlohmann::json captures) {
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
  started.preflight = std::move(preflight);
  started.captures = std::move(captures);
  for (const plan::Step& s : plan.steps) started.step_ids.push_back(s.id);
  BACKOUT_RETURN_IF_ERROR(session->Append({std::move(started)}));
  return session;
}

Result<std::unique_ptr<RunSession>> RunSession::Open(const journal::Journal& journal,
                                                     const std::string& run_id,
                                                     SessionOptions options) {
  // The run is folded in the pass that checks it for the writer: read once, and only the
  // state is kept (memory bounded by the plan's steps, not the run's events).
  history::RunFold fold(run_id);
  Result<std::unique_ptr<journal::RunWriter>> writer =
      journal.OpenRun(run_id, [&](const journal::Record& record) { return fold.Add(record); });
  if (!writer.ok()) return writer.status();
  std::unique_ptr<RunSession> session(
      new RunSession(journal, std::move(writer).value(), std::move(options)));
  Result<sm::RunState> state = std::move(fold).Finish(journal);
  if (!state.ok()) return state.status();
  session->state_ = std::move(state).value();
  Result<plan::Plan> plan = history::PlanFromJournal(session->state_, DefaultPlanVocabulary());
  if (!plan.ok()) return plan.status().WithContext(fmt::format("run {}", run_id));
  session->plan_ = std::move(plan).value();
  return session;
}

std::vector<RunSession::Authored> RunSession::QueuedNoteEvents(
    std::vector<std::string>* taken) const {
  std::vector<Authored> events;
  if (state_.last_seq == 0) return events;  // no run yet, so no queue
  Result<std::vector<journal::QueuedNote>> queued = journal::QueuedNotes(journal_, run_id());
  if (!queued.ok()) return events;  // stays queued: a note never stops a run
  for (journal::QueuedNote& note : *queued) {
    taken->push_back(note.id);
    Result<sm::EventBatch> accepted = sm::Accept(
        state_, plan_, run_id(), sm::NoteCommand{std::move(note.text), note.id});
    if (!accepted.ok()) continue;  // never: a note is always accepted
    for (sm::EventBody& body : *accepted) {
      events.push_back(Authored{std::move(body), Identity{note.operator_name, note.host}});
    }
  }
  return events;
}

Status RunSession::Append(std::vector<sm::EventBody> bodies) {
  std::vector<std::string> taken;
  std::vector<Authored> batch = QueuedNoteEvents(&taken);
  for (sm::EventBody& body : bodies) batch.push_back(Authored{std::move(body), options_.who});
  if (batch.empty()) {
    for (const std::string& id : taken) (void)journal::RemoveQueuedNote(journal_, run_id(), id);
    return Status::Ok();
  }
  const std::int64_t now = options_.env->NowMicros();
  std::vector<journal::NewRecord> records;
  records.reserve(batch.size());
  for (auto& [body, who] : batch) {
    // The envelope's names come from the command line and the system: any bytes.
    const std::string operator_name = MarkInvalidUtf8(who.operator_name);
    const std::string host = MarkInvalidUtf8(who.host);
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
  // Durable now; a file left by a failed removal is skipped by the next reader (sm::Accept).
  for (const std::string& id : taken) (void)journal::RemoveQueuedNote(journal_, run_id(), id);
  ++appends_;
  if (options_.after_append) options_.after_append(appends_);
  return Status::Ok();
}

}  // namespace backout::engine
