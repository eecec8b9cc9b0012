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
    // Of each run, its state and its steps' outcomes: memory does not grow with its events.
    Result<std::optional<history::RunOutcomes>> read = history::ReadOutcomes(runs, run_id);
    Result<plan::Plan> plan = read.ok() ? history::PlanFromJournal((*read)->state, vocabulary)
                                        : Result<plan::Plan>(read.status());
    if (!plan.ok()) {
      outcome.unreadable.push_back(plan.status());
      continue;
    }
    const history::RunOutcomes& run = **read;
    builder.AddRun(run_id, run.events, run.state, *plan);
    for (capture::Capture& taken : capture::CapturesOfOutcomes(run_id, run, *plan)) {
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
