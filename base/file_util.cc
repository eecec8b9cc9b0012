#include "base/file_util.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace backout {
namespace {
Status Errno(std::string_view what, const std::filesystem::path& path) {
  return Status::IOError(fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
}
}  // namespace

Result<std::string> ReadFileToString(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path.string()));
    return Errno("cannot open", path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Errno("read failed", path);
  return ss.str();
}

Status SyncPath(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open for fsync", path);
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return Errno("fsync", path);
  return Status::Ok();
}

void StartWriteback(int fd, std::uint64_t offset, std::uint64_t length) {
  (void)::sync_file_range(fd, static_cast<off64_t>(offset), static_cast<off64_t>(length),
                          SYNC_FILE_RANGE_WRITE);
}

void StartWritebackAsItGrows(int fd, std::uint64_t written, std::uint64_t* started) {
  constexpr std::uint64_t kStepBytes = std::uint64_t{8} << 20;
  if (written - *started < kStepBytes) return;
  StartWriteback(fd, *started, written - *started);
  *started = written;
}

Result<ExclusiveFile> CreateExclusiveFile(const std::filesystem::path& target,
                                          std::string_view suffix, unsigned int mode) {
  constexpr int kTries = 8;
  for (int attempt = 0; attempt < kTries; ++attempt) {
    std::uint64_t random = 0;
    if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
      return Errno("getrandom for a temp name", target);
    }
    std::filesystem::path path = fmt::format("{}.{:016x}{}", target.string(), random, suffix);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) {
      if (errno == EEXIST) continue;
      return Errno("create", path);
    }
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) {
      Status s = Errno("chmod", path);
      ::unlink(path.c_str());
      return s;
    }
    return ExclusiveFile{std::move(fd), std::move(path)};
  }
  return Status::IOError(
      fmt::format("{}: create: {} random temp names in a row were taken", target.string(), kTries));
}

Status WriteAll(int fd, std::string_view bytes, std::string_view name) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("{}: write: {}", name, std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned int mode) {
  Result<ExclusiveFile> created = CreateExclusiveFile(path, ".tmp-backout", mode);
  if (!created.ok()) return created.status();
  const std::filesystem::path tmp = created->path;
  UniqueFd fd = std::move(created->fd);
  auto fail = [&](std::string_view what) {
    Status s = Errno(what, tmp);
    fd.Reset();
    ::unlink(tmp.c_str());
    return s;
  };
  if (Status written = WriteAll(fd.get(), contents, tmp.string()); !written.ok()) {
    fd.Reset();
    ::unlink(tmp.c_str());
    return written;
  }
  if (::fsync(fd.get()) != 0) return fail("fsync");
  if (::close(fd.Release()) != 0) return fail("close");
  Status renamed = RenameDurably(tmp, path);
  if (!renamed.ok()) ::unlink(tmp.c_str());  // nothing there once the rename is done
  return renamed;
}

Status RenameDurably(const std::filesystem::path& from, const std::filesystem::path& to) {
  // rename() replaces `to` itself even when it is a symlink: the link is never followed.
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename into place", to);
  return SyncPath(to.has_parent_path() ? to.parent_path() : std::filesystem::path("."));
}

Status CreatePrivateDirectories(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::Ok();
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(dir.parent_path()));
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  return Status::Ok();
}

}  // namespace backout
