// Real child processes for end-to-end tests: run a command to completion, or start it in
// the background and kill it with a real signal.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "testing/temp_dir.h"  // TempDir, for the end-to-end tests too

namespace backout::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;      // the signal that killed it, or 0
  std::string out;     // stdout
  std::string err;     // stderr
};

struct ProcessSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // added to (and overriding) the test's environment
  std::filesystem::path cwd;               // empty: the test's cwd
  std::string stdin_text;                  // fed on stdin (never a terminal)
};

// Runs to completion.
ProcessResult RunProcess(const ProcessSpec& spec);

// A process running in the background. Output goes to temp files read on Wait().
class BackgroundProcess {
 public:
  explicit BackgroundProcess(const ProcessSpec& spec);
  ~BackgroundProcess();  // kills (SIGKILL) and reaps if still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  bool Running();  // false once it has exited (reaps it)
  ProcessResult Wait();

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
  std::filesystem::path out_path_, err_path_, in_path_;
};

std::string ReadFile(const std::filesystem::path& path);

// "exit N signal S" with both outputs: the failure message of an end-to-end assertion.
std::string Show(const ProcessResult& r);

bool Contains(const std::string& text, const std::string& part);
// How many times `part` occurs in `text` (overlapping occurrences count).
int Occurrences(const std::string& text, const std::string& part);
void WriteFile(const std::filesystem::path& path, const std::string& text);
// The lines of `text` (an export, a log) without their newlines, and back, each line
// newline-terminated.
std::vector<std::string> Lines(const std::string& text);
std::string Joined(const std::vector<std::string>& lines);

// Polls `condition` every 10 ms until it holds or `limit` passes; returns whether it held.
template <typename F>
bool WaitFor(F condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    struct timespec ts {0, 10'000'000};
    nanosleep(&ts, nullptr);
  }
  return condition();
}

}  // namespace backout::testing
