#include "adapters/common/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "adapters/common/program.h"
#include "adapters/common/run_log.h"
#include "adapters/common/stop.h"
#include "base/file_util.h"

namespace backout::adapters {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long to keep reading after the child is reaped: long enough to take what is still in
// the pipe, short enough that a grandchild holding the pipe open cannot keep us waiting.
constexpr milliseconds kDrainWindow{250};
// Between pipe events we wake up to reap the child and look at the deadline and the cancel
// flag: quickly at first (short commands end fast), then backing off to this interval.
constexpr milliseconds kMaxPollInterval{50};
constexpr int kExecFailedExitCode = 127;  // what shells use for "command not found"
constexpr const char* kShell = "/bin/sh";   // runs a program file without a #! line

Status ErrnoStatus(std::string_view what, int error) {
  const std::string message = fmt::format("{}: {}", what, std::strerror(error));
  return error == ENOENT ? Status::NotFound(message) : Status::IOError(message);
}

// Descriptors that the child dup2()s onto 0, 1 and 2 must not themselves be 0, 1 or 2 (a
// parent started with a closed stdin would otherwise have a pipe end overwritten).
Result<UniqueFd> AboveStdio(UniqueFd fd) {
  if (fd.get() > STDERR_FILENO) return fd;
  const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (moved < 0) return ErrnoStatus("fcntl(F_DUPFD_CLOEXEC)", errno);
  return UniqueFd(moved);
}

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe", errno);
  UniqueFd read_end(fds[0]);
  Result<UniqueFd> write_end = AboveStdio(UniqueFd(fds[1]));
  if (!write_end.ok()) return write_end.status();
  return Pipe{std::move(read_end), std::move(write_end).value()};
}

Result<UniqueFd> OpenDevNull() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open /dev/null", errno);
  return AboveStdio(UniqueFd(fd));
}

// What the child reports, in the memory it shares with us until it execs, when it cannot
// run the program.
struct ExecFailure {
  enum Stage : int { kNone, kSetup, kRedirect, kChdir, kExec };
  int stage = kNone;
  int error = 0;
};

// Everything the child needs, prepared before it is started so that the child itself only
// makes async-signal-safe calls (no allocation: another thread may hold the malloc lock, and
// the child shares our memory).
struct ChildPlan {
  std::vector<char*> argv;         // null-terminated, pointing into SubprocessOptions
  std::vector<char*> script_argv;  // {"/bin/sh", program, argv[1..]}: execvp's ENOEXEC retry
  std::vector<char*> envp;         // null-terminated, pointing into SubprocessOptions
  std::filesystem::path resolved;  // the program found in the PATH, when it was a bare name
  const char* program = nullptr;   // resolved once (program.h); nullptr: see resolve_error
  int resolve_error = 0;           // why it was not found; reported after chdir, as execvp did
  const char* cwd = nullptr;       // nullptr: stay in ours
  sigset_t reset_signals;          // signals whose disposition here is not SIG_DFL
  pid_t parent = 0;
  int stdin_fd = -1;
  int output_fd = -1;
  ExecFailure failure;  // written by the child
};

std::vector<char*> NullTerminated(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// The signals this process ignores or catches, from the SigIgn and SigCgt masks of
// /proc/self/status: one read instead of a sigaction() per signal. Every signal when the file
// cannot be read (the child then resets all, as before).
sigset_t NonDefaultSignals() {
  sigset_t set;
  sigfillset(&set);
  const UniqueFd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return set;
  char text[4096];
  const ssize_t n = ::read(fd.get(), text, sizeof(text) - 1);
  if (n <= 0) return set;
  text[n] = '\0';
  unsigned long long masks = 0;
  for (const char* key : {"\nSigIgn:\t", "\nSigCgt:\t"}) {
    const char* line = std::strstr(text, key);
    if (line == nullptr) return set;
    masks |= std::strtoull(line + std::strlen(key), nullptr, 16);
  }
  sigemptyset(&set);
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig) {
    if ((masks >> (sig - 1)) & 1ULL) sigaddset(&set, sig);
  }
  return set;
}

