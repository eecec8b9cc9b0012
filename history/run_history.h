// Reading a run's history: journal records -> events -> folded state, and the plan journaled
// in its RunStarted. Read-only: nothing here writes the journal or locks a run; `status`,
// `events`, `verify`, `export`, `import`, `replay` and `report` read through it, and
// engine::RunSession (which writes) folds the records it opens with it (RunFold).
//
// No clock, no adapters; the only I/O is the journal's read. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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
// Decodes one record into its event (kCorruption naming the record on failure).
Result<sm::Event> DecodeEvent(const journal::Record& record);

// What a one-pass read of a run (FoldRun) shows its caller of each record: the record as
// stored, its event, and the state the events before it fold to (the event is applied right
// after the call; a replay compares its decision with that state). An error stops the read
// and is returned.
using EventVisitor =
    std::function<Status(const journal::Record&, const sm::Event&, const sm::RunState&)>;

// A run folded record by record (a journal::Journal::RecordVisitor: Add), as SnapshotOfRecords
// folds it, holding only the state: memory is bounded by the run's steps, not its events.
// The errors are SnapshotOfRecords', in its order: a record that does not decode is reported
// before any record that is not an allowed transition, whatever their seqs (Add keeps
// decoding after a bad transition and applies nothing after one), and both only by Finish, so
// that what the journal itself finds (a broken chain, a head mismatch) comes first. The
// visitor sees the records up to the first failure (the one that does not apply included).
// Not thread-safe.
class RunFold {
 public:
  explicit RunFold(std::string run_id, EventVisitor visit = nullptr)
      : run_id_(std::move(run_id)), visit_(std::move(visit)) {}
  Status Add(const journal::Record& record);
  // The folded state once every record was added: kCorruption, saying the history was lost,
  // if there were none, else the first failure as described above.
  Result<sm::RunState> Finish(const journal::Journal& journal) &&;
  std::uint64_t events() const { return events_; }
  const sm::RunState& state() const { return state_; }

 private:
  std::string run_id_;
  EventVisitor visit_;
  sm::RunState state_;
  std::uint64_t events_ = 0;
  Status decode_failed_;
  Status fold_failed_;
};

// A run read and folded in one pass (journal::Journal::ScanRun): the state it folds to, with
// SnapshotOfRecords' errors; `visit` sees each record as it is folded.
Result<sm::RunState> FoldRun(const journal::Journal& journal, const std::string& run_id,
                             const EventVisitor& visit = nullptr);

// A run read and folded in one pass, keeping of its events only RunStarted and the steps'
// outcomes (StepSucceeded, StepFailed): what the backup catalog and the captures read of
// every run in a journal. Memory is bounded by the run's step attempts, not its events.
struct RunOutcomes {
  std::vector<sm::Event> events;  // RunStarted, then the outcomes in seq order
  sm::RunState state;
};
// FoldRun's errors. nullopt when `wanted` (if given) turns down the run's first record: the
// rest of the run is then neither read nor checked.
Result<std::optional<RunOutcomes>> ReadOutcomes(
    const journal::Journal& journal, const std::string& run_id,
    const std::function<bool(const journal::Record& first)>& wanted = nullptr);

// A run with every record and event kept: what export and import hold of a run (a command
// that only reads a run streams it with FoldRun instead).
struct RunSnapshot {
  std::vector<journal::Record> records;
  std::vector<sm::Event> events;
  sm::RunState state;
};
// The snapshot of records already read and chain-checked (journal::Journal::ReadRun, or an
// export read with journal::ReadExportFile): decodes and folds them. kCorruption if there
// are none, or an event does not decode or is not an allowed transition.
Result<RunSnapshot> SnapshotOfRecords(std::vector<journal::Record> records);

// The state `records` (read and chain-checked already, of run `run_id` in `journal`) fold
// to, as SnapshotOfRecords folds them: kCorruption, saying the history was lost and how to keep
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
