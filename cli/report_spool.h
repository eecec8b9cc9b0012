// What `backout report` keeps of the lists that grow with a run's events (the timeline, its
// notes, decisions, ...; report::EventListSizes) while one pass checks the run and sums it
// up: every entry, encoded (report/entry_codec.h), in a RecordSpool per list (in memory up to
// 1 MiB each, then in a private unlinked temporary file, base/record_spool.h). The report is
// then written from the summary and the spools, without reading the run again: one pass
// instead of one more per long list (docs/report.md).
//
// Memory: 1 MiB per list plus one entry. Errors: Keep returns the spool's kIOError (a full
// disk, an unwritable TMPDIR); the spool is then of no use, and the caller makes the lists
// again by passes over the run (report::ListsFromPasses). Not thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include "base/record_spool.h"
#include "base/status.h"
#include "report/render.h"
#include "report/report.h"

namespace backout::cli {

class ReportSpool {
 public:
  // Keeps what a ReportBuilder in Lists::kHandOver finished in its last call: `entry` is the
  // timeline entry its Add returned (nullptr after EndOfEvents), `made` its made().
  Status Keep(const report::TimelineEntry* entry, const report::RunReport& made);

  // The lists kept, each scanned by reading its spool back; valid while this spool is.
  report::EventLists Lists() const;

 private:
  RecordSpool timeline_, decisions_, errors_, notes_, triage_, interruptions_, preflight_,
      logs_;
  std::size_t key_moments_ = 0;
  std::string encoded_;  // the entry being kept, reused
};

}  // namespace backout::cli
