// Reading the catalog of a journal directory: every run (read-only, as `status` reads them)
// and the catalog stream, folded by CatalogBuilder (catalog/catalog.h).
#pragma once

#include <vector>

#include "base/status.h"
#include "capture/capture.h"
#include "catalog/catalog.h"
#include "journal/journal.h"
#include "plan/vocabulary.h"

namespace backout::catalog {

struct ReadOutcome {
  Catalog catalog;
  // Runs that could not be read (a damaged journal: kCorruption), each naming its run. Their
  // backups are missing from the catalog, so prune refuses to decide while there are any.
  std::vector<Status> unreadable;
  // Every capture the readable runs took (capture::CapturesOfOutcomes), in run order: read in
  // the same pass, so prune knows what captures hold without reading the runs again.
  std::vector<capture::Capture> captures;
};

// `runs` is the journal of runs, `stream` the Journal of StreamDir(runs.dir()) with the same
// key; `vocabulary` parses the journaled plans (engine::DefaultPlanVocabulary()). Fails only
// when the run list or the catalog stream cannot be read.
Result<ReadOutcome> ReadCatalog(const journal::Journal& runs, const journal::Journal& stream,
                                const plan::Vocabulary& vocabulary);

}  // namespace backout::catalog
