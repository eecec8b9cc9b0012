// Reading a run's history: journal records -> events -> folded state, and the plan journaled
// in its RunStarted. Read-only: nothing here writes the journal or locks a run; `status`,
// `events`, `verify`, `export`, `import`, `replay` and `report` read through it, and
// engine::RunSession (which writes) folds the records it opened with it.
//
// No clock, no adapters; the only I/O is the journal's read. Thread safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "journal/journal.h"
#include "plan/plan.h"
#include "plan/vocabulary.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::history {

// Decodes journal records into events (kCorruption naming the record on failure).
Result<std::vector<sm::Event>> DecodeEvents(const std::vector<journal::Record>& records);
// One record's event, as DecodeEvents decodes each (a run read record by record, ScanRun).
Result<sm::Event> DecodeEvent(const journal::Record& record);

// A run read and folded without locking it (status, events, report, verify).
struct RunSnapshot {
  std::vector<journal::Record> records;
  std::vector<sm::Event> events;
  sm::RunState state;
};
Result<RunSnapshot> ReadSnapshot(const journal::Journal& journal, const std::string& run_id);
// The snapshot of records already read and chain-checked elsewhere (an export read with
// journal::ReadExportFile): decodes and folds them as ReadSnapshot does. kCorruption if there
// are none, or an event does not decode or is not an allowed transition.
Result<RunSnapshot> SnapshotOfRecords(std::vector<journal::Record> records);

// The state `records` (read and chain-checked already, of run `run_id` in `journal`) fold
// to, as ReadSnapshot folds them: kCorruption, saying the history was lost and how to keep
// the evidence, when there are none; kCorruption naming the record when one does not decode
// or is not an allowed transition.
Result<sm::RunState> StateOfRecords(const journal::Journal& journal, const std::string& run_id,
                                    const std::vector<journal::Record>& records);

// Parses the plan text journaled in RunStarted with the target types and actions of
// `vocabulary` (the adapters' registry's: engine::DefaultPlanVocabulary()). A journaled plan
// that no longer parses is a journal problem (kCorruption), since it parsed when the run
// started.
Result<plan::Plan> PlanFromJournal(const sm::RunState& state, const plan::Vocabulary& vocabulary);

}  // namespace backout::history
