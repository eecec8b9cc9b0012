// Tests of the process mechanics: what the child starts with, and how it is stopped.
// Parameter handling and statuses are tested in command_adapter_test.cc.
#include "adapters/common/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>
#include <thread>

#include "testing/temp_dir.h"

namespace backout::adapters {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

SubprocessOptions Shell(std::string script) {
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", std::move(script)};
  options.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  return options;
}

SubprocessResult MustRun(const SubprocessOptions& options) {
  Result<SubprocessResult> result = RunSubprocess(options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? std::move(result).value() : SubprocessResult{};
}

// True when `pid` is gone, or is a zombie waiting for whoever inherited it to reap it.
bool IsDead(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t name_end = line.rfind(')');
  return name_end != std::string::npos && line.substr(name_end + 2, 1) == "Z";
}

// Killing is asynchronous: give the kernel a moment to finish the job.
bool DiesSoon(pid_t pid) {
  const Clock::time_point limit = Clock::now() + std::chrono::seconds(5);
  while (!IsDead(pid)) {
    if (Clock::now() > limit) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// The first line of the output, read as a pid (the scripts below print `$!` first).
pid_t FirstLinePid(const std::string& output) {
  return std::stoi(output.substr(0, output.find('\n')));
}

TEST(SubprocessTest, CapturesStdoutAndStderrInOneStream) {
  const SubprocessResult r = MustRun(Shell("echo out; echo err >&2; echo out2; exit 7"));
  EXPECT_EQ(r.stopped, StopReason::kNone);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_FALSE(r.term_signal.has_value());
  EXPECT_EQ(r.output_tail, "out\nerr\nout2\n");
}

TEST(SubprocessTest, StdinIsDevNull) {
  SubprocessOptions options;
  options.argv = {"/bin/readlink", "/proc/self/fd/0"};
  EXPECT_EQ(MustRun(options).output_tail, "/dev/null\n");
}

TEST(SubprocessTest, ChildLeadsItsOwnProcessGroup) {
  const SubprocessResult r = MustRun(Shell("echo $$; cut -d' ' -f5 /proc/$$/stat"));
  const std::string pid = r.output_tail.substr(0, r.output_tail.find('\n'));
  EXPECT_EQ(r.output_tail, pid + "\n" + pid + "\n");
  EXPECT_NE(std::stoi(pid), ::getpgrp());
}

TEST(SubprocessTest, ChildStartsWithDefaultSignalsAndEmptyMask) {
  sigset_t blocked;
  sigset_t previous_mask;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &blocked, &previous_mask), 0);
  struct sigaction ignore {};
  struct sigaction previous_action {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGUSR1, &ignore, &previous_action), 0);

  SubprocessOptions options;
  options.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
  const SubprocessResult r = MustRun(options);

  ::sigaction(SIGUSR1, &previous_action, nullptr);
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
  EXPECT_EQ(r.output_tail, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

void NoteSignal(int) {}

TEST(SubprocessTest, ChildSeesDefaultsForSignalsWeCatchOrIgnore) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction catcher {};
  catcher.sa_handler = NoteSignal;
  struct sigaction previous_pipe {};
  struct sigaction previous_int {};
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous_pipe), 0);
  ASSERT_EQ(::sigaction(SIGINT, &catcher, &previous_int), 0);

  // cat sets no handler of its own (grep, say, catches SIGSEGV).
  SubprocessOptions options;
  options.argv = {"/bin/cat", "/proc/self/status"};
  const SubprocessResult r = MustRun(options);

  ::sigaction(SIGPIPE, &previous_pipe, nullptr);
  ::sigaction(SIGINT, &previous_int, nullptr);
  EXPECT_NE(r.output_tail.find("\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n"),
            std::string::npos)
      << r.output_tail;
}

TEST(SubprocessTest, WorkingDirectoryAndEnvironmentAreTheGivenOnes) {
  const testing::TempDir tmp;
  SubprocessOptions options = Shell("pwd; env | sort");
  options.cwd = tmp.path();
  options.env = {"PATH=/usr/bin:/bin", "ONLY=this"};
  const std::string tail = MustRun(options).output_tail;
  EXPECT_TRUE(tail.starts_with(tmp.path().string() + "\n")) << tail;
  EXPECT_NE(tail.find("ONLY=this\n"), std::string::npos) << tail;
  EXPECT_EQ(tail.find("HOME="), std::string::npos) << tail;
}

TEST(SubprocessTest, BareNameIsFoundInARelativePathEntryAndScriptsWithoutShebangRun) {
  const testing::TempDir tmp;
  std::filesystem::create_directories(tmp.path() / "bin");
  std::ofstream(tmp.path() / "bin" / "hello") << "echo hello from $0\n";  // no #! line
  std::filesystem::permissions(tmp.path() / "bin" / "hello", std::filesystem::perms::owner_all);
  SubprocessOptions options;
  options.argv = {"hello"};
  options.cwd = tmp.path();
  options.env = {"PATH=/nonexistent:bin"};
  const SubprocessResult r = MustRun(options);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output_tail, "hello from " + (tmp.path() / "bin" / "hello").string() + "\n");
}

