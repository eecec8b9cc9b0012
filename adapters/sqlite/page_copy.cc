#include "adapters/sqlite/page_copy.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/common/files.h"
#include "adapters/sqlite/content.h"
#include "base/file_util.h"

namespace backout::adapters::sqlite {
namespace {

// Pages copied per sqlite3_backup_step: 1 MiB with the default 4 KiB page, so a stop is
// noticed within milliseconds without paying per-step overhead on every page.
constexpr int kPagesPerStep = 256;

// Bytes read (and written) at a time when copying or hashing a database file: large enough
// that the calls cost nothing next to moving the bytes, small enough that a stop is noticed
// within milliseconds.
constexpr std::size_t kChunkBytes = 1 << 20;

// How many chunks the hash may fall behind the reads before they wait for it: enough to
// ride out the hash thread losing its core for a few scheduler ticks. On the shared 2-core
// benchmark machine a ring of 4 copied 1.1 GB at half the speed of a ring of 8 or 16.
constexpr std::size_t kHashBuffers = 16;

constexpr std::chrono::seconds kProgressInterval{1};

// sqlite3_backup_finish also rolls back the destination's transaction of an unfinished copy.
struct BackupFinisher {
  void operator()(sqlite3_backup* backup) const { sqlite3_backup_finish(backup); }
};
using BackupHandle = std::unique_ptr<sqlite3_backup, BackupFinisher>;

// Turns page counts into progress lines, throttled so a fast copy does not flood the sink.
class ProgressReporter {
 public:
  ProgressReporter(const ProgressSink& sink, std::string_view label) : sink_(sink), label_(label) {}

  void Update(int copied, int total, bool finished) {
    if (!sink_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!finished && now - last_line_ < kProgressInterval) return;
    last_line_ = now;
    const std::int64_t percent = total > 0 ? static_cast<std::int64_t>(copied) * 100 / total : 100;
    sink_(fmt::format("{} {}% ({}/{} pages)", label_, percent, copied, total));
  }

 private:
  const ProgressSink& sink_;
  std::string_view label_;
  // One interval ago, so that the first update is shown at once.
  std::chrono::steady_clock::time_point last_line_ =
      std::chrono::steady_clock::now() - kProgressInterval;
};

// The handle SQLite reads `db`'s main database file with. The file is read through it, not
// through a descriptor of our own: closing any descriptor of a file drops every POSIX lock
// this process holds on that file, including the shared lock of a read transaction.
Result<sqlite3_file*> MainDatabaseFile(Connection& db, std::string_view label) {
  sqlite3_file* file = nullptr;
  const int rc = sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file);
  if (rc != SQLITE_OK) return db.Error(rc, label);
  if (file == nullptr || file->pMethods == nullptr) {
    return Status::IOError(fmt::format("{}: {} is not open", label, db.path().string()));
  }
  return file;
}

// The integer `sql` (a query) returns.
Result<std::int64_t> QueryInteger(Connection& db, std::string_view sql, std::string_view label) {
  Result<nlohmann::json> value = QueryFirstValue(db, sql, label);
  if (!value.ok()) return value.status();
  if (!value->is_number_integer()) {
    return Status::IOError(fmt::format("{}: {} returned {}", label, sql, value->dump()));
  }
  return value->get<std::int64_t>();
}

Status WriteAll(int fd, std::string_view bytes, const std::filesystem::path& path,
                std::string_view label) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return common::ErrnoError(fmt::format("{}: cannot write", label), path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return Status::Ok();
}

// SHA-256 of a file's chunks, in order, computed on a thread of its own while the caller
// reads (and writes) the chunks after them. The chunks live in a ring of buffers: the caller
// fills the next free one and submits it; the hash frees it again. Several buffers let the
// hash fall behind for a while (its thread shares the machine's cores) without stalling the
// reads.
class PipelinedHash {
 public:
  PipelinedHash(std::size_t buffers, std::size_t buffer_bytes)
      : buffers_(buffers, std::vector<char>(buffer_bytes)),
        lengths_(buffers),
        thread_([this] { HashSubmitted(); }) {}

  ~PipelinedHash() {
    {
      const std::lock_guard lock(mutex_);
      closing_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  PipelinedHash(const PipelinedHash&) = delete;
  PipelinedHash& operator=(const PipelinedHash&) = delete;

  // The buffer to fill with the next chunk; waits while every buffer is still to be hashed.
  std::vector<char>& NextBuffer() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return submitted_ - hashed_ < buffers_.size(); });
    return buffers_[submitted_ % buffers_.size()];
  }

  // Hands the first `length` bytes of the buffer NextBuffer() returned to the hash.
  void Submit(std::size_t length) {
    {
      const std::lock_guard lock(mutex_);
      lengths_[submitted_ % buffers_.size()] = length;
      ++submitted_;
    }
    changed_.notify_all();
  }

  // Waits until every submitted chunk is hashed; the digest of them all.
  Digest Finish() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return hashed_ == submitted_; });
    return hash_.Finish();
  }

 private:
  void HashSubmitted() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [this] { return hashed_ < submitted_ || closing_; });
      if (closing_) return;  // the copy ended early: what is left is not wanted
      const std::size_t index = hashed_ % buffers_.size();
      lock.unlock();
      hash_.Update(std::string_view(buffers_[index].data(), lengths_[index]));
      lock.lock();
      ++hashed_;
      changed_.notify_all();
    }
  }

  std::vector<std::vector<char>> buffers_;
  std::vector<std::size_t> lengths_;
  Sha256Stream hash_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t submitted_ = 0;  // chunks handed over so far
  std::uint64_t hashed_ = 0;     // chunks hashed so far
  bool closing_ = false;
  std::thread thread_;  // last: starts once everything it uses exists
};

