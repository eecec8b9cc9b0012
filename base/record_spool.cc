#include "base/record_spool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>

#include "base/env.h"

namespace backout {
namespace {

constexpr std::size_t kFrameHeader = 4;  // the record's length, little-endian
constexpr std::size_t kReadChunk = std::size_t{1} << 20;

void AppendFrameHeader(std::uint32_t length, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((length >> (8 * i)) & 0xff));
}

std::uint32_t FrameLength(std::string_view header) {
  std::uint32_t length = 0;
  for (int i = 0; i < 4; ++i) {
    length |= static_cast<std::uint32_t>(static_cast<unsigned char>(header[i])) << (8 * i);
  }
  return length;
}

// TMPDIR as given (one that does not exist is an error, not a reason to write elsewhere),
// else /tmp.
std::filesystem::path TemporaryFolder() {
  const std::optional<std::string> tmpdir = Env::Default()->GetVar("TMPDIR");
  return tmpdir && !tmpdir->empty() ? std::filesystem::path(*tmpdir)
                                    : std::filesystem::path("/tmp");
}

Result<UniqueFd> OpenAnonymousFile(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd.valid()) return fd;
  if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return Status::IOError(fmt::format("cannot create a temporary file in {}: {}", dir.string(),
                                       std::strerror(errno)));
  }
  return detail::CreateUnlinkedFile(dir);
}

// Parses the whole frames at the front of `*bytes`, visiting each record, and leaves the rest.
Status VisitFrames(std::string_view* bytes,
                   const std::function<Status(std::string_view record)>& visit) {
  while (bytes->size() >= kFrameHeader) {
    const std::uint32_t length = FrameLength(*bytes);
    if (bytes->size() - kFrameHeader < length) break;
    BACKOUT_RETURN_IF_ERROR(visit(bytes->substr(kFrameHeader, length)));
    bytes->remove_prefix(kFrameHeader + length);
  }
  return Status::Ok();
}

}  // namespace

RecordSpool::RecordSpool(std::size_t memory_limit) : memory_limit_(memory_limit) {}

Status RecordSpool::Append(std::string_view record) {
  if (!broken_.ok()) return broken_;
  if (record.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument(
        fmt::format("a record of {} bytes is too long to spool", record.size()));
  }
  AppendFrameHeader(static_cast<std::uint32_t>(record.size()), &held_);
  held_.append(record);
  ++records_;
  if (held_.size() < memory_limit_) return Status::Ok();
  broken_ = Spill();
  return broken_;
}

Status RecordSpool::Spill() {
  if (!file_.valid()) {
    folder_ = TemporaryFolder();
    Result<UniqueFd> fd = OpenAnonymousFile(folder_);
    if (!fd.ok()) return fd.status();
    file_ = std::move(*fd);
  }
  std::string_view rest = held_;
  while (!rest.empty()) {
    const ssize_t n = ::pwrite(file_.get(), rest.data(), rest.size(),
                               static_cast<off_t>(file_bytes_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IOError(fmt::format("cannot write a temporary file in {}: {}",
                                         folder_.string(),
                                         n < 0 ? std::strerror(errno) : "nothing written"));
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
    file_bytes_ += static_cast<std::uint64_t>(n);
  }
  held_.clear();
  return Status::Ok();
}

Status RecordSpool::ReadRecords(const std::function<Status(std::string_view record)>& visit) const {
  if (!broken_.ok()) return broken_;
  // The file holds whole frames (Spill writes all that is held), so a frame never straddles
  // the file and what is held. Each read goes after the start of a frame the last one cut,
  // moved to the front of the buffer; the buffer grows for a frame longer than a read.
  std::string buffer;
  std::size_t carried = 0;
  for (std::uint64_t offset = 0; offset < file_bytes_;) {
    std::size_t room = kReadChunk;
    if (carried >= kFrameHeader) {
      room = std::max(room, kFrameHeader + FrameLength(buffer) - carried);
    }
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(room, file_bytes_ - offset));
    if (buffer.size() < carried + want) buffer.resize(carried + want);
    const ssize_t n =
        ::pread(file_.get(), buffer.data() + carried, want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IOError(fmt::format("cannot read back a temporary file: {}",
                                         n < 0 ? std::strerror(errno) : "it is shorter"));
    }
    offset += static_cast<std::uint64_t>(n);
    std::string_view bytes(buffer.data(), carried + static_cast<std::size_t>(n));
    BACKOUT_RETURN_IF_ERROR(VisitFrames(&bytes, visit));
    carried = bytes.size();
    std::memmove(buffer.data(), bytes.data(), carried);
  }
  if (carried != 0) {
    return Status::IOError("a temporary file ends inside a record (it was changed)");
  }
  std::string_view held = held_;
  BACKOUT_RETURN_IF_ERROR(VisitFrames(&held, visit));
  return Status::Ok();
}

namespace detail {

Result<UniqueFd> CreateUnlinkedFile(const std::filesystem::path& dir) {
  // Not every file system has O_TMPFILE: the project's one exclusive create (a name nobody
  // can have planted), gone from the folder before anything is written to it.
  Result<ExclusiveFile> created = CreateExclusiveFile(dir / ".backout-spool", "");
  if (!created.ok()) return created.status();
  if (::unlink(created->path.c_str()) != 0) {
    return Status::IOError(fmt::format("cannot remove the temporary file {}: {}",
                                       created->path.string(), std::strerror(errno)));
  }
  return std::move(created->fd);
}

}  // namespace detail

}  // namespace backout
