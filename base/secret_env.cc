#include "base/secret_env.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/file_util.h"

extern char** environ;

namespace backout {

std::optional<std::string> TakeFromEnvironment(std::string_view name) {
  std::optional<std::string> value;
  std::vector<std::pair<char*, std::size_t>> entries;  // every `name=` entry, to wipe
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.size() <= name.size() || !entry.starts_with(name) || entry[name.size()] != '=') {
      continue;
    }
    if (!value) value = std::string(entry.substr(name.size() + 1));
    entries.emplace_back(*e, entry.size());
  }
  if (!value) return std::nullopt;
  // First out of environ (unsetenv removes every entry of the name), then wiped: getenv
  // never sees a half-wiped entry, and the block that /proc/PID/environ shows no longer
  // holds the value (nor the name: the whole entry becomes NULs).
  ::unsetenv(std::string(name).c_str());
  for (auto& [bytes, size] : entries) ::explicit_bzero(bytes, size);
  return value;
}

Result<std::string> ReadSecretFile(const std::filesystem::path& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    const int saved = errno;
    if (saved == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path.string()));
    return Status::IOError(
        fmt::format("{}: cannot open: {}", path.string(), std::strerror(saved)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status::IOError(fmt::format("{}: cannot stat: {}", path.string(), std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::FailedPrecondition(fmt::format("{}: not a regular file", path.string()));
  }
  if (st.st_uid != ::geteuid()) {
    return Status::FailedPrecondition(fmt::format(
        "{}: owned by uid {}, not by the user running backout (uid {}); refusing a key that "
        "someone else controls",
        path.string(), st.st_uid, ::geteuid()));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::FailedPrecondition(fmt::format(
        "{}: permissions {:04o} are too open: a key file must not be accessible by its group "
        "or by others (chmod 600 it)",
        path.string(), st.st_mode & 07777));
  }
  std::string contents;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("{}: read failed: {}", path.string(), std::strerror(errno)));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<std::size_t>(n));
  }
  ::explicit_bzero(buffer, sizeof buffer);
  if (contents.ends_with('\n')) contents.pop_back();
  if (contents.ends_with('\r')) contents.pop_back();
  if (contents.empty()) {
    return Status::InvalidArgument(fmt::format("{}: the key file is empty", path.string()));
  }
  return contents;
}

}  // namespace backout
