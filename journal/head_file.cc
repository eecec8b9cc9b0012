#include "journal/head_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

namespace backout::journal {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "BKOHEAD1";
constexpr std::size_t kCheckedBytes = 56;  // the check covers [0, 56)

Status ErrnoError(std::string_view what, const fs::path& path) {
  return Status::IOError(fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
}

void PutU64(std::string* out, std::size_t at, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    (*out)[at + static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
}

std::uint64_t GetU64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in[at + i]);
  return v;
}

Digest Check(std::string_view checked, ChainMode mode, const ChainKey& key) {
  return mode == ChainMode::kHmacSha256 ? key.Mac(checked) : Sha256(checked);
}

// The head in one slot, or why the slot is not valid.
Result<Head> DecodeSlot(std::string_view slot, const ChainKey& key) {
  if (std::all_of(slot.begin(), slot.end(), [](char c) { return c == 0; })) {
    return Status::NotFound("empty");
  }
  if (slot.substr(0, kMagic.size()) != kMagic) return Status::Corruption("bad magic");
  const auto mode_byte = static_cast<std::uint8_t>(slot[8]);
  if (mode_byte > 1) return Status::Corruption(fmt::format("unknown chain mode {}", mode_byte));
  if (std::any_of(slot.begin() + 9, slot.begin() + 16, [](char c) { return c != 0; })) {
    return Status::Corruption("reserved bytes are not zero");
  }
  Head head;
  head.chain_mode = static_cast<ChainMode>(mode_byte);
  head.seq = GetU64(slot, 16);
  std::memcpy(head.hash.data(), slot.data() + 24, head.hash.size());
  if (head.seq == 0) return Status::Corruption("seq 0");
  if (head.chain_mode == ChainMode::kHmacSha256 && key.empty()) {
    return Status::FailedPrecondition("keyed");
  }
  const Digest check = Check(slot.substr(0, kCheckedBytes), head.chain_mode, key);
  if (std::memcmp(check.data(), slot.data() + kCheckedBytes, check.size()) != 0) {
    return Status::Corruption(
        head.chain_mode == ChainMode::kHmacSha256
            ? "checksum mismatch (or BACKOUT_JOURNAL_KEY is not this run's key)"
            : "checksum mismatch");
  }
  return head;
}

}  // namespace

Head HeadOf(const std::vector<Record>& records) { return HeadOf(records.back()); }

Head HeadOf(const Record& record) {
  return Head{.seq = record.seq, .hash = record.hash, .chain_mode = record.chain_mode};
}

std::string EncodeHeadSlot(const Head& head, const ChainKey& key) {
  std::string slot(kHeadSlotBytes, '\0');
  slot.replace(0, kMagic.size(), kMagic);
  slot[8] = static_cast<char>(head.chain_mode);
  PutU64(&slot, 16, head.seq);
  std::memcpy(slot.data() + 24, head.hash.data(), head.hash.size());
  const Digest check = Check(std::string_view(slot).substr(0, kCheckedBytes), head.chain_mode, key);
  std::memcpy(slot.data() + kCheckedBytes, check.data(), check.size());
  return slot;
}

Result<Head> ReadHeadFile(const fs::path& path, const ChainKey& key, int* slot_read) {
  return ReadHeadFileAt(AT_FDCWD, fs::path(), path, key, slot_read);
}

