// Step logs (the sections of RUN/logs/run.log, adapters/common/run_log.h, named by
// adapters::LogFileName; runs of earlier versions have a file of that name in RUN/logs/ for
// each) travelling with a run:
// collected for `backout export --with-logs`, checked and restored by `backout import`. What
// vouches for a log is the digest its outcome event journaled (sm::LogDigest), which the hash
// chain covers; docs/journal-format.md#step-logs-in-an-export.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"
#include "journal/export.h"
#include "statemachine/events.h"

namespace backout::cli {

// Every step log in `log_dir` (a section of run.log, or a file of the earlier layout, named
// STEP.ATTEMPT.log; a check's STEP.check.ATTEMPT.log; both for one name: the file's bytes,
// then the section's), by file name, ready for the export. A truncated last frame of run.log
// (a crash while it was written) is left out: the attempt's log ends before it. A log whose
// digest `events` journaled goes as journaled and must match it; one without (an attempt in
// doubt: its runner died before the outcome; a check's log) goes as unverified. kCorruption
// naming the step when a log does not match its journaled digest or a journaled log is
// missing, or when run.log is damaged (offset, what was expected); kIOError when one cannot
// be read.
Result<std::vector<journal::ExportedLog>> CollectStepLogs(const std::vector<sm::Event>& events,
                                                          const std::filesystem::path& log_dir);

// Checks the log lines of an export against the digests its (already verified) `events`
// journaled. kCorruption naming the step for a log that does not match its journaled digest,
// claims a digest the journal does not hold, or comes twice, and, when the export carries
// logs at all, for a journaled log it lacks. Returns the files that are unverified.
Result<std::vector<std::string>> CheckExportedLogs(
    const std::vector<sm::Event>& events, const std::vector<journal::ExportedLog>& logs);

// Writes the logs into `log_dir` (which exists) as the frames of a new run.log, mode 0600,
// atomically. kInvalidArgument for a file name a run log cannot hold.
Status RestoreStepLogs(const std::vector<journal::ExportedLog>& logs,
                       const std::filesystem::path& log_dir);

}  // namespace backout::cli
