// The backup catalog: every backup any run of a journal took or restored from, derived from
// the runs' journaled step outputs and from the journal-wide catalog stream (deletions and
// retention decisions, catalog/stream.h). Nothing here is stored apart from the journal: the
// catalog is replayed like everything else (docs/backups.md#catalog).
//
// A backup is what one step output names: a location (an absolute local path, or an object
// URL such as s3://bucket/key) with its size and sha256. Its id is the first 12 hex digits of
// SHA-256 over location and sha256, so every run that names the same bytes at the same place
// names the same backup, and a later backup written to the same path is another one. A
// restore whose journaled `from` was masked (a `${VAR}`, shown as ***) is matched by sha256
// alone, to every backup with those bytes.
//
// Pure: no I/O (ReadCatalog in catalog/read.h reads the journal). Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::catalog {

// How a run used a backup: it took it (backup, export) or read it (restore, import).
enum class Use { kTaken, kRestoredFrom };
std::string_view ToString(Use use);  // "taken", "restored_from"

struct BackupUse {
  Use use = Use::kTaken;
  std::string run_id;
  std::string plan_name;
  std::string step;
  int attempt = 1;
  std::int64_t time_us = 0;  // of the step outcome that named it
  std::string operator_name;
  bool run_finished = false;  // the run has ended (succeeded, failed or aborted)
};

// A deletion journaled in the catalog stream (BackupDeleted).
struct Deletion {
  std::int64_t time_us = 0;
  std::string operator_name;
  std::string host;
  std::string outcome;  // "deleted", or "already_absent" when prune found it gone
};

struct Backup {
  std::string id;           // 12 lowercase hex digits
  std::string target;       // the target's name in the plan of the run that named it first
  std::string target_type;  // "sqlite", "postgres", ...
  std::string kind;         // "sqlite file", "postgresql dump", ... (KindOf)
  std::string location;     // absolute path or object URL
  std::string table;        // the table of a DynamoDB export file; "" otherwise
  std::uint64_t bytes = 0;
  std::string sha256;       // lowercase hex (of the file; of the tree for a folder)
  bool folder = false;      // a directory tree (json_store backups), not one file
  // An object's store settings as journaled beside its `url` (endpoint, region, path_style;
  // catalog/object_store.h); an empty object for a local backup.
  nlohmann::json store_settings = nlohmann::json::object();
  std::vector<BackupUse> uses;  // journal order of the runs, then of their events
  // The `retention:` of the plan whose run took it (the first such run), if that plan has one.
  std::optional<plan::Retention> plan_retention;
  std::optional<Deletion> deleted;

  // The use the backup is listed under: the first run that took it, else the first use.
  const BackupUse& Origin() const;
  bool Taken() const;      // some run took it (prune deletes only such backups)
  bool IsObject() const;   // the location is a URL (scheme://), not a local path
};

// What an unfinished run may still read: prune keeps the backups whose file name its plan
// text mentions, and every backup of a target it has yet to restore from a location it gets
// from a variable (`from: "${BACKUP_FILE}"`: which file is known only when the step runs).
struct UnfinishedRun {
  std::string run_id;
  std::string plan_text;
  std::vector<std::string> restores_from_variable;  // target names
};

struct Catalog {
  std::vector<Backup> backups;  // by Origin().time_us, then id
  std::vector<UnfinishedRun> unfinished_runs;

  // The backup whose id is `id` or starts with it (at least 4 hex digits): kNotFound when none
  // does, kInvalidArgument when the prefix is too short or several do (naming them).
  Result<const Backup*> Find(const std::string& id) const;
};

// The id of the backup of these bytes at this place.
std::string BackupId(const std::string& location, const std::string& sha256);

// What kind of backup an action of a target type writes: "sqlite file", "postgresql dump",
// "postgresql table file", "dynamodb export", "file copy", "json_store folder".
std::string KindOf(const std::string& target_type, const nlohmann::json& outputs);

// Builds a Catalog from runs and the catalog stream, in journal order.
class CatalogBuilder {
 public:
  // Adds the backups named by the step outcomes of one run (StepSucceeded outputs of
  // backup/export/dump steps, and restore/import steps' `from`/`path`; `events` may hold only
  // those and RunStarted, as history::RunOutcomes does), `plan` being the plan
  // journaled in its RunStarted. Rehearsal runs are left out: their backups are throwaway
  // copies in the run's scratch directory.
  void AddRun(const std::string& run_id, const std::vector<sm::Event>& events,
              const sm::RunState& state, const plan::Plan& plan);
  // Marks the backup of these bytes at this place deleted (a BackupDeleted of the stream,
  // added after every run). One that no run names is listed with its deletion and no use:
  // the catalog never forgets a journaled deletion.
  void AddDeletion(const std::string& location, const std::string& sha256, std::uint64_t bytes,
                   const Deletion& deletion);
  Catalog Finish() &&;

 private:
  Backup* FindOrAdd(const std::string& location, const std::string& sha256);
  // The backups a restore read: by location, or when the location was masked, every backup
  // with that sha256 (identical bytes; which file it was is not journaled), none when the
  // sha256 names no backup (or was masked too, when it came from a variable).
  std::vector<Backup*> FindRestored(const std::string& location, const std::string& sha256);

  Catalog catalog_;
};

}  // namespace backout::catalog
