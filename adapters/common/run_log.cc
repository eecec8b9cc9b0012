#include "adapters/common/run_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <utility>

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMagic = "=== backout log v";
constexpr std::string_view kVersion = "1";
constexpr std::string_view kHeaderEnd = " ===";
constexpr std::size_t kMaxNameBytes = 255;
constexpr std::uint64_t kMaxLength = std::uint64_t{1} << 40;
// The longest header line, newline included: magic, version, space, name, space, 13 digits,
// the end.
// How much of a tail that starts with NUL bytes is read to see whether it is all NUL (a power
// cut's unwritten extension is at most a few pages).
constexpr std::uint64_t kNulScanBytes = 1 << 20;
constexpr std::size_t kMaxHeaderBytes =
    kMagic.size() + kVersion.size() + 1 + kMaxNameBytes + 1 + 13 + kHeaderEnd.size() + 1;

Status Errno(std::string_view what, const fs::path& path, int error) {
  return Status::IOError(fmt::format("{} {}: {}", what, path.string(), std::strerror(error)));
}

// Reads up to `size` bytes at `offset`, fewer only at the end of the file.
Result<std::string> ReadAt(int fd, const fs::path& path, std::uint64_t offset, std::size_t size) {
  std::string out(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read run log", path, errno);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

bool AllNul(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\0'; });
}

// Whether `bytes` (no newline in them) can be the start of a header line: the beginning of
// one cut by the end of the file.
bool CouldStartHeader(std::string_view bytes) {
  const std::string magic = std::string(kMagic) + std::string(kVersion) + " ";
  if (bytes.size() <= magic.size()) return magic.starts_with(bytes);
  return bytes.starts_with(magic) &&
         std::all_of(bytes.begin(), bytes.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20; });
}

struct Header {
  std::string name;
  std::uint64_t length = 0;
};

// Parses one header line (newline excluded); the problem in words when it is not one.
Result<Header> ParseHeader(std::string_view line) {
  if (!line.starts_with(kMagic)) {
    return Status::Corruption(fmt::format("expected a frame header starting '{}'", kMagic));
  }
  line.remove_prefix(kMagic.size());
  const std::size_t version_end = line.find(' ');
  if (line.substr(0, version_end) != kVersion) {
    return Status::Corruption(fmt::format("unsupported run log version '{}' (this build reads {})",
                                          line.substr(0, version_end), kVersion));
  }
  line.remove_prefix(version_end + 1);
  if (!line.ends_with(kHeaderEnd)) {
    return Status::Corruption(fmt::format("expected the header to end with '{}'", kHeaderEnd));
  }
  line.remove_suffix(kHeaderEnd.size());
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos) {
    return Status::Corruption("expected a name and a byte count in the header");
  }
  Header header{std::string(line.substr(0, space)), 0};
  const std::string_view digits = line.substr(space + 1);
  const auto [end, error] =
      std::from_chars(digits.data(), digits.data() + digits.size(), header.length);
  if (digits.empty() || error != std::errc() || end != digits.data() + digits.size() ||
      (digits.size() > 1 && digits[0] == '0') || header.length > kMaxLength) {
    return Status::Corruption(
        fmt::format("expected a byte count in the header, found '{}'", digits));
  }
  if (!IsRunLogName(header.name)) {
    return Status::Corruption(fmt::format("'{}' is not a log name", header.name));
  }
  return header;
}

}  // namespace

bool IsRunLogName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameBytes && name.size() > 4 &&
         name.ends_with(".log") && std::all_of(name.begin(), name.end(), [](char c) {
           return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
         });
}

std::string RunLogHeader(std::string_view name, std::uint64_t length) {
  return fmt::format("{}{} {} {}{}\n", kMagic, kVersion, name, length, kHeaderEnd);
}

std::string EncodeRunLogFrame(std::string_view name, std::string_view payload) {
  std::string frame = RunLogHeader(name, payload.size());
  frame.append(payload);
  frame.push_back('\n');
  return frame;
}

Result<RunLogReader> RunLogReader::Open(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("no run log {}", path.string()));
    return Errno("cannot open run log", path, errno);
  }
  UniqueFd file(fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0) return Errno("cannot stat run log", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Status::IOError(fmt::format("run log {} is not a regular file", path.string()));
  }
  return RunLogReader(path, std::move(file), static_cast<std::uint64_t>(st.st_size));
}

