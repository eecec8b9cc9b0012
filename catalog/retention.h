// Retention: which catalogued backups `backout backups prune` deletes (docs/backups.md#retention).
//
// A backup is kept when any of these holds, checked in this order (the first names the
// reason): no run took it (it was only restored from); it is a folder; a hold (a capture) names it; a run that
// has not finished used it, names its file in its plan or has yet to restore its target from a
// variable's file (catalog/catalog.h, UnfinishedRun); the command line's rules keep it
// (--keep-last N: among the N newest backups of its target; --keep-within W: taken within W
// of now); the `retention:` of the plan that took it keeps it (the same rules, counted among
// that plan's backups of the target); no rule applies at all. Otherwise it is deleted.
//
// Pure: no clock (the caller gives `now_us`), no I/O. Thread safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/stream.h"

namespace backout::catalog {

// A backup that must not be deleted whatever the rules say, and why (a capture refers to it).
struct Hold {
  std::string backup_id;
  std::string reason;
};

struct PruneRequest {
  RetentionRules rules;  // from the command line; neither rule given: the plans' rules only
  std::int64_t now_us = 0;
  std::vector<Hold> holds;
};

struct Verdict {
  const Backup* backup = nullptr;  // points into the Catalog given
  bool remove = false;
  std::string reason;  // "kept: ..." or "not kept: ..." in words
};

// One verdict per backup not yet deleted (of rules.target only, when set), in catalog order.
std::vector<Verdict> DecidePrune(const Catalog& catalog, const PruneRequest& request);

// "30d", "2w", or FormatDuration's text for a window that is not whole days.
std::string FormatWindow(std::int64_t window_ms);

}  // namespace backout::catalog