// Receives each chunk read, in order, and the number of bytes read so far.
using ChunkSink = std::function<Status(std::string_view chunk, std::uint64_t done)>;

// Reads bytes [0, size) of `file` (`db`'s main database file) in chunks, hands each to
// `consume` (when set) and returns the size and SHA-256 of the whole.
Result<FileDigest> ReadAndHash(const Connection& db, sqlite3_file* file, std::uint64_t size,
                               std::string_view label, const ChunkSink& consume) {
  PipelinedHash hash(kHashBuffers,
                     static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, size)));
  for (std::uint64_t done = 0; done < size;) {
    if (db.stop().Fired()) return db.stop().Check().WithContext(label);
    std::vector<char>& buffer = hash.NextBuffer();
    const auto length = static_cast<int>(std::min<std::uint64_t>(buffer.size(), size - done));
    const int rc =
        file->pMethods->xRead(file, buffer.data(), length, static_cast<sqlite3_int64>(done));
    if (rc != SQLITE_OK) {
      return Status::IOError(
          fmt::format("{}: cannot read {}: {}", label, db.path().string(), sqlite3_errstr(rc)));
    }
    done += static_cast<std::uint64_t>(length);
    if (consume) {
      BACKOUT_RETURN_IF_ERROR(
          consume(std::string_view(buffer.data(), static_cast<std::size_t>(length)), done));
    }
    hash.Submit(static_cast<std::size_t>(length));
  }
  return FileDigest{size, ToHex(hash.Finish())};
}

}  // namespace

Status CopyDatabase(Connection& source, Connection& destination, const Connection& live,
                    std::string_view label, const ProgressSink& progress) {
  BackupHandle backup(sqlite3_backup_init(destination.handle(), "main", source.handle(), "main"));
  if (backup == nullptr) {
    return destination.Error(sqlite3_errcode(destination.handle()), label);
  }
  ProgressReporter reporter(progress, label);
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK) {
    // Returning drops `backup`, which rolls the destination back.
    if (live.stop().Fired()) return live.stop().Check().WithContext(label);
    rc = sqlite3_backup_step(backup.get(), kPagesPerStep);
    const int total = sqlite3_backup_pagecount(backup.get());
    reporter.Update(total - sqlite3_backup_remaining(backup.get()), total, rc == SQLITE_DONE);
  }
  if ((rc & 0xff) == SQLITE_BUSY) return live.Error(rc, label);
  // On failure sqlite3_backup_finish returns the step's error and leaves its message on the
  // destination connection.
  const int finish_rc = sqlite3_backup_finish(backup.release());
  if (rc != SQLITE_DONE || finish_rc != SQLITE_OK) {
    return destination.Error(finish_rc != SQLITE_OK ? finish_rc : rc, label);
  }
  return Status::Ok();
}

Result<FileDigest> CopyDatabaseFile(Connection& source, const std::filesystem::path& destination,
                                    std::string_view label, const ProgressSink& progress) {
  Result<sqlite3_file*> file = MainDatabaseFile(source, label);
  if (!file.ok()) return file.status();
  Result<std::int64_t> page_size =
      QueryInteger(source, "SELECT page_size FROM pragma_page_size", label);
  if (!page_size.ok()) return page_size.status();
  Result<std::int64_t> page_count =
      QueryInteger(source, "SELECT page_count FROM pragma_page_count", label);
  if (!page_count.ok()) return page_count.status();
  const UniqueFd out(::open(destination.c_str(), O_WRONLY | O_CLOEXEC));
  if (out.get() < 0) return common::ErrnoError(fmt::format("{}: cannot open", label), destination);
  const int total = static_cast<int>(*page_count);
  ProgressReporter reporter(progress, label);
  std::uint64_t written_back = 0;  // where the writeback not yet started begins
  Result<FileDigest> digest = ReadAndHash(
      source, *file, static_cast<std::uint64_t>(*page_count * *page_size), label,
      [&](std::string_view chunk, std::uint64_t done) {
        BACKOUT_RETURN_IF_ERROR(WriteAll(out.get(), chunk, destination, label));
        // Left alone, the kernel would keep the whole copy in memory until the fsync at the
        // end, which would then wait for all of it to reach the disk. Starting the writeback
        // as the copy goes makes the disk write while we copy. Only a hint: durability
        // comes from that fsync, which also reports any write error.
        StartWritebackAsItGrows(out.get(), done, &written_back);
        reporter.Update(static_cast<int>(done / static_cast<std::uint64_t>(*page_size)), total,
                        false);
        return Status::Ok();
      });
  if (digest.ok()) reporter.Update(total, total, true);
  return digest;
}

Result<FileDigest> HashDatabaseFile(Connection& db, std::string_view label) {
  Result<sqlite3_file*> file = MainDatabaseFile(db, label);
  if (!file.ok()) return file.status();
  sqlite3_int64 size = 0;
  const int rc = (*file)->pMethods->xFileSize(*file, &size);
  if (rc != SQLITE_OK) {
    return Status::IOError(
        fmt::format("{}: cannot tell the size of {}: {}", label, db.path().string(),
                    sqlite3_errstr(rc)));
  }
  return ReadAndHash(db, *file, static_cast<std::uint64_t>(size), label, nullptr);
}

}  // namespace backout::adapters::sqlite
