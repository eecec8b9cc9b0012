#include "catalog/read.h"

#include "capture/find.h"
#include "catalog/stream.h"
#include "history/run_history.h"

namespace backout::catalog {

Result<ReadOutcome> ReadCatalog(const journal::Journal& runs, const journal::Journal& stream,
                                const plan::Vocabulary& vocabulary) {
  Result<std::vector<std::string>> run_ids = runs.ListRuns();
  if (!run_ids.ok()) return run_ids.status();
  ReadOutcome outcome;
  CatalogBuilder builder;
  for (const std::string& run_id : *run_ids) {
    Result<history::RunSnapshot> snapshot = history::ReadSnapshot(runs, run_id);
    Result<plan::Plan> plan = snapshot.ok()
                                  ? history::PlanFromJournal(snapshot->state, vocabulary)
                                  : Result<plan::Plan>(snapshot.status());
    if (!plan.ok()) {
      outcome.unreadable.push_back(plan.status());
      continue;
    }
    builder.AddRun(run_id, snapshot->events, snapshot->state, *plan);
    for (capture::Capture& taken : capture::CapturesOfSnapshot(run_id, *snapshot, *plan)) {
      outcome.captures.push_back(std::move(taken));
    }
  }
  Result<std::vector<StreamEvent>> events = ReadStream(stream);
  if (!events.ok()) return events.status();
  for (const StreamEvent& event : *events) {
    if (const auto* deleted = std::get_if<BackupDeleted>(&event.body)) {
      builder.AddDeletion(deleted->location, deleted->sha256, deleted->bytes,
                          Deletion{event.time_us, event.operator_name, event.host,
                                   deleted->outcome});
    }
  }
  outcome.catalog = std::move(builder).Finish();
  return outcome;
}

}  // namespace backout::catalog