TEST(SubprocessTest, DescriptorsWithoutCloexecDoNotLeak) {
  const int leaked = ::fcntl(STDERR_FILENO, F_DUPFD, 100);  // no FD_CLOEXEC
  ASSERT_GE(leaked, 100);
  const SubprocessResult r = MustRun(
      Shell("test -e /proc/self/fd/" + std::to_string(leaked) + " && echo open || echo closed"));
  ::close(leaked);
  EXPECT_EQ(r.output_tail, "closed\n");
}

TEST(SubprocessTest, ProgramIsSearchedInTheChildsPath) {
  SubprocessOptions options;
  options.argv = {"true"};
  options.env = {"PATH=/nonexistent"};
  Result<SubprocessResult> missing = RunSubprocess(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot run 'true': No such file or directory");

  options.env = {"PATH=/nonexistent:/usr/bin:/bin"};
  EXPECT_EQ(MustRun(options).exit_code, 0);
}

TEST(SubprocessTest, ExecFailureNamesTheErrno) {
  SubprocessOptions options;
  options.argv = {"/etc"};  // exists, but a directory cannot be run
  Result<SubprocessResult> r = RunSubprocess(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIOError);
  EXPECT_EQ(r.status().message(), "cannot run '/etc': Permission denied");
}

TEST(SubprocessTest, MissingWorkingDirectoryIsNotFound) {
  SubprocessOptions options = Shell("true");
  options.cwd = "/nonexistent/backout-test";
  Result<SubprocessResult> r = RunSubprocess(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(),
            "cannot change to directory '/nonexistent/backout-test': No such file or directory");
}

TEST(SubprocessTest, DeadlineKillsTheWholeGroup) {
  SubprocessOptions options = Shell("sleep 30 & echo $!; sleep 30");
  options.timeout = milliseconds(1000);
  const Clock::time_point start = Clock::now();
  const SubprocessResult r = MustRun(options);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.stopped, StopReason::kDeadline);
  EXPECT_FALSE(r.exit_code.has_value());
  EXPECT_EQ(r.term_signal, SIGTERM);
  ASSERT_FALSE(r.output_tail.empty());
  EXPECT_TRUE(DiesSoon(FirstLinePid(r.output_tail)));
}

TEST(SubprocessTest, TermIgnoringChildGetsSigkillAfterGrace) {
  SubprocessOptions options = Shell("trap '' TERM; sleep 30");
  options.timeout = milliseconds(300);
  options.kill_grace = milliseconds(300);
  const Clock::time_point start = Clock::now();
  const SubprocessResult r = MustRun(options);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_GE(r.duration, milliseconds(600));  // the deadline, then the whole grace
  EXPECT_EQ(r.stopped, StopReason::kDeadline);
  EXPECT_EQ(r.term_signal, SIGKILL);
}

TEST(SubprocessTest, GraceStillEndsStragglersAfterTheLeaderDied) {
  // The leader dies on SIGTERM; the background job ignores it and must get SIGKILL.
  SubprocessOptions options = Shell("(trap '' TERM; sleep 30) & echo $!; sleep 30");
  options.timeout = milliseconds(1000);
  options.kill_grace = milliseconds(300);
  const SubprocessResult r = MustRun(options);
  EXPECT_EQ(r.term_signal, SIGTERM);
  ASSERT_FALSE(r.output_tail.empty());
  EXPECT_TRUE(DiesSoon(FirstLinePid(r.output_tail)));
}

TEST(SubprocessTest, CancelStopsTheChild) {
  std::atomic<bool> cancel{false};
  SubprocessOptions options = Shell("sleep 30");
  options.cancel = &cancel;
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(milliseconds(200));
    cancel = true;
  });
  const Clock::time_point start = Clock::now();
  const SubprocessResult r = MustRun(options);
  canceller.join();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.stopped, StopReason::kCancel);
  EXPECT_EQ(r.term_signal, SIGTERM);
}

TEST(SubprocessTest, GrandchildHoldingThePipeDoesNotHangTheRead) {
  const Clock::time_point start = Clock::now();
  const SubprocessResult r = MustRun(Shell("sleep 30 & echo $!"));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.stopped, StopReason::kNone);
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_FALSE(r.output_tail.empty());
  // Survivors of a normal exit are left alone (a command may start a daemon).
  const pid_t grandchild = FirstLinePid(r.output_tail);
  EXPECT_FALSE(IsDead(grandchild));
  ::kill(grandchild, SIGKILL);
}

TEST(SubprocessTest, TailKeepsOnlyTheLastBytes) {
  SubprocessOptions options = Shell("printf 0123456789");
  options.tail_capacity = 4;
  EXPECT_EQ(MustRun(options).output_tail, "6789");
}

TEST(SubprocessTest, EmptyArgvIsRejected) {
  Result<SubprocessResult> r = RunSubprocess(SubprocessOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace backout::adapters