// The child side: runs on its own stack in our memory (CLONE_VM) while we wait (CLONE_VFORK),
// so it makes async-signal-safe calls only and writes nothing of ours but plan.failure. Not
// instrumented: it runs on a stack the address sanitizer does not know.
[[noreturn]] __attribute__((no_sanitize("address"))) void FailChild(ChildPlan& plan,
                                                                    ExecFailure::Stage stage,
                                                                    int error) {
  plan.failure.stage = stage;
  plan.failure.error = error;
  ::_exit(kExecFailedExitCode);
}

__attribute__((no_sanitize("address"))) int RunChild(void* arg) {
  ChildPlan& plan = *static_cast<ChildPlan*>(arg);
  ::setpgid(0, 0);
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) FailChild(plan, ExecFailure::kSetup, errno);
  // The parent may have died before the death signal was armed; then nobody would kill us.
  if (::getppid() != plan.parent) ::_exit(kExecFailedExitCode);

  // Handlers would run in our parent's memory, and ignored signals stay ignored across exec:
  // only those need resetting (exec resets caught ones too, but the mask opens before it).
  // Fails harmlessly for the C library's reserved signals, which it never delivers to us.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&plan.reset_signals, sig) == 1) ::sigaction(sig, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::dup2(plan.stdin_fd, STDIN_FILENO) < 0 || ::dup2(plan.output_fd, STDOUT_FILENO) < 0 ||
      ::dup2(plan.output_fd, STDERR_FILENO) < 0) {
    FailChild(plan, ExecFailure::kRedirect, errno);
  }
  // Descriptors someone opened without O_CLOEXEC (a lock file, a database) must not live on
  // in the command or a daemon it starts. Best effort: older kernels lack the flag.
  ::close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC);
  if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) FailChild(plan, ExecFailure::kChdir, errno);
  if (plan.program == nullptr) {
    FailChild(plan, ExecFailure::kExec, plan.resolve_error);
  }
  ::execve(plan.program, plan.argv.data(), plan.envp.data());
  // A file without a #! line: run it with the shell, as execvp does.
  if (errno == ENOEXEC) ::execve(plan.script_argv[0], plan.script_argv.data(), plan.envp.data());
  FailChild(plan, ExecFailure::kExec, errno);
}

// The child's stack, one per thread, kept for the thread's life: mapping one per spawn would
// cost two system calls and page faults every time.
class ChildStack {
 public:
  static constexpr std::size_t kBytes = 64 * 1024;
  ChildStack()
      : base_(::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0)) {}
  ~ChildStack() {
    if (base_ != MAP_FAILED) ::munmap(base_, kBytes);
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;

  // The top of the stack (it grows down), or nullptr when it could not be mapped.
  void* top() const {
    return base_ == MAP_FAILED ? nullptr : static_cast<char*>(base_) + kBytes;
  }

 private:
  void* base_;
};

Status ExecFailureStatus(const ExecFailure& failure, const SubprocessOptions& options) {
  switch (failure.stage) {
    case ExecFailure::kChdir:
      return ErrnoStatus(fmt::format("cannot change to directory '{}'", options.cwd.string()),
                         failure.error);
    case ExecFailure::kExec:
      return ErrnoStatus(fmt::format("cannot run '{}'", options.argv[0]), failure.error);
    case ExecFailure::kRedirect:
      return ErrnoStatus("cannot redirect the child's stdin/stdout/stderr", failure.error);
    default:
      return ErrnoStatus("cannot set up the child process", failure.error);
  }
}

