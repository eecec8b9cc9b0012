// RunSession: one run opened for writing: its journal writer, its plan (parsed from the
// journaled text, never the file on disk) and its folded state, kept in step.
//
// Append() first takes the notes queued for the run (journal/note_queue.h): they are journaled
// in the same batch, before the caller's events, each under its own author's name and host,
// and removed from the queue once durable. So a runner journals a note given during a long
// step with the step's outcome, and any later writer of a run whose runner died journals what
// that runner had not taken. A queue that cannot be read never stops a run: the notes stay
// queued for the next append.
//
// Append() applies each event to the in-memory state BEFORE journaling it, so an event the
// transition table forbids is never written; then it writes the batch durably. If the write
// fails the session must not be used further (the state is ahead of the journal): the caller
// reports the error and exits.
//
// Thread safety: one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/env.h"
#include "journal/journal.h"
#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::engine {

struct Identity {
  std::string operator_name;
  std::string host;
};

struct SessionOptions {
  Env* env = nullptr;
  Identity who;
  // Called after every durable append with the number of appends so far in this process.
  // Used by `run` to print the run id once the first append has created the run, and for
  // fault injection (BACKOUT_CRASH_AFTER_APPENDS); empty for none.
  std::function<void(int)> after_append;
};

class RunSession {
 public:
  // Creates a run and journals its RunStarted (`rehearsal`: against throwaway copies of the
  // targets, see engine/rehearsal.h; `preflight`: what was checked before, engine/preflight.h;
  // `captures`: the captures the plan refers to, resolved, sm::RunStarted::captures).
  static Result<std::unique_ptr<RunSession>> Create(const journal::Journal& journal,
                                                    const std::string& run_id,
                                                    const plan::Plan& plan,
                                                    const std::string& plan_file,
                                                    SessionOptions options,
                                                    bool rehearsal = false,
                                                    sm::PreflightRecord preflight = {},
                                                    nlohmann::json captures =
                                                        nlohmann::json::array());

  // Opens an existing run for writing (kLocked when another runner holds it).
  static Result<std::unique_ptr<RunSession>> Open(const journal::Journal& journal,
                                                  const std::string& run_id,
                                                  SessionOptions options);

  // Journals the queued notes and `bodies` as one durable batch (see the class comment).
  // With no bodies, journals only the queued notes (nothing when there are none).
  Status Append(std::vector<sm::EventBody> bodies);

  const sm::RunState& state() const { return state_; }
  const plan::Plan& plan() const { return plan_; }
  const std::string& run_id() const { return writer_->run_id(); }
  const journal::Journal& journal() const { return journal_; }
  Env* env() const { return options_.env; }
  const Identity& identity() const { return options_.who; }

 private:
  // An event and who it is journaled as.
  struct Authored {
    sm::EventBody body;
    Identity who;
  };
  // The NoteAdded events of the queued notes not journaled yet, in queue order; `taken` gets
  // the id of every queued note read (journaled before or now), to remove once durable.
  std::vector<Authored> QueuedNoteEvents(std::vector<std::string>* taken) const;

  RunSession(const journal::Journal& journal, std::unique_ptr<journal::RunWriter> writer,
             SessionOptions options)
      : journal_(journal), writer_(std::move(writer)), options_(std::move(options)) {}

  journal::Journal journal_;
  std::unique_ptr<journal::RunWriter> writer_;
  SessionOptions options_;
  sm::RunState state_;
  plan::Plan plan_;
  int appends_ = 0;
};

}  // namespace backout::engine
