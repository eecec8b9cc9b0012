#include "journal/run_index.h"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace backout::journal {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFileHeader = "backout run index 1\n";
// Longer header lines are damage (a run id is at most 128 bytes).
constexpr std::size_t kMaxEntryHeaderBytes = 400;
// Longer renderings are damage: a summary is a few KB.
constexpr std::uint64_t kMaxRenderingBytes = 64u << 20;

// Detects damage, not forgery (the keyed check does that): 8 bytes per step.
std::uint64_t Checksum64(std::string_view bytes, std::uint64_t h) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ULL;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 31;
  }
  for (; i < bytes.size(); ++i) {
    h = (h ^ static_cast<unsigned char>(bytes[i])) * kMul;
  }
  h ^= bytes.size();
  h *= kMul;
  return h ^ (h >> 29);
}

// The check of an entry: over its header fields (before the check) and both renderings.
std::string EntryCheck(const ChainKey& key, std::string_view fields, std::string_view line,
                       std::string_view json) {
  if (!key.empty()) {
    std::string all;
    all.reserve(fields.size() + line.size() + json.size() + 2);
    all.append(fields).append(1, '\0').append(line).append(1, '\0').append(json);
    return ToHex(key.Mac(all)).substr(0, 32);
  }
  std::uint64_t h = Checksum64(fields, 0);
  h = Checksum64(line, h);
  h = Checksum64(json, h);
  return fmt::format("{:016x}", h);
}

std::string EntryFields(const RunSummary& s) {
  return fmt::format("R {} {} {} {} {:016x} {} {}", s.run_id, s.stamp.head.seq,
                     ToHex(s.stamp.head.hash), static_cast<int>(s.stamp.head.chain_mode),
                     s.stamp.lock_stamp, s.line.size(), s.json.size());
}

bool ParseU64(std::string_view text, std::uint64_t* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool ParseDigest(std::string_view hex, Digest* out) {
  if (hex.size() != 2 * out->size()) return false;
  for (std::size_t i = 0; i < out->size(); ++i) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(hex.data() + 2 * i, hex.data() + 2 * i + 2, value, 16);
    if (ec != std::errc() || end != hex.data() + 2 * i + 2) return false;
    (*out)[i] = static_cast<std::uint8_t>(value);
  }
  return true;
}

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t space = text.find(' ', start);
    const std::size_t end = space == std::string_view::npos ? text.size() : space;
    words.push_back(text.substr(start, end - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return words;
}

}  // namespace

