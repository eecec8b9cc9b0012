#include "adapters/sqlite/target_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <thread>

#include "adapters/common/files.h"
#include "base/env.h"
#include "base/time.h"

namespace backout::adapters::sqlite {
namespace {

// The holder's "key=value" words; empty when it has not written them yet.
std::map<std::string, std::string> ReadHolder(const std::filesystem::path& path) {
  std::map<std::string, std::string> fields;
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return fields;
  std::istringstream words(*text);
  for (std::string word; words >> word;) {
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

std::string Describe(const std::map<std::string, std::string>& holder) {
  auto field = [&](const char* key) {
    const auto it = holder.find(key);
    return it == holder.end() ? std::string("?") : it->second;
  };
  // The holder rewrites the file right after it locks; a reader can come in between.
  if (holder.empty()) return "holder not recorded yet";
  return fmt::format("pid {} on host {}, run {}, since {}", field("pid"), field("host"),
                     field("run"), field("since"));
}

}  // namespace

std::filesystem::path LockFileOf(const std::filesystem::path& database) {
  std::filesystem::path lock = database;
  lock += ".backout-lock";
  return lock;
}

Result<TargetLock> TargetLock::Take(const std::filesystem::path& database,
                                    const std::string& run_id,
                                    std::chrono::milliseconds same_run_wait,
                                    const std::atomic<bool>* cancel, Env& env) {
  const std::filesystem::path path = LockFileOf(database);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return common::ErrnoError("open the runner lock file", path);
  const auto give_up = std::chrono::steady_clock::now() + same_run_wait;
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return common::ErrnoError("flock", path);
    const std::map<std::string, std::string> holder = ReadHolder(path);
    const auto run = holder.find("run");
    const bool same_run = run != holder.end() && run->second == run_id;
    if (!same_run || std::chrono::steady_clock::now() >= give_up) {
      return Status::Locked(fmt::format(
          "sqlite {}: another backout runner is working on this database ({}{}); wait for it "
          "to finish, or stop it first",
          database.string(), Describe(holder),
          same_run ? fmt::format("; a runner of this run that did not exit within {}",
                                 FormatDuration(same_run_wait))
                   : ""));
    }
    if (cancel != nullptr && cancel->load()) {
      return Status::Cancelled("stopped while waiting for the database's runner lock");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Purely informational (the flock is the lock), so no fsync.
  const std::string line =
      fmt::format("pid={} host={} run={} since={}\n", ::getpid(), env.HostName(), run_id,
                  FormatUtcMicros(env.NowMicros()));
  if (::ftruncate(fd.get(), 0) != 0) return common::ErrnoError("truncate", path);
  if (::pwrite(fd.get(), line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    return common::ErrnoError("write", path);
  }
  return TargetLock(std::move(fd));
}

}  // namespace backout::adapters::sqlite
