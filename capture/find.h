// Finding a capture in a journal, and checking the backups it took are still intact: what
// `run` does, before it creates a run, for every `capture.NAME` its plan refers to.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "capture/capture.h"
#include "history/run_history.h"
#include "journal/journal.h"
#include "plan/vocabulary.h"

namespace backout::capture {

// Every capture taken by a run of `journal` (rehearsals take none), in the order of the
// runs. A run that cannot be read is skipped, its id and why in `unreadable` (may be null).
// `vocabulary` parses the journaled plans (engine::DefaultPlanVocabulary()).
std::vector<Capture> CapturesInJournal(const journal::Journal& journal,
                                       const plan::Vocabulary& vocabulary,
                                       std::vector<std::string>* unreadable = nullptr);

// The captures a run read already (its outcomes and journaled plan) took, as CapturesOfRun.
std::vector<Capture> CapturesOfOutcomes(const std::string& run_id,
                                        const history::RunOutcomes& outcomes,
                                        const plan::Plan& plan);

// The latest capture named `name` (the one whose last step succeeded last). kNotFound saying
// how to take it when the journal holds none.
Result<Capture> FindCapture(const journal::Journal& journal, const plan::Vocabulary& vocabulary,
                            const std::string& name);

// The captures `plan` refers to (NamesUsed), each the latest of its name in `journal`, as
// the JSON array journaled in sm::RunStarted::captures; checked with CheckUses. kNotFound for
// a capture the journal lacks; kFailedPrecondition for one that lacks what a use needs.
Result<nlohmann::json> ResolveCaptures(const journal::Journal& journal,
                                       const plan::Vocabulary& vocabulary,
                                       const plan::Plan& plan);

// The size and recorded sha256 of a backup kept at a URL, as its store answers (an S3 HEAD):
// kNotFound when the object is not there. `sha256` is "" when the object records none.
struct StoredObject {
  std::uint64_t bytes = 0;
  std::string sha256;
};
using HeadObjectFn = std::function<Result<StoredObject>(const CapturedBackup& backup)>;

// One finding per backup of `capture`: a local file is there and its sha256 is the one
// journaled when it was taken ("backup of target T at PATH (N bytes, sha256 matches)"); an
// object at a URL is there (asked through `head_object`) with the journaled size and, when it
// records one, sha256; or why not (kNotFound, kExpectationFailed, or the store's error).
struct BackupCheck {
  std::string target;
  std::string check;
  Status status;
};
std::vector<BackupCheck> CheckBackups(const Capture& capture, const HeadObjectFn& head_object);

}  // namespace backout::capture