void WaitForExit(pid_t pid) {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Starts a child that runs `plan`, without copying this process: clone(CLONE_VM |
// CLONE_VFORK) as posix_spawn does, but with our own child so that it can also take a
// parent-death signal. We are suspended until the child has exec'd or failed. Signals are
// blocked around it so that none of this process's handlers runs in the child before it
// resets them. Returns the pid, or why the program could not be run (the child reaped).
Result<pid_t> Spawn(ChildPlan& plan, const SubprocessOptions& options) {
  thread_local ChildStack stack;
  if (stack.top() == nullptr) return ErrnoStatus("mmap of the child's stack", ENOMEM);
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::clone(RunChild, stack.top(), CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) return ErrnoStatus("clone", clone_errno);
  // The child set its own process group before we resumed, so the group can be killed now.
  if (plan.failure.stage != ExecFailure::kNone) {
    WaitForExit(pid);
    return ExecFailureStatus(plan.failure, options);
  }
  return pid;
}

// The program argv[0] names, as execvp would find it in the PATH of `options.env`.
void ResolveProgram(const SubprocessOptions& options, ChildPlan& plan) {
  const std::string& name = options.argv[0];
  if (name.find('/') != std::string::npos) {
    plan.program = name.c_str();  // relative to the child's working directory
    return;
  }
  std::string_view search_path = common::kDefaultSearchPath;
  for (const std::string& entry : options.env) {
    if (entry.starts_with("PATH=")) search_path = std::string_view(entry).substr(5);
  }
  Result<std::filesystem::path> found = common::SearchProgram(
      fmt::format("cannot run '{}'", name), name, search_path, options.cwd);
  if (found.ok()) {
    plan.resolved = std::move(found).value();
    plan.program = plan.resolved.c_str();
  } else {
    plan.resolve_error = found.status().code() == Code::kNotFound ? ENOENT : EACCES;
  }
}

// Where the child's output goes: appended to the attempt's log (when there is one), and the
// last `capacity` bytes kept in memory.
class OutputSink {
 public:
  OutputSink(AttemptLog* log, std::size_t capacity) : log_(log), capacity_(capacity) {}

  void Append(std::string_view bytes) {
    // Keep running the command when the log fails: losing the log is better than abandoning
    // the action (the first failure is reported; output after it is only in the tail).
    if (log_ != nullptr) {
      if (Status s = log_->Append(bytes); !s.ok()) {
        log_status_ = std::move(s);
        log_ = nullptr;
      }
    }
    tail_.append(bytes);
    if (tail_.size() > capacity_) tail_.erase(0, tail_.size() - capacity_);
  }

  std::string TakeTail() { return std::move(tail_); }
  Status TakeLogStatus() { return std::move(log_status_); }

 private:
  AttemptLog* log_;
  std::size_t capacity_;
  std::string tail_;
  Status log_status_;
};

// Waits up to `wait` for output and moves what is there into `sink`; closes `output` at
// end of file. Returns true when something happened on the pipe.
bool PumpOutput(UniqueFd& output, OutputSink& sink, milliseconds wait) {
  const int wait_ms = static_cast<int>(std::max<milliseconds::rep>(wait.count(), 0));
  if (!output.valid()) {
    ::poll(nullptr, 0, wait_ms);
    return false;
  }
  pollfd fd{output.get(), POLLIN, 0};
  if (::poll(&fd, 1, wait_ms) <= 0) return false;
  char buffer[64 * 1024];
  const ssize_t n = ::read(output.get(), buffer, sizeof(buffer));
  if (n > 0) {
    sink.Append(std::string_view(buffer, static_cast<std::size_t>(n)));
  } else if (n == 0 || errno != EINTR) {
    output.Reset();
  }
  return true;
}

// The state letter and process group of `pid`, from /proc/PID/stat.
std::optional<std::pair<char, pid_t>> ProcessStateAndGroup(const char* pid) {
  const std::string path = fmt::format("/proc/{}/stat", pid);
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  char stat[512];
  const ssize_t n = ::read(fd.get(), stat, sizeof(stat) - 1);
  if (n <= 0) return std::nullopt;
  stat[n] = '\0';
  // "PID (COMM) STATE PPID PGRP ...": COMM may hold anything, so parse after its last ')'.
  const char* after_name = std::strrchr(stat, ')');
  char state = 0;
  int group = 0;
  if (after_name == nullptr || std::sscanf(after_name + 1, " %c %*d %d", &state, &group) != 2) {
    return std::nullopt;
  }
  return std::make_pair(state, static_cast<pid_t>(group));
}

// Whether any process of group `pgid` can still run. Zombies do not count: where PID 1 is
// slow to reap orphans, a killed grandchild can stay a zombie for seconds.
bool GroupHasLiveMembers(pid_t pgid) {
  // The group id stays reserved while any member exists, so it cannot name a stranger.
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) return false;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return true;  // cannot tell: assume the worst
  bool live = false;
  while (const dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
    const auto process = ProcessStateAndGroup(entry->d_name);
    if (process && process->second == pgid && process->first != 'Z' && process->first != 'X') {
      live = true;
      break;
    }
  }
  ::closedir(proc);
  return live;
}

// The child's process group, and where we are in stopping it.
class GroupKiller {
 public:
  GroupKiller(pid_t pgid, milliseconds grace) : pgid_(pgid), grace_(grace) {}

  bool stopping() const { return reason_ != StopReason::kNone; }
  StopReason reason() const { return reason_; }

  // SIGTERM now (SIGKILL when there is no grace); SIGKILL once the grace has passed.
  void Stop(StopReason reason, Clock::time_point now) {
    reason_ = reason;
    kill_at_ = now + grace_;
    ::kill(-pgid_, grace_.count() > 0 ? SIGTERM : SIGKILL);
    killed_ = grace_.count() <= 0;
  }
  void EscalateIfDue(Clock::time_point now) {
    if (!stopping() || killed_ || now < kill_at_) return;
    ::kill(-pgid_, SIGKILL);
    killed_ = true;
  }

  // True when no member of the group can still be running: we never stopped it (survivors
  // of a normal exit are left alone), it got SIGKILL, or no live member is left.
  bool Settled() const { return !stopping() || killed_ || !GroupHasLiveMembers(pgid_); }

  // How long until the next SIGKILL is due, if one is.
  std::optional<milliseconds> TimeToKill(Clock::time_point now) const {
    if (!stopping() || killed_) return std::nullopt;
    return std::chrono::ceil<milliseconds>(kill_at_ - now);
  }

 private:
  pid_t pgid_;
  milliseconds grace_;
  StopReason reason_ = StopReason::kNone;
  Clock::time_point kill_at_;
  bool killed_ = false;
};

// The child's wait status once it has been reaped.
Result<std::optional<int>> TryReap(pid_t pid) {
  int wait_status = 0;
  const pid_t r = ::waitpid(pid, &wait_status, WNOHANG);
  if (r == pid) return std::optional<int>(wait_status);
  if (r == 0 || errno == EINTR) return std::optional<int>();
  return ErrnoStatus("waitpid", errno);
}

struct Supervision {
  const SubprocessOptions& options;
  pid_t pid;
  UniqueFd output;
  OutputSink sink;
  Clock::time_point start;
  common::StopCondition stop;  // options.cancel and options.timeout, counted from the spawn
};

std::optional<StopReason> DueStop(const common::StopCondition& stop) {
  if (stop.Cancelled()) return StopReason::kCancel;
  if (stop.Fired()) return StopReason::kDeadline;
  return std::nullopt;
}

struct Reaped {
  int wait_status = 0;
  Clock::time_point when;
};

// Reads output and watches the child until it is reaped and its group is settled, stopping
// it on deadline or cancel.
Result<Reaped> Supervise(Supervision& s, GroupKiller& group) {
  std::optional<int> wait_status;
  Clock::time_point reaped_at;
  std::optional<Clock::time_point> drain_until;
  milliseconds interval{1};
  while (true) {
    const Clock::time_point now = Clock::now();
    if (!group.stopping()) {
      if (std::optional<StopReason> due = DueStop(s.stop)) group.Stop(*due, now);
    }
    group.EscalateIfDue(now);
    if (!wait_status) {
      Result<std::optional<int>> reaped = TryReap(s.pid);
      if (!reaped.ok()) return reaped.status();
      wait_status = *reaped;
      reaped_at = now;
    }
    if (wait_status && (drain_until || group.Settled())) {
      if (!drain_until) drain_until = now + kDrainWindow;
      if (!s.output.valid() || now >= *drain_until) return Reaped{*wait_status, reaped_at};
    }

    milliseconds wait = interval;
    if (std::optional<milliseconds> to_kill = group.TimeToKill(now))
      wait = std::min(wait, *to_kill);
    if (drain_until) wait = std::min(wait, std::chrono::ceil<milliseconds>(*drain_until - now));
    if (std::optional<milliseconds> left = s.stop.Remaining(); left && !group.stopping()) {
      wait = std::min(wait, *left);
    }
    interval = PumpOutput(s.output, s.sink, wait) ? milliseconds(1)
                                                  : std::min(interval * 2, kMaxPollInterval);
  }
}

SubprocessResult Summarize(const Reaped& reaped, StopReason stopped, OutputSink& sink,
                           Clock::time_point start) {
  SubprocessResult result;
  result.stopped = stopped;
  if (WIFEXITED(reaped.wait_status)) result.exit_code = WEXITSTATUS(reaped.wait_status);
  if (WIFSIGNALED(reaped.wait_status)) result.term_signal = WTERMSIG(reaped.wait_status);
  result.output_tail = sink.TakeTail();
  result.duration = std::chrono::duration_cast<milliseconds>(reaped.when - start);
  result.log_status = sink.TakeLogStatus();
  return result;
}

}  // namespace

