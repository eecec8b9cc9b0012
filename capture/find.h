// Finding a capture in a journal, and checking the backups it took are still intact: what
// `run` does, before it creates a run, for every `capture.NAME` its plan refers to.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "capture/capture.h"
#include "journal/journal.h"
#include "plan/vocabulary.h"

namespace backout::capture {

// Every capture taken by a run of `journal` (rehearsals take none), in the order of the
// runs. A run that cannot be read is skipped, its id and why in `unreadable` (may be null).
// `vocabulary` parses the journaled plans (engine::DefaultPlanVocabulary()).
std::vector<Capture> CapturesInJournal(const journal::Journal& journal,
                                       const plan::Vocabulary& vocabulary,
                                       std::vector<std::string>* unreadable = nullptr);

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

// One finding per local backup of `capture`: the file is there and its sha256 is the one
// journaled when it was taken ("backup of target T at PATH (N bytes, sha256 matches)"), or
// why not (kNotFound, kExpectationFailed). A backup at a URL is not read here.
struct BackupCheck {
  std::string target;
  std::string check;
  Status status;
};
std::vector<BackupCheck> CheckBackups(const Capture& capture);

}  // namespace backout::capture
