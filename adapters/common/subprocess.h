// Subprocess: runs one child process to its end under a deadline and captures its output.
//
// The child:
//   - leads a new process group, so a deadline or a cancel can kill everything it started
//     (grandchildren included, unless they left the group with setsid/setpgid);
//   - gets SIGKILL as its parent-death signal, so it dies if this process is killed
//     (the signal is not inherited by its own children);
//   - starts with default signal dispositions and an empty signal mask, stdin from
//     /dev/null, stdout and stderr into one pipe, and no other descriptor of ours;
//   - runs argv[0] the way execvp() does: a name with a '/' is a path (relative to `cwd`),
//     a bare name is searched in the PATH of `env` (once, by us: common/program.h), and a
//     file without a #! line runs with /bin/sh;
//   - is started without copying this process (clone with CLONE_VM | CLONE_VFORK, as
//     posix_spawn does): the calling thread is suspended until the child has exec'd.
//
// Stopping (through common::StopCondition, as every adapter stops): once the deadline
// passes or *cancel becomes true, the group gets SIGTERM, and
// SIGKILL `kill_grace` later if any member is still there. The child is always reaped before
// RunSubprocess returns. Reading stops shortly after the child is reaped even if a surviving
// grandchild still holds the pipe open (a command that starts a daemon must not hang us).
//
// Thread safety: RunSubprocess may be called from several threads at once. It blocks the
// calling thread until the child is reaped, which also keeps the parent-death signal (tied by
// Linux to the thread that forked) from firing early.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace backout::adapters {

class AttemptLog;  // common/run_log.h

struct SubprocessOptions {
  std::vector<std::string> argv;               // program and arguments; must not be empty
  std::filesystem::path cwd;                   // the child's working directory; empty: ours
  std::vector<std::string> env;                // the child's whole environment, as "NAME=value"
  std::chrono::milliseconds timeout{0};        // 0: no deadline
  std::chrono::milliseconds kill_grace{5000};  // from SIGTERM to SIGKILL
  const std::atomic<bool>* cancel = nullptr;   // stop the child once it becomes true
  // All output is appended here as it arrives (its section begun before the
  // child starts: common/run_log.h); null: none.
  AttemptLog* log = nullptr;
  std::size_t tail_capacity = 4096;  // how many of the last output bytes to keep in memory
};

// Why the child was stopped by us, if it was.
enum class StopReason { kNone, kDeadline, kCancel };

struct SubprocessResult {
  StopReason stopped = StopReason::kNone;
  std::optional<int> exit_code;           // set when the child called exit (even after SIGTERM)
  std::optional<int> term_signal;         // set when a signal ended the child
  std::string output_tail;                // last tail_capacity bytes of stdout+stderr, raw bytes
  std::chrono::milliseconds duration{0};  // from spawn to reap
  Status log_status;  // first failure writing the log; output after it is only in the tail
};

// Runs the child described by `options` and waits for it. An error Status means the child
// never ran the program:
//   kNotFound    the program or the working directory does not exist
//   kIOError     any other failure to set up or start it (the message names the errno),
//                the log's first frame included
//   kInvalidArgument  empty argv
// A child that ran and failed (any exit code, any signal) is a successful result.
Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options);

}  // namespace backout::adapters
