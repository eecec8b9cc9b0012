// The floor of a command step for scripts/bench.sh (bench/steps_bench.sh): what any runner
// must do per step of a plan of `true` that journals durably. Per step: posix_spawn of the
// program (resolved once, like our runner), waitpid, and two durable appends (write +
// fdatasync: the step's start and its outcome) to one file. No output capture, no journal
// format, no process group: the bare system calls. With FILES 2 each durable append writes and
// syncs two files, as our journal's does (its write-ahead log, then the head file: issue 12).
//
//   spawn_floor DIR STEPS PROGRAM [FILES]   prints "steps_floor_us MICROSECONDS"
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

extern char** environ;

namespace {

bool DurableAppend(const std::vector<int>& fds, const std::string& line) {
  for (const int fd : fds) {
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
        ::fdatasync(fd) != 0) {
      return false;
    }
  }
  return true;
}

int Run(const std::string& dir, int steps, const char* program, int files) {
  std::vector<int> fd;
  for (int i = 0; i < files; ++i) {
    const std::string path = dir + "/floor-" + std::to_string(i) + ".journal";
    fd.push_back(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
    if (fd.back() < 0) {
      std::perror(path.c_str());
      return 1;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) {
    const std::string id = std::to_string(i);
    if (!DurableAppend(fd, "started " + id + "\n")) return 1;
    char* argv[] = {const_cast<char*>(program), nullptr};
    pid_t pid = 0;
    if (const int error = ::posix_spawn(&pid, program, nullptr, nullptr, argv, environ)) {
      std::cerr << "posix_spawn: " << std::strerror(error) << "\n";
      return 1;
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
    if (!DurableAppend(fd, "ended " + id + " " + std::to_string(WEXITSTATUS(status)) + "\n")) {
      return 1;
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  for (const int f : fd) ::close(f);
  std::cout << "steps_floor_us "
            << std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::cerr << "usage: spawn_floor DIR STEPS PROGRAM [FILES]\n";
    return 2;
  }
  return Run(argv[1], std::stoi(argv[2]), argv[3], argc == 5 ? std::stoi(argv[4]) : 1);
}
