#include "base/env.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>
#include <thread>

namespace backout {
namespace {

// The name of `uid` in the user database (getpwuid_r: no shared static buffer, so any thread
// may ask), or nullopt when it has none.
std::optional<std::string> UserNameOf(uid_t uid) {
  std::vector<char> buf(16384);
  passwd entry{};
  passwd* found = nullptr;
  while (getpwuid_r(uid, &entry, buf.data(), buf.size(), &found) == ERANGE &&
         buf.size() < (std::size_t{1} << 20)) {
    buf.resize(buf.size() * 2);
  }
  if (found == nullptr || found->pw_name == nullptr) return std::nullopt;
  return std::string(found->pw_name);
}

class PosixEnv final : public Env {
 public:
  std::int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  bool SleepFor(std::chrono::milliseconds d, const std::atomic<bool>* cancel) override {
    // Sleep in short slices so a signal-set cancel flag is noticed promptly.
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      if (cancel != nullptr && cancel->load()) return false;
      const auto left = deadline - std::chrono::steady_clock::now();
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          left, std::chrono::milliseconds(50)));
    }
    return cancel == nullptr || !cancel->load();
  }

  std::optional<std::string> GetVar(const std::string& name) override {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  }

  std::string HostName() override {
    char buf[256] = {};
    if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
    return buf;
  }

  std::string LoginName() override {
    if (std::optional<std::string> name = UserNameOf(geteuid())) return *std::move(name);
    if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
    return "unknown";
  }

  // The user database is read once per uid: every journal append records the process's
  // user, and getpwuid_r opens and reads /etc/passwd (or asks NSS) each time.
  OsUser ProcessUser() override {
    const uid_t uid = getuid();
    const std::lock_guard lock(user_mutex_);
    if (!user_ || user_->uid != uid) {
      user_ = OsUser{.uid = static_cast<std::uint32_t>(uid), .name = UserNameOf(uid).value_or("")};
    }
    return *user_;
  }

 private:
  std::mutex user_mutex_;
  std::optional<OsUser> user_;  // the last uid asked for, and its name
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();  // intentionally leaked: lives for the process
  return env;
}

}  // namespace backout
