// Whether a catalogued backup is still there and intact, and deleting one: the catalog's only
// effects on backups. Local backups are read with the file system, backups at a URL through an
// ObjectStore (catalog/object_store.h); without one they cannot be checked (kUnknown).
#pragma once

#include <string>

#include "base/status.h"
#include "catalog/catalog.h"
#include "catalog/object_store.h"

namespace backout::catalog {

enum class Condition {
  kPresent,  // there with the journaled size (not re-hashed)
  kIntact,   // re-read: the journaled size and sha256
  kMissing,  // nothing there, and no deletion journaled
  kChanged,  // something else there: another size or sha256
  kDeleted,  // deleted by prune (journaled)
  kUnknown,  // could not be checked (no object store, an error): `detail` says why
};
std::string_view ToString(Condition condition);  // "present", "intact", "missing", ...

struct Finding {
  Condition condition = Condition::kUnknown;
  std::string detail;  // for people; "" when the condition says it all
};

// Cheap: stats the file (Head for an object) and compares the size. `store` may be null.
Finding Look(const Backup& backup, ObjectStore* store);
// Re-reads and re-hashes. A folder (json_store) is only looked at: its sha256 is the json_store
// adapter's tree digest, which is not recomputed here (kPresent, saying so).
Finding Verify(const Backup& backup, ObjectStore* store);

// Deletes the backup after re-hashing it: "deleted", or "already_absent" when nothing is
// there. kFailedPrecondition (nothing deleted) when what is there is not the backup (another
// size or sha256) or is a folder; kUnavailable for a URL without an object store.
Result<std::string> Delete(const Backup& backup, ObjectStore* store);

}  // namespace backout::catalog