Result<SubprocessResult> RunSubprocess(const SubprocessOptions& options) {
  if (options.argv.empty()) return Status::InvalidArgument("no program to run (empty argv)");

  if (options.log != nullptr) BACKOUT_RETURN_IF_ERROR(options.log->Begin());
  Result<UniqueFd> dev_null = OpenDevNull();
  if (!dev_null.ok()) return dev_null.status();
  Result<Pipe> output = MakePipe();
  if (!output.ok()) return output.status();
  ChildPlan plan;
  plan.argv = NullTerminated(options.argv);
  plan.script_argv = plan.argv;
  plan.script_argv.insert(plan.script_argv.begin(), const_cast<char*>(kShell));
  plan.envp = NullTerminated(options.env);
  ResolveProgram(options, plan);
  if (plan.program != nullptr) plan.script_argv[1] = const_cast<char*>(plan.program);
  plan.cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  plan.reset_signals = NonDefaultSignals();
  plan.parent = ::getpid();
  plan.stdin_fd = dev_null->get();
  plan.output_fd = output->write_end.get();

  const Clock::time_point start = Clock::now();
  Result<pid_t> pid = Spawn(plan, options);
  if (!pid.ok()) return pid.status();
  // Our copies of the child's ends must go, or we would never see end of file.
  dev_null->Reset();
  output->write_end.Reset();

  Supervision supervision{
      options, *pid, std::move(output->read_end),
      OutputSink(options.log, options.tail_capacity), start,
      common::StopCondition(options.cancel, options.timeout)};
  GroupKiller group(*pid, options.kill_grace);
  Result<Reaped> reaped = Supervise(supervision, group);
  if (!reaped.ok()) {
    ::kill(-*pid, SIGKILL);
    return reaped.status();
  }
  return Summarize(*reaped, group.reason(), supervision.sink, start);
}

}  // namespace backout::adapters