RunStampReader::RunStampReader(fs::path journal_dir, ChainKey key)
    : journal_dir_(std::move(journal_dir)), key_(std::move(key)),
      dir_(::open(journal_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}

Result<RunStamp> RunStampReader::Read(const std::string& run_id) const {
  if (!dir_.valid()) {
    return Status::IOError(fmt::format("run {}: cannot open {}", run_id, journal_dir_.string()));
  }
  // "RUN/head" and "RUN/runner.lock" relative to the journal's descriptor.
  std::string relative = run_id;
  relative += '/';
  const std::size_t name_at = relative.size();
  relative += kHeadFileName;
  Result<Head> head = ReadHeadFileAt(dir_.get(), journal_dir_, relative, key_);
  if (!head.ok()) return head.status();
  relative.replace(name_at, std::string::npos, "runner.lock");
  // The lock file is a few dozen bytes (pid, host, since); more is read as damage-free text.
  char holder[512];
  const UniqueFd fd(::openat(dir_.get(), relative.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return Status::IOError(fmt::format("run {}: open runner.lock: {}", run_id, std::strerror(errno)));
  }
  const ssize_t n = ::pread(fd.get(), holder, sizeof holder, 0);
  if (n < 0) return Status::IOError(fmt::format("run {}: read runner.lock", run_id));
  return RunStamp{.head = *head,
                  .lock_stamp = Checksum64(std::string_view(holder, static_cast<std::size_t>(n)), 1)};
}

RunStampsAhead::RunStampsAhead(const RunStampReader& reader,
                               const std::vector<std::string>& run_ids)
    : reader_(reader), run_ids_(run_ids), slots_(kAhead / 2),
      thread_([this] { ReadEveryOther(); }) {}

RunStampsAhead::~RunStampsAhead() {
  {
    const std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void RunStampsAhead::ReadEveryOther() {
  for (std::size_t i = 0; i < run_ids_.size(); i += 2) {
    {
      std::unique_lock lock(mutex_);
      // Room when the id kAhead before this one was handed out (its slot is this one's).
      changed_.wait(lock, [&] { return stop_ || i < taken_ + kAhead; });
      if (stop_) return;
    }
    Result<RunStamp> stamp = reader_.Read(run_ids_[i]);
    {
      const std::lock_guard lock(mutex_);
      slots_[i / 2 % slots_.size()].emplace(std::move(stamp));
    }
    changed_.notify_all();
  }
}

Result<RunStamp> RunStampsAhead::Next() {
  const std::size_t i = next_++;
  if (i % 2 == 1) return reader_.Read(run_ids_[i]);
  std::optional<Result<RunStamp>> stamp;
  {
    std::unique_lock lock(mutex_);
    std::optional<Result<RunStamp>>& slot = slots_[i / 2 % slots_.size()];
    changed_.wait(lock, [&] { return slot.has_value(); });
    stamp.swap(slot);
    taken_ = i + 1;
  }
  changed_.notify_all();
  return std::move(*stamp);
}

Result<RunStamp> ReadRunStamp(const fs::path& journal_dir, const std::string& run_id,
                              const ChainKey& key) {
  return RunStampReader(journal_dir, key).Read(run_id);
}

RunIndexReader::RunIndexReader(const fs::path& journal_dir, ChainKey key)
    : path_(journal_dir / kRunIndexFileName), key_(std::move(key)) {
  file_ = std::fopen(path_.c_str(), "rbe");
  if (file_ == nullptr) {
    ended_ = true;
    if (errno != ENOENT) Damaged(fmt::format("cannot open it: {}", std::strerror(errno)));
    return;
  }
  std::string header(kFileHeader.size(), '\0');
  if (std::fread(header.data(), 1, header.size(), file_) != header.size() ||
      header != kFileHeader) {
    Damaged("it does not start with its header");
    return;
  }
  offset_ = kept_end_ = kFileHeader.size();
}

RunIndexReader::~RunIndexReader() {
  if (file_ != nullptr) std::fclose(file_);
}

void RunIndexReader::Damaged(std::string what) {
  damage_ = fmt::format("run index {} is damaged at byte {}: {}", path_.string(), offset_,
                        std::move(what));
  ended_ = true;
  current_.reset();
}

bool RunIndexReader::ReadEntry() {
  if (ended_) return false;
  char header[kMaxEntryHeaderBytes];
  if (std::fgets(header, sizeof header, file_) == nullptr) {
    ended_ = true;  // the end (a write cut short there reads as damage below, not here)
    return false;
  }
  const std::string_view line(header);
  if (line.empty() || line.back() != '\n') {
    Damaged("an entry header is cut short or too long");
    return false;
  }
  const std::vector<std::string_view> words = SplitSpaces(line.substr(0, line.size() - 1));
  RunSummary entry;
  std::uint64_t mode = 0;
  std::uint64_t line_bytes = 0;
  std::uint64_t json_bytes = 0;
  Head& head = entry.stamp.head;
  const auto parse_hex64 = [](std::string_view hex, std::uint64_t* out) {
    const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), *out, 16);
    return ec == std::errc() && end == hex.data() + hex.size();
  };
  if (words.size() != 9 || words[0] != "R" || !ParseU64(words[2], &head.seq) ||
      !ParseDigest(words[3], &head.hash) || !ParseU64(words[4], &mode) || mode > 1 ||
      !parse_hex64(words[5], &entry.stamp.lock_stamp) ||
      !ParseU64(words[6], &line_bytes) || !ParseU64(words[7], &json_bytes) ||
      line_bytes > kMaxRenderingBytes || json_bytes > kMaxRenderingBytes) {
    Damaged("an entry header does not parse");
    return false;
  }
  entry.run_id = std::string(words[1]);
  head.chain_mode = static_cast<ChainMode>(mode);
  entry.line.resize(line_bytes);
  entry.json.resize(json_bytes);
  char newline[2] = {};
  const bool complete = std::fread(entry.line.data(), 1, line_bytes, file_) == line_bytes &&
                        std::fread(&newline[0], 1, 1, file_) == 1 &&
                        std::fread(entry.json.data(), 1, json_bytes, file_) == json_bytes &&
                        std::fread(&newline[1], 1, 1, file_) == 1;
  if (!complete || newline[0] != '\n' || newline[1] != '\n') {
    Damaged("an entry is cut short");
    return false;
  }
  const std::string_view fields = line.substr(0, line.size() - 1 - words[8].size() - 1);
  if (EntryCheck(key_, fields, entry.line, entry.json) != words[8]) {
    Damaged(key_.empty() ? "an entry's checksum does not match"
                         : "an entry's check does not match (written without this journal key?)");
    return false;
  }
  current_start_ = offset_;
  offset_ += line.size() + line_bytes + json_bytes + 2;
  current_end_ = offset_;
  current_ = std::move(entry);
  return true;
}

const RunSummary* RunIndexReader::Find(const std::string& run_id) {
  while (current_ || ReadEntry()) {
    if (current_->run_id < run_id) {  // a run no longer listed: pass over it
      current_.reset();
      continue;
    }
    if (current_->run_id > run_id) return nullptr;
    return &*current_;
  }
  return nullptr;
}

const RunSummary* RunIndexReader::FindCurrent(const std::string& run_id,
                                              const Result<RunStamp>& stamp) {
  const RunSummary* entry = Find(run_id);
  return entry != nullptr && stamp.ok() && *stamp == entry->stamp ? entry : nullptr;
}

bool RunIndexReader::Keep() {
  if (!current_ || current_start_ != kept_end_) return false;
  kept_end_ = current_end_;
  return true;
}

bool RunIndexReader::NothingAfterKept() {
  if (current_ && current_start_ >= kept_end_) return false;
  if (!damage_.empty()) return false;
  while (ReadEntry()) {
    if (current_start_ >= kept_end_) return false;
  }
  return damage_.empty();
}

Status RunIndexReader::CopyPrefix(std::uint64_t bytes, std::FILE* out) const {
  if (file_ == nullptr) return Status::FailedPrecondition("run index: no index to copy from");
  if (std::fflush(out) != 0) return Status::IOError("run index: flush the new index");
  off_t from = 0;
  while (static_cast<std::uint64_t>(from) < bytes) {
    const ssize_t sent =
        ::sendfile(::fileno(out), ::fileno(file_), &from, bytes - static_cast<std::uint64_t>(from));
    if (sent <= 0) {
      return Status::IOError(fmt::format("run index: copy {}: {}", path_.string(),
                                         sent < 0 ? std::strerror(errno) : "short file"));
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<RunIndexWriter>> RunIndexWriter::Begin(const fs::path& journal_dir,
                                                              ChainKey key,
                                                              const RunIndexReader* prefix,
                                                              std::uint64_t prefix_bytes) {
  const fs::path temp =
      journal_dir / fmt::format("{}.tmp.{}", kRunIndexFileName, ::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::IOError(fmt::format("run index: create {}: {}", temp.string(),
                                       std::strerror(errno)));
  }
  std::FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    ::close(fd);
    return Status::IOError(fmt::format("run index: fdopen {}", temp.string()));
  }
  std::unique_ptr<RunIndexWriter> writer(new RunIndexWriter(journal_dir, temp, file, std::move(key)));
  if (prefix != nullptr && prefix_bytes > 0) {
    BACKOUT_RETURN_IF_ERROR(prefix->CopyPrefix(prefix_bytes, file));
    if (std::fseek(file, static_cast<long>(prefix_bytes), SEEK_SET) != 0) {
      return Status::IOError(fmt::format("run index: seek {}", temp.string()));
    }
  } else if (std::fwrite(kFileHeader.data(), 1, kFileHeader.size(), file) != kFileHeader.size()) {
    return Status::IOError(fmt::format("run index: write {}", temp.string()));
  }
  return writer;
}

RunIndexWriter::~RunIndexWriter() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  std::error_code ignored;
  fs::remove(temp_, ignored);
}

Status RunIndexWriter::Add(const RunSummary& summary) {
  const std::string fields = EntryFields(summary);
  const std::string header =
      fmt::format("{} {}\n", fields, EntryCheck(key_, fields, summary.line, summary.json));
  const bool written =
      std::fwrite(header.data(), 1, header.size(), file_) == header.size() &&
      std::fwrite(summary.line.data(), 1, summary.line.size(), file_) == summary.line.size() &&
      std::fputc('\n', file_) != EOF &&
      std::fwrite(summary.json.data(), 1, summary.json.size(), file_) == summary.json.size() &&
      std::fputc('\n', file_) != EOF;
  if (!written) return Status::IOError(fmt::format("run index: write {}", temp_.string()));
  return Status::Ok();
}

Status RunIndexWriter::Commit() {
  const bool closed = std::fclose(std::exchange(file_, nullptr)) == 0;
  std::error_code ec;
  if (closed) fs::rename(temp_, journal_dir_ / kRunIndexFileName, ec);
  if (!closed || ec) {
    fs::remove(temp_, ec);
    return Status::IOError(fmt::format("run index: put {} in place", temp_.string()));
  }
  return Status::Ok();
}

}  // namespace backout::journal