Result<Head> ReadHeadFileAt(int dir_fd, const fs::path& dir, const fs::path& relative,
                            const ChainKey& key, int* slot_read) {
  const auto path = [&] { return (dir / relative).string(); };  // for messages only
  UniqueFd fd(::openat(dir_fd, relative.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("head file {} does not exist", path()));
    return Status::IOError(fmt::format("{}: cannot open: {}", path(), std::strerror(errno)));
  }
  // One byte more than a head file has tells a longer file from a whole one in one read (a
  // read of a regular file is short only at its end).
  char buffer[kHeadFileBytes + 1];
  ssize_t n = 0;
  do {
    n = ::pread(fd.get(), buffer, sizeof buffer, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::IOError(fmt::format("{}: read failed: {}", path(), std::strerror(errno)));
  auto size = static_cast<std::size_t>(n);
  if (size != kHeadFileBytes) {
    struct stat st {};
    if (size > kHeadFileBytes && ::fstat(fd.get(), &st) == 0) size = static_cast<std::size_t>(st.st_size);
    return Status::Corruption(fmt::format("head file {} is damaged: {} bytes, expected {}",
                                          path(), size, kHeadFileBytes));
  }
  const std::string_view bytes(buffer, kHeadFileBytes);
  std::optional<Head> best;
  int best_slot = -1;
  std::string problems;
  bool keyed_without_key = false;
  for (int i = 0; i < 2; ++i) {
    const std::string_view slot = bytes.substr(
        static_cast<std::size_t>(i) * kHeadSlotStride, kHeadSlotBytes);
    Result<Head> head = DecodeSlot(slot, key);
    if (!head.ok()) {
      keyed_without_key |= head.status().code() == Code::kFailedPrecondition;
      problems +=
          fmt::format("{}slot {}: {}", problems.empty() ? "" : "; ", i, head.status().message());
      continue;
    }
    if (!best || head->seq > best->seq) {
      best = *head;
      best_slot = i;
    }
  }
  if (best) {
    if (slot_read != nullptr) *slot_read = best_slot;
    return *best;
  }
  if (keyed_without_key) {
    return Status::Corruption(
        fmt::format("head file {} is keyed (HMAC-SHA256): set BACKOUT_JOURNAL_KEY to verify it",
                    path()));
  }
  return Status::Corruption(
      fmt::format("head file {} is damaged: no valid slot ({})", path(), problems));
}

Status CheckAgainstHead(const std::vector<Record>& records, const Head& head,
                        const fs::path& head_path) {
  const std::uint64_t last = records.empty() ? 0 : records.back().seq;
  // Records are seq 1..n without gaps (checked while reading), so index = seq - 1.
  std::optional<Head> at_head;
  if (head.seq >= 1 && head.seq <= last) at_head = HeadOf(records[head.seq - 1]);
  return CheckAgainstHead(last, at_head, head, head_path);
}

Status CheckAgainstHead(std::uint64_t last, const std::optional<Head>& at, const Head& head,
                        const fs::path& head_path) {
  if (last < head.seq || !at) {
    return Status::Corruption(fmt::format(
        "the journal ends at event #{} but its head file {} records event #{} (hash {}) as "
        "acknowledged: {} lost (a write-ahead log or table file of the run was deleted, cut "
        "short or damaged)",
        last, head_path.string(), head.seq, ToHex(head.hash),
        last + 1 == head.seq ? fmt::format("event #{} is", head.seq)
                             : fmt::format("events #{} to #{} are", last + 1, head.seq)));
  }
  if (at->hash != head.hash) {
    return Status::Corruption(
        fmt::format("event #{} has hash {} but the head file {} records {} for it: the journal was "
                    "rewritten after that event was acknowledged",
                    head.seq, ToHex(at->hash), head_path.string(), ToHex(head.hash)));
  }
  if (at->chain_mode != head.chain_mode) {
    return Status::Corruption(fmt::format(
        "the head file {} is {} but the run is {}: one of them was rewritten", head_path.string(),
        ChainModeName(head.chain_mode), ChainModeName(at->chain_mode)));
  }
  return Status::Ok();
}

Result<HeadFile> HeadFile::Create(const fs::path& path, const Head& head, const ChainKey& key) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError("create head file", path);
  std::string bytes(kHeadFileBytes, '\0');
  bytes.replace(0, kHeadSlotBytes, EncodeHeadSlot(head, key));
  if (::pwrite(fd.get(), bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    return ErrnoError("write head file", path);
  }
  if (::fdatasync(fd.get()) != 0) return ErrnoError("fdatasync head file", path);
  return HeadFile(std::move(fd), path, 1);
}

Result<HeadFile> HeadFile::Open(const fs::path& path, int current_slot) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open head file", path);
  return HeadFile(std::move(fd), path, current_slot == 0 ? 1 : 0);
}

Status HeadFile::Write(const Head& head, const ChainKey& key) {
  const std::string slot = EncodeHeadSlot(head, key);
  const auto offset = static_cast<off_t>(static_cast<std::size_t>(next_slot_) * kHeadSlotStride);
  if (::pwrite(fd_.get(), slot.data(), slot.size(), offset) != static_cast<ssize_t>(slot.size())) {
    return ErrnoError("write head file", path_);
  }
  // fdatasync, not fsync: the size never changes, so only the data needs to reach the disk.
  if (::fdatasync(fd_.get()) != 0) return ErrnoError("fdatasync head file", path_);
  next_slot_ = 1 - next_slot_;
  return Status::Ok();
}

}  // namespace backout::journal
