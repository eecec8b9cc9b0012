// `backout backups list|show|verify|prune`: the backup catalog and retention
// (catalog/, docs/backups.md). Each returns the process exit code (docs/cli.md#exit-codes):
// 0 done; 1 a backup is not there or not intact, or prune could not delete one; 2 usage
// (bad rule, unknown or ambiguous id); 4 a run or the catalog stream is damaged;
// 5 another prune holds the catalog stream.
//
// `objects` reads and deletes backups kept at a URL (s3://...); null: such backups are shown
// but cannot be checked or deleted here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/object_store.h"
#include "cli/commands.h"

namespace backout::cli {

// Every catalogued backup (of `target` only, when not empty), with whether it is still there
// (size checked, not re-hashed). 4 (after listing the rest) when a run cannot be read.
int BackupsList(const Common& c, catalog::ObjectStore* objects, const std::string& target,
                bool json);
// One backup in full: every run that used it, its deletion, whether it is still there.
int BackupsShow(const Common& c, catalog::ObjectStore* objects, const std::string& id, bool json);
// Re-reads and re-hashes the given backups (every one not deleted when `ids` is empty).
// 1 when one is missing, changed, deleted or could not be checked.
int BackupsVerify(const Common& c, catalog::ObjectStore* objects,
                  const std::vector<std::string>& ids, bool json);

struct PruneOptions {
  std::optional<int> keep_last;
  std::string keep_within;  // "" when not given; "30d", "2w", "36h"
  std::string target;
  bool dry_run = false;
};
// Shows every verdict (catalog/retention.h) first; then, unless `dry_run`, journals the
// decision in the catalog stream, deletes and journals each deletion. Refuses (4) while a run
// cannot be read, since its backups and references are unknown.
int BackupsPrune(const Common& c, catalog::ObjectStore* objects, const PruneOptions& options);

}  // namespace backout::cli