Result<std::optional<RunLogFrame>> RunLogReader::Next() {
  if (offset_ >= size_ || tail_) return std::optional<RunLogFrame>();
  const auto cut = [&](std::uint64_t bytes) {
    tail_ = RunLogTruncatedTail{offset_, bytes};
    return std::optional<RunLogFrame>();
  };
  const auto corrupt = [&](std::uint64_t at, std::string_view what) {
    return Status::Corruption(
        fmt::format("run log {}: frame at offset {}: {}", path_.string(), at, what));
  };
  const std::uint64_t left = size_ - offset_;
  Result<std::string> head = ReadAt(fd_.get(), path_, offset_,
                                    static_cast<std::size_t>(std::min<std::uint64_t>(
                                        left, kMaxHeaderBytes)));
  if (!head.ok()) return head.status();
  const std::size_t newline = head->find('\n');
  if (newline == std::string::npos) {
    // Only the end of the file may cut a header short.
    if (left <= kMaxHeaderBytes && CouldStartHeader(*head)) return cut(left);
    if (AllNul(*head) && left <= kNulScanBytes) {
      Result<std::string> rest = ReadAt(fd_.get(), path_, offset_, static_cast<std::size_t>(left));
      if (!rest.ok()) return rest.status();
      if (AllNul(*rest)) return cut(left);
    }
    return corrupt(offset_, fmt::format("expected a header line of at most {} bytes",
                                        kMaxHeaderBytes));
  }
  Result<Header> header = ParseHeader(std::string_view(*head).substr(0, newline));
  if (!header.ok()) return corrupt(offset_, header.status().message());
  RunLogFrame frame{std::move(header->name), offset_, offset_ + newline + 1, header->length};
  if (frame.end() > size_) return cut(left);
  Result<std::string> trailer = ReadAt(fd_.get(), path_, frame.end() - 1, 1);
  if (!trailer.ok()) return trailer.status();
  if (*trailer != "\n") {
    return corrupt(offset_, fmt::format("expected a newline after the {} payload bytes of {}, "
                                        "at offset {}",
                                        frame.length, frame.name, frame.end() - 1));
  }
  offset_ = frame.end();
  return std::optional<RunLogFrame>(std::move(frame));
}

Result<std::string> RunLogReader::ReadPayload(const RunLogFrame& frame) const {
  Result<std::string> payload =
      ReadAt(fd_.get(), path_, frame.payload_offset, static_cast<std::size_t>(frame.length));
  if (payload.ok() && payload->size() != frame.length) {
    return Status::IOError(fmt::format("run log {} shrank while it was read", path_.string()));
  }
  return payload;
}

Result<RunLogContents> ReadRunLog(const fs::path& path) {
  Result<RunLogReader> reader = RunLogReader::Open(path);
  if (!reader.ok()) return reader.status();
  RunLogContents contents;
  std::map<std::string, std::size_t, std::less<>> index;
  while (true) {
    Result<std::optional<RunLogFrame>> frame = reader->Next();
    if (!frame.ok()) return frame.status();
    if (!frame->has_value()) break;
    Result<std::string> payload = reader->ReadPayload(**frame);
    if (!payload.ok()) return payload.status();
    const auto [it, added] = index.try_emplace((*frame)->name, contents.sections.size());
    if (added) contents.sections.push_back({(*frame)->name, ""});
    contents.sections[it->second].content.append(*payload);
  }
  contents.truncated_tail = reader->truncated_tail();
  return contents;
}

RunLog::RunLog(const fs::path& path)
    : path_([&] {
        std::error_code ec;
        fs::path absolute = fs::absolute(path, ec);
        return ec ? path : absolute;
      }()) {}

