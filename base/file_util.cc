#include "base/file_util.h"

#include <fcntl.h>
#include <fmt/format.h>
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

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned int mode) {
  const std::filesystem::path tmp = path.string() + ".tmp-backout";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    Status s = Errno("chmod", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Errno("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status s = Errno("fsync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("rename into place", path);
    ::unlink(tmp.c_str());
    return s;
  }
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  return SyncPath(dir);
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
