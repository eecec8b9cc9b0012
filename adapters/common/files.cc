#include "adapters/common/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "base/file_util.h"
#include "base/time.h"

namespace backout::adapters::common {

namespace fs = std::filesystem;

fs::path ResolvePath(const fs::path& base_dir, const std::string& path) {
  fs::path joined = base_dir / path;  // an absolute `path` replaces base_dir
  std::error_code ignored;            // without a working directory, keep the path as joined
  fs::path absolute = fs::absolute(joined, ignored);
  if (!absolute.empty()) joined = std::move(absolute);
  joined = joined.lexically_normal();
  if (!joined.has_filename() && joined.has_relative_path()) joined = joined.parent_path();
  return joined;
}

Status ErrnoError(std::string_view what, const fs::path& path) {
  return Status::IOError(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

std::string BackupName(std::string_view stem, const Invocation& invocation,
                       std::string_view extension) {
  return fmt::format("{}-{}-{}-a{}{}", stem, FormatUtcCompact(invocation.now_micros),
                     invocation.step_id, invocation.attempt, extension);
}

Result<fs::path> BackupFilePath(const Invocation& invocation, const std::string& to,
                                std::string_view stem, std::string_view extension) {
  const fs::path resolved = ResolvePath(invocation.base_dir, to);
  std::error_code ignored;  // "cannot tell" counts as "not a directory"
  if (to.ends_with('/') || fs::is_directory(resolved, ignored)) {
    BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(resolved));
    return resolved / BackupName(stem, invocation, extension);
  }
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(resolved.parent_path()));
  return resolved;
}

Status CheckRecordedDigest(const nlohmann::json& spec, std::string_view subject,
                           const std::string& sha256) {
  const auto recorded = spec.find("sha256");
  if (recorded == spec.end() || *recorded == sha256) return Status::Ok();
  return Status::ExpectationFailed(
      fmt::format("{} changed since it was taken (sha256 {} expected {})", subject, sha256,
                  recorded->get_ref<const std::string&>()));
}

StreamedFile::StreamedFile(fs::path path, std::string_view temp_suffix)
    : path_(std::move(path)), temp_suffix_(temp_suffix) {}

StreamedFile::~StreamedFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

Status StreamedFile::Open() {
  Result<ExclusiveFile> created = CreateExclusiveFile(path_, temp_suffix_);
  if (!created.ok()) return created.status();
  temp_ = std::move(created->path);
  fd_ = created->fd.Release();
  return Status::Ok();
}

Status StreamedFile::Append(std::string_view bytes) {
  hash_.Update(bytes);
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", temp_);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  // The disk writes what is here while the caller produces the rest, instead of all of it in
  // Commit's fsync.
  StartWritebackAsItGrows(fd_, bytes_, &written_back_);
  return Status::Ok();
}

Result<FileDigest> StreamedFile::Commit() {
  if (::fsync(fd_) != 0) return ErrnoError("cannot fsync", temp_);
  const int rc = ::close(std::exchange(fd_, -1));
  if (rc != 0) return ErrnoError("cannot close", temp_);
  // Once renamed, the temp name is free: the destructor's unlink of it finds nothing.
  BACKOUT_RETURN_IF_ERROR(RenameDurably(temp_, path_));
  committed_ = true;
  return FileDigest{bytes_, ToHex(hash_.Finish())};
}

}  // namespace backout::adapters::common