Status RunLog::OpenLocked() {
  const int fd =
      ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open run log", path_, errno);
  UniqueFd file(fd);
  // Where the whole frames end, found by the reader's own walk over the headers.
  Result<RunLogReader> reader = RunLogReader::Open(path_);
  if (!reader.ok()) return reader.status();
  std::uint64_t end = 0;
  while (true) {
    Result<std::optional<RunLogFrame>> frame = reader->Next();
    if (!frame.ok()) {
      if (frame.status().code() != Code::kCorruption) return frame.status();
      // Damaged before its end: keep every byte for the post-mortem, under a name of its own,
      // and start a new file.
      struct stat st {};
      const std::uint64_t size =
          ::fstat(file.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
      fs::path aside = path_;
      aside += fmt::format(".damaged-{}", size);
      std::error_code ec;
      for (int n = 2; fs::exists(aside, ec); ++n) {
        aside = path_;
        aside += fmt::format(".damaged-{}.{}", size, n);
      }
      if (::rename(path_.c_str(), aside.c_str()) != 0) {
        return Errno("cannot move aside damaged run log", path_, errno);
      }
      repair_notice_ = fmt::format("{}; moved to {}, a new run log started",
                                   frame.status().message(), aside.string());
      return OpenLocked();
    }
    if (!frame->has_value()) break;
    end = (*frame)->end();
  }
  if (const std::optional<RunLogTruncatedTail>& tail = reader->truncated_tail()) {
    // The cut bytes are kept beside the log before they go: they are the last output of an
    // attempt that was killed, and a length damaged by something else than a crash would
    // otherwise take whole frames with it.
    Result<std::string> cut =
        ReadAt(file.get(), path_, tail->offset, static_cast<std::size_t>(tail->bytes));
    if (!cut.ok()) return cut.status();
    fs::path kept = path_;
    kept += fmt::format(".cut-{}", tail->offset);
    BACKOUT_RETURN_IF_ERROR(WriteFileAtomically(kept, *cut, 0600));
    if (::ftruncate(file.get(), static_cast<off_t>(tail->offset)) != 0) {
      return Errno("cannot cut the truncated tail of run log", path_, errno);
    }
    repair_notice_ = fmt::format(
        "run log {}: its last frame was cut short (a crash while it was written): {} bytes "
        "from offset {} removed, kept in {}",
        path_.string(), tail->bytes, tail->offset, kept.string());
  }
  fd_ = std::move(file);
  end_ = end;
  return Status::Ok();
}

Status RunLog::Append(std::string_view name, std::string_view payload) {
  const std::string header = RunLogHeader(name, payload.size());
  std::lock_guard lock(mu_);
  if (!broken_.ok()) return broken_;
  if (!fd_.valid()) {
    // A file that cannot be opened (or repaired) stays so for the session: no rescan per step.
    if (Status s = OpenLocked(); !s.ok()) {
      broken_ = s;
      return s;
    }
  }
  iovec parts[3] = {{const_cast<char*>(header.data()), header.size()},
                    {const_cast<char*>(payload.data()), payload.size()},
                    {const_cast<char*>("\n"), 1}};
  const std::uint64_t total = header.size() + payload.size() + 1;
  // One writev; a short one (a signal, the disk filling up) goes on from where it stopped,
  // which is still the same frame: the mutex keeps every other frame out until it is whole.
  std::uint64_t written = 0;
  int first = 0;
  while (written < total) {
    const ssize_t n = ::writev(fd_.get(), parts + first, 3 - first);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const Status failed = Errno("cannot write run log", path_, n < 0 ? errno : ENOSPC);
      if (written > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(end_)) != 0) {
        broken_ = failed;
      }
      return failed;
    }
    written += static_cast<std::uint64_t>(n);
    for (std::size_t done = static_cast<std::size_t>(n); done > 0;) {
      const std::size_t step = std::min(done, parts[first].iov_len);
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + step;
      parts[first].iov_len -= step;
      done -= step;
      if (parts[first].iov_len == 0 && first < 2) ++first;
    }
  }
  end_ += total;
  return Status::Ok();
}

std::string RunLog::TakeRepairNotice() {
  std::lock_guard lock(mu_);
  return std::exchange(repair_notice_, std::string());
}

Status AttemptLog::Begin() {
  if (begun_) return failed_;
  begun_ = true;
  failed_ = run_log_.Append(name_, "");
  return failed_;
}

Status AttemptLog::Append(std::string_view bytes) {
  if (!begun_) BACKOUT_RETURN_IF_ERROR(Begin());
  if (!failed_.ok() || bytes.empty()) return failed_;
  failed_ = run_log_.Append(name_, bytes);
  if (failed_.ok()) {
    hash_.Update(bytes);
    bytes_ += bytes.size();
  }
  return failed_;
}

FileDigest AttemptLog::Finish() { return FileDigest{bytes_, ToHex(hash_.Finish())}; }

}  // namespace backout::adapters
