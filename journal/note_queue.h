// The note queue of a run: notes given with `backout note` while a runner holds the run, so
// that nobody has to wait for a long step to end to annotate it (issue 14). The runner
// journals them (engine::RunSession::Append, before its own events, in the same batch), and
// so does whoever opens the run for writing next, should the runner die first.
//
// Layout: DIR/RUN_ID/notes/ID, one file per note, mode 0600 in a 0700 folder, written whole
// (temp file, fsync, rename, fsync of the folder: base/file_util.h), so a note is either
// queued complete or not at all. IDs are "<20-digit UTC microseconds>-<pid>-<4 hex>": their
// order is the order the notes were queued in.
//
// Exactly once: the journaled NoteAdded carries the note's id (queue_id), the run's state
// remembers the ids journaled (sm::RunState::queued_notes_journaled), and sm::Accept journals
// nothing for an id already journaled; a file is removed only after its note is durable. A
// crash between the two leaves a file the next reader skips and removes.
//
// Thread safety: plain functions; several processes may queue into one run at once.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "journal/journal.h"

namespace backout::journal {

struct QueuedNote {
  std::string id;  // assigned by QueueNote
  std::string operator_name;
  std::string host;
  std::string text;
};

// Queues `note` (its id is ignored) for run `run_id` and returns the id given to it. The run
// must exist (kNotFound otherwise); kIOError if the file cannot be written durably.
Result<std::string> QueueNote(const Journal& journal, const std::string& run_id,
                              const QueuedNote& note);

// The notes queued for a run, oldest first (none when the folder is absent). kCorruption
// naming the file for a note that does not parse (only backout writes the folder).
Result<std::vector<QueuedNote>> QueuedNotes(const Journal& journal, const std::string& run_id);

// Removes a note from the queue once it is journaled; an absent file is no error.
Status RemoveQueuedNote(const Journal& journal, const std::string& run_id, const std::string& id);

}  // namespace backout::journal
