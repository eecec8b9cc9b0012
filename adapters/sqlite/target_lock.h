// One backout runner per SQLite database: an exclusive flock on a sidecar file beside the
// database, `<database>.backout-lock`.
//
// Why a sidecar and flock: SQLite locks the database file itself with POSIX (fcntl) locks,
// which belong to the process, not to the descriptor; a second fcntl lock or a close() of
// another descriptor on the same file in this process would silently drop SQLite's own
// locks. flock on a different file cannot interfere with them. The kernel releases the flock
// when the holder's process dies (SIGKILL included), so a killed runner leaves no stale
// lock; the descriptor is close-on-exec, so commands the engine starts do not inherit it.
//
// The holder writes `pid=... host=... run=... since=...` into the file (informational: the
// flock is the lock), and a refused runner quotes it. The file is never deleted: deleting it
// would let two runners lock two different inodes of the same name.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include "base/env.h"
#include "base/file_util.h"
#include "base/status.h"

namespace backout::adapters::sqlite {

// The sidecar lock file of `database` (an absolute path).
std::filesystem::path LockFileOf(const std::filesystem::path& database);

class TargetLock {
 public:
  // Locks `database`'s sidecar for run `run_id`. A holder that recorded this same run id is
  // a runner of this run that is going away (only one process drives a run: the journal's
  // runner lock), so it is waited for, up to `same_run_wait`; any other holder is kLocked at
  // once, naming it. kCancelled when `cancel` fires while waiting. `env` tells the host name
  // and the time written into the sidecar.
  static Result<TargetLock> Take(const std::filesystem::path& database, const std::string& run_id,
                                 std::chrono::milliseconds same_run_wait,
                                 const std::atomic<bool>* cancel, Env& env);

 private:
  explicit TargetLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace backout::adapters::sqlite
