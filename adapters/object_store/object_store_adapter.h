// Object storage for every adapter that writes backup files: one wrapper around an adapter,
// not one per adapter. A `backup` whose `to` is an s3://BUCKET/PREFIX/ URL runs
// the wrapped adapter with `to` pointed at a staging folder in the run's journal folder, then
// uploads the file it made (transfer.h: in parts, resumable, sha256 checked) and drops the
// staged copy; a `restore` (or `import`) whose `from` is an s3:// URL downloads the object
// and checks its sha256 BEFORE the wrapped adapter touches the target. Any other
// `scheme://` in `to`/`from`, and any URL in another action's `to` (DynamoDB's `export`
// writes a folder), is refused at validate. The target's `object_store` mapping
// (store_settings.h) says where the store is; the wrapped adapter never sees it.
//
// Outputs of an upload: the wrapped adapter's, without its `path` (the staged file is gone),
// plus `url` (s3://BUCKET/KEY), `endpoint`, `region`, `path_style`, `bytes`, `sha256`,
// `parts` and `parts_resumed`. Of a download: the wrapped adapter's with `from` = the URL,
// plus `url`, `endpoint`, `region`, `path_style`.
//
// Crash semantics: a staged backup and its record (staged.json) survive in the run's journal
// folder (LOG_DIR/STEP.object-store/); the multipart upload id and the acknowledged parts are
// journaled as the step's checkpoints (Invocation::checkpoint, StepCheckpoint events). A
// later attempt of the same step (a retry, `resume`) finds a staged file that is whole (its
// sha256 recorded) and goes on uploading it with the parts the checkpoints name, without
// running the backup again nor re-sending acknowledged parts. Once uploaded, staged.json says
// so and a later attempt only checks the object.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

// What `inner`'s backup makes: one file (uploaded as one object), or a folder of files
// (json_store), which does not go to object storage yet: a backup of it to a URL is refused
// at validate.
enum class BackupShape { kFile, kFolder };

// `inner` with object storage for its backup and restore/import actions; other
// actions, and local paths, go to `inner` unchanged.
std::unique_ptr<Adapter> WithObjectStore(std::unique_ptr<Adapter> inner,
                                         BackupShape shape = BackupShape::kFile);

}  // namespace backout::adapters
