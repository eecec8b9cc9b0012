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
  // Not every file system has O_TMPFILE: a named file nobody else can have made (O_EXCL), gone
  // from the folder before anything is written to it.
  if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
    std::string name = (dir / "backout-spool-XXXXXX").string();
    fd.Reset(::mkostemp(name.data(), O_CLOEXEC));
    if (fd.valid()) {
      ::unlink(name.c_str());
      return fd;
    }
  }
  return Status::IOError(fmt::format("cannot create a temporary file in {}: {}", dir.string(),
                                     std::strerror(errno)));
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
  const std::filesystem::path dir = TemporaryFolder();
  if (!file_.valid()) {
    Result<UniqueFd> fd = OpenAnonymousFile(dir);
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
                                         dir.string(),
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
  // the file and what is held.
  std::string pending;
  std::string chunk(kReadChunk, '\0');
  for (std::uint64_t offset = 0; offset < file_bytes_;) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(kReadChunk, file_bytes_ - offset));
    const ssize_t n = ::pread(file_.get(), chunk.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::IOError(fmt::format("cannot read back a temporary file: {}",
                                         n < 0 ? std::strerror(errno) : "it is shorter"));
    }
    offset += static_cast<std::uint64_t>(n);
    std::string_view bytes(chunk.data(), static_cast<std::size_t>(n));
    if (!pending.empty()) {
      // The frame the last chunk began: only its bytes are copied.
      const auto take = [&](std::size_t wanted) {
        const std::size_t taken = std::min(wanted, bytes.size());
        pending.append(bytes.substr(0, taken));
        bytes.remove_prefix(taken);
      };
      if (pending.size() < kFrameHeader) take(kFrameHeader - pending.size());
      if (pending.size() >= kFrameHeader) {
        take(kFrameHeader + FrameLength(pending) - pending.size());
        if (pending.size() == kFrameHeader + FrameLength(pending)) {
          BACKOUT_RETURN_IF_ERROR(visit(std::string_view(pending).substr(kFrameHeader)));
          pending.clear();
        }
      }
      if (!pending.empty()) continue;  // the chunk ended inside that frame
    }
    BACKOUT_RETURN_IF_ERROR(VisitFrames(&bytes, visit));
    // What is left is the start of a frame the next chunk finishes.
    pending.assign(bytes);
  }
  if (!pending.empty()) {
    return Status::IOError("a temporary file ends inside a record (it was changed)");
  }
  std::string_view held = held_;
  BACKOUT_RETURN_IF_ERROR(VisitFrames(&held, visit));
  return Status::Ok();
}

}  // namespace backout
