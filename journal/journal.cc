#include "journal/journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>

#include "base/env.h"
#include "base/file_util.h"
#include "base/time.h"
#include "journal/fault_injection.h"
#include "journal/record_codec.h"

namespace backout::journal {
namespace fs = std::filesystem;

namespace {

constexpr char kDbDirName[] = "db";
constexpr char kLockFileName[] = "runner.lock";
constexpr char kLogDirName[] = "logs";
constexpr char kScratchDirName[] = "scratch";

Status ErrnoError(std::string_view what, const fs::path& path) {
  return Status::IOError(fmt::format("{}: {}: {}", path.string(), what, std::strerror(errno)));
}

Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  std::string message = fmt::format("{}: {}", context, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(std::move(message));
  return Status::IOError(std::move(message));
}

rocksdb::Slice ToSlice(const std::string& s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// One journal is small (thousands of records of a few hundred bytes), written by one
// process with a synced write per batch and read whole.
rocksdb::Options JournalDbOptions() {
  rocksdb::Options options;
  options.OptimizeForSmallDb();
  // The info LOG is RocksDB's diagnostics, not ours: keep only errors and few old files.
  options.info_log_level = rocksdb::InfoLogLevel::ERROR_LEVEL;
  options.keep_log_file_num = 2;
  // No periodic statistics: nobody reads them.
  options.stats_dump_period_sec = 0;
  options.stats_persist_period_sec = 0;
  // Records are small and hash-dense (two digests each), so Snappy saves little space and
  // costs every read of a long run a decompression of each block.
  options.compression = rocksdb::kNoCompression;
  // Test hook only (journal/fault_injection.h): null, RocksDB's default, unless enabled.
  if (rocksdb::Env* faulty = JournalFaultEnv()) options.env = faulty;
  // Durability comes from WriteOptions::sync on every batch, so the WAL must be written by
  // each Write (manual_wal_flush stays false). recycle_log_file_num would save the inode
  // update of each fdatasync, but RocksDB 7.8 silently disables it under the default
  // kPointInTimeRecovery, which we keep: after a crash, replay stops at the first torn batch.
  return options;
}

// An exclusive flock on DIR/RUN/runner.lock. The lock belongs to the open file description,
// which is close-on-exec so that commands spawned by the engine do not inherit it; it is
// released when the descriptor is closed (by the destructor, or by the kernel when the
// process dies). The file itself is never deleted, which would let two processes lock two
// different inodes of the same name.
class RunLock {
 public:
  // kLocked, naming the holder as it recorded itself, if another open file holds the lock.
  static Result<RunLock> Acquire(const fs::path& path, const std::string& run_id) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("open lock file", path);
    RunLock lock(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return ErrnoError("flock", path);
      return Status::Locked(fmt::format(
          "run {} is locked by another runner ({}); wait for it to finish, or stop it first",
          run_id, DescribeHolder(path)));
    }
    // Purely informational (the flock is the lock), so no fsync.
    const std::string holder =
        fmt::format("pid={} host={} since={}\n", ::getpid(), Env::Default()->HostName(),
                    FormatUtcMicros(Env::Default()->NowMicros()));
    if (::ftruncate(fd, 0) != 0) return ErrnoError("truncate lock file", path);
    if (::pwrite(fd, holder.data(), holder.size(), 0) != static_cast<ssize_t>(holder.size())) {
      return ErrnoError("write lock file", path);
    }
    return lock;
  }

  RunLock(RunLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RunLock& operator=(RunLock&&) = delete;
  ~RunLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit RunLock(int fd) : fd_(fd) {}

  // "pid 1234 on host h since 2026-..." from the holder's "pid=1234 host=h since=2026-...".
  static std::string DescribeHolder(const fs::path& path) {
    Result<std::string> text = ReadFileToString(path);
    if (!text.ok()) return fmt::format("holder unknown: {}", text.status().message());
    std::string pid, host, since;
    std::istringstream words(*text);
    for (std::string word; words >> word;) {
      if (word.starts_with("pid=")) pid = word.substr(4);
      if (word.starts_with("host=")) host = word.substr(5);
      if (word.starts_with("since=")) since = word.substr(6);
    }
    // The holder truncates and rewrites the file right after locking it.
    if (pid.empty()) return "holder not recorded yet";
    return fmt::format("pid {} on host {} since {}", pid, host, since);
  }

  int fd_;
};

// Every record of the run in `db`, decoded and chain-checked in one pass, so the first bad
// record in seq order is the one reported.
Result<std::vector<Record>> ReadAllRecords(rocksdb::DB* db, const std::string& run_id,
                                           const ChainKey& key) {
  std::vector<Record> records;
  // Growing the vector of a long run copies it again and again into freshly faulted pages;
  // the estimate is exact for a run as written (no deletes, no overwrites). Capped, because
  // it comes from table properties that a damaged file could make absurd.
  constexpr std::uint64_t kMaxReserved = std::uint64_t{1} << 22;
  std::uint64_t estimated = 0;
  if (db->GetIntProperty("rocksdb.estimate-num-keys", &estimated)) {
    records.reserve(static_cast<std::size_t>(std::min(estimated, kMaxReserved)));
  }
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // read once, start to end
  // Start to end: read the table files in large sequential chunks, not block by block.
  read_options.readahead_size = std::size_t{4} << 20;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(read_options));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Result<std::uint64_t> seq = DecodeKey(ToView(it->key()));
    if (!seq.ok()) return seq.status();
    Result<Record> record = DecodeRecord(ToView(it->value()), *seq, key);
    if (!record.ok()) return record.status();
    if (record->run_id != run_id) {
      return EventCorruption(*seq, "record belongs to run '{}'", record->run_id);
    }
    BACKOUT_RETURN_IF_ERROR(
        CheckChainLink(records.empty() ? nullptr : &records.back(), *record));
    records.push_back(std::move(record).value());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "iterate");
  return records;
}

Status ValidateNewRecord(const NewRecord& r) {
  if (r.type.empty()) return Status::InvalidArgument("type is empty");
  const std::pair<std::string_view, const std::string*> fields[] = {
      {"type", &r.type}, {"operator", &r.operator_name}, {"host", &r.host},
      {"payload", &r.payload}};
  for (const auto& [name, value] : fields) {
    if (value->size() > kMaxFieldBytes) {
      return Status::InvalidArgument(fmt::format("{} of {} bytes exceeds the {} MiB limit", name,
                                                 value->size(), kMaxFieldBytes >> 20));
    }
  }
  return Status::Ok();
}

class DbRunWriter final : public RunWriter {
 public:
  DbRunWriter(std::string run_id, fs::path db_path, ChainKey key, RunLock lock,
              std::unique_ptr<rocksdb::DB> db, std::vector<Record> records)
      : run_id_(std::move(run_id)),
        db_path_(std::move(db_path)),
        key_(std::move(key)),
        lock_(std::move(lock)),
        db_(std::move(db)),
        records_(std::move(records)) {
    if (::stat(db_path_.c_str(), &db_dir_) != 0) db_dir_ = {};  // then every append fails
  }

  Result<std::span<const Record>> Append(std::span<const NewRecord> batch) override {
    BACKOUT_RETURN_IF_ERROR(write_failure_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (Status invalid = ValidateNewRecord(batch[i]); !invalid.ok()) {
        return invalid.WithContext(fmt::format("run {}: record {} of the batch", run_id_, i + 1));
      }
    }
    // The records go straight into records_ and each is encoded once, for its hash and its
    // stored value alike: per event, the CPU an append costs beside its sync.
    const std::size_t first = records_.size();
    rocksdb::WriteBatch write_batch;
    Status status;
    for (const NewRecord& n : batch) {
      const Record* prev = records_.empty() ? nullptr : &records_.back();
      Record r{
          .run_id = run_id_,
          .seq = prev == nullptr ? 1 : prev->seq + 1,
          .time_us = n.time_us,
          .type = n.type,
          .operator_name = n.operator_name,
          .host = n.host,
          .payload = n.payload,
          .chain_mode = chain_mode(),
          .prev_hash = prev == nullptr ? Digest{} : prev->hash,
      };
      status = Put(&write_batch, r.seq, EncodeRecordWithHash(&r, key_));
      if (!status.ok()) break;
      records_.push_back(std::move(r));
    }
    if (status.ok()) status = Commit(&write_batch);
    if (!status.ok()) {
      records_.resize(first);
      return status;
    }
    return std::span<const Record>(records_).subspan(first);
  }

  // Writes `stored` (complete records that continue this run's chain) as one synced batch.
  Status Write(const std::vector<Record>& stored) {
    BACKOUT_RETURN_IF_ERROR(write_failure_);
    if (stored.empty()) return Status::Ok();
    rocksdb::WriteBatch write_batch;
    for (const Record& r : stored) {
      BACKOUT_RETURN_IF_ERROR(Put(&write_batch, r.seq, EncodeRecord(r)));
    }
    BACKOUT_RETURN_IF_ERROR(Commit(&write_batch));
    records_.insert(records_.end(), stored.begin(), stored.end());
    return Status::Ok();
  }

  const std::vector<Record>& records() const override { return records_; }
  const std::string& run_id() const override { return run_id_; }

 private:
  // A run keeps the mode of its first record, whatever key later writers hold: one run, one
  // mode (CheckChainLink refuses a change).
  ChainMode chain_mode() const {
    return records_.empty() ? key_.ModeForNewRuns() : records_.front().chain_mode;
  }

  Status Put(rocksdb::WriteBatch* write_batch, std::uint64_t seq, const std::string& value) const {
    const rocksdb::Status put = write_batch->Put(ToSlice(EncodeKey(seq)), ToSlice(value));
    if (put.ok()) return Status::Ok();
    return FromRocks(put, fmt::format("run {}: batch event #{}", run_id_, seq));
  }

  // Writes `write_batch` synced. A failure is remembered: whether the batch reached the WAL
  // is unknown, so every later append is refused with it.
  Status Commit(rocksdb::WriteBatch* write_batch) {
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    const rocksdb::Status s = db_->Write(write_options, write_batch);
    if (!s.ok()) {
      write_failure_ = FromRocks(s, fmt::format("append to run {} ({})", run_id_,
                                                db_path_.string()));
      return write_failure_;
    }
    // A synced write into a database whose directory was deleted or replaced meanwhile lands
    // in an unlinked WAL and is gone at the next open: treat it as a failed write, so that no
    // effect starts on the strength of it.
    if (Status gone = CheckDatabaseInPlace(); !gone.ok()) {
      write_failure_ = gone;
      return gone;
    }
    return Status::Ok();
  }

  // kIOError unless db_path_ is still the directory opened (same device and inode) and
  // still holds its CURRENT file.
  Status CheckDatabaseInPlace() const {
    struct stat now {};
    const bool same = ::stat(db_path_.c_str(), &now) == 0 && now.st_dev == db_dir_.st_dev &&
                      now.st_ino == db_dir_.st_ino && fs::exists(db_path_ / "CURRENT");
    if (same) return Status::Ok();
    return Status::IOError(fmt::format(
        "append to run {}: the journal database {} was deleted or replaced while the run was "
        "active; the events appended since are lost, so nothing more is done",
        run_id_, db_path_.string()));
  }

  std::string run_id_;
  fs::path db_path_;
  struct stat db_dir_ {};  // the database directory as opened (CheckDatabaseInPlace)
  ChainKey key_;
  // Declared before db_ so that the database is closed before the lock is released.
  RunLock lock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<Record> records_;
  // Once a write fails, whether its batch reached the WAL is unknown, so records_ may no
  // longer match the disk: refuse further appends; reopening the run reads the truth.
  Status write_failure_;
};

// Locks the run, opens its database read-write and loads its records.
Result<std::unique_ptr<DbRunWriter>> OpenWriter(const fs::path& run_dir,
                                               const std::string& run_id, const ChainKey& key,
                                               bool create) {
  Result<RunLock> lock = RunLock::Acquire(run_dir / kLockFileName, run_id);
  if (!lock.ok()) return lock.status();
  const fs::path db_path = run_dir / kDbDirName;
  rocksdb::Options options = JournalDbOptions();
  options.create_if_missing = create;
  options.error_if_exists = create;
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, db_path.string(), &raw_db);
  if (!s.ok()) return FromRocks(s, fmt::format("open run {} ({})", run_id, db_path.string()));
  std::unique_ptr<rocksdb::DB> db(raw_db);
  Result<std::vector<Record>> records = ReadAllRecords(db.get(), run_id, key);
  if (!records.ok()) {
    return records.status().WithContext(fmt::format("run {} ({})", run_id, db_path.string()));
  }
  return std::make_unique<DbRunWriter>(run_id, db_path, key, std::move(lock).value(),
                                       std::move(db), std::move(records).value());
}

Status InvalidRunId(const std::string& run_id) {
  return Status::InvalidArgument(fmt::format(
      "invalid run id '{}': it must be 1 to 128 of [0-9A-Za-z._-], starting with a letter or "
      "digit", run_id));
}

// Checks the id and that DIR/RUN/db exists: kInvalidArgument, kNotFound or kIOError.
Status CheckRunExists(const fs::path& journal_dir, const std::string& run_id) {
  if (!IsValidRunId(run_id)) return InvalidRunId(run_id);
  const fs::path db_path = journal_dir / run_id / kDbDirName;
  std::error_code ec;
  const bool exists = fs::is_directory(db_path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    return Status::IOError(fmt::format("{}: {}", db_path.string(), ec.message()));
  }
  if (!exists) {
    return Status::NotFound(fmt::format("no run {} in journal {}", run_id, journal_dir.string()));
  }
  return Status::Ok();
}

// Fills a freshly made, empty run directory and opens the new run.
Result<std::unique_ptr<DbRunWriter>> InitRunDir(const fs::path& journal_dir,
                                                const fs::path& run_dir,
                                                const std::string& run_id, const ChainKey& key) {
  // RocksDB would create db/ with mode 0755; create it first so it is private too.
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(run_dir / kDbDirName));
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(run_dir / kLogDirName));
  Result<std::unique_ptr<DbRunWriter>> writer =
      OpenWriter(run_dir, run_id, key, /*create=*/true);
  if (!writer.ok()) return writer;
  // RocksDB syncs db/ itself; make the entries leading to it durable too, so that a run
  // whose appends returned cannot vanish in a crash.
  BACKOUT_RETURN_IF_ERROR(SyncPath(run_dir));
  BACKOUT_RETURN_IF_ERROR(SyncPath(journal_dir));
  return writer;
}

// Removes a run directory that CreateNewRun made and that holds no complete run. A failure
// to clean up is secondary to the error being returned.
void RemoveUnfinishedRun(const fs::path& run_dir) {
  std::error_code ignored;
  fs::remove_all(run_dir, ignored);
}

// Makes DIR/RUN_ID and an empty run in it.
Result<std::unique_ptr<DbRunWriter>> CreateNewRun(const fs::path& journal_dir,
                                                  const std::string& run_id,
                                                  const ChainKey& key) {
  if (!IsValidRunId(run_id)) return InvalidRunId(run_id);
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(journal_dir));
  const fs::path run_dir = journal_dir / run_id;
  // mkdir decides atomically which of two racing creators owns the id.
  if (::mkdir(run_dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return Status::FailedPrecondition(
          fmt::format("run {} already exists in journal {}", run_id, journal_dir.string()));
    }
    return ErrnoError("mkdir", run_dir);
  }
  Result<std::unique_ptr<DbRunWriter>> writer = InitRunDir(journal_dir, run_dir, run_id, key);
  if (!writer.ok()) RemoveUnfinishedRun(run_dir);
  return writer;
}

}  // namespace

bool IsValidRunId(const std::string& run_id) {
  const auto alnum = [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  };
  if (run_id.empty() || run_id.size() > 128 || !alnum(run_id[0])) return false;
  return std::all_of(run_id.begin(), run_id.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

Status VerifyChain(const std::vector<Record>& records, const ChainKey& key) {
  const Record* prev = nullptr;
  for (const Record& r : records) {
    BACKOUT_RETURN_IF_ERROR(VerifyRecordHash(r, key));
    BACKOUT_RETURN_IF_ERROR(CheckChainLink(prev, r));
    prev = &r;
  }
  return Status::Ok();
}

Result<std::unique_ptr<RunWriter>> Journal::CreateRun(const std::string& run_id) const {
  Result<std::unique_ptr<DbRunWriter>> writer = CreateNewRun(dir_, run_id, key_);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<RunWriter>(std::move(writer).value());
}

Status Journal::ImportRun(const std::vector<Record>& records) const {
  if (records.empty()) return Status::InvalidArgument("nothing to import: no records");
  const std::string& run_id = records.front().run_id;
  BACKOUT_RETURN_IF_ERROR(VerifyChain(records, key_).WithContext(fmt::format("run {}", run_id)));
  Result<std::unique_ptr<DbRunWriter>> writer = CreateNewRun(dir_, run_id, key_);
  if (!writer.ok()) return writer.status();
  const Status written = (*writer)->Write(records);
  if (!written.ok()) {
    // Nothing of the run may remain: close the database, then remove what was made.
    writer->reset();
    RemoveUnfinishedRun(dir_ / run_id);
  }
  return written;
}

Result<std::unique_ptr<RunWriter>> Journal::OpenRun(const std::string& run_id) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  Result<std::unique_ptr<DbRunWriter>> writer =
      OpenWriter(dir_ / run_id, run_id, key_, /*create=*/false);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<RunWriter>(std::move(writer).value());
}

Result<std::vector<Record>> Journal::ReadRun(const std::string& run_id) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  const fs::path db_path = dir_ / run_id / kDbDirName;
  const std::string context = fmt::format("run {} ({})", run_id, db_path.string());
  // A read-only instance takes no lock and replays the WAL itself, so it sees every batch
  // synced before it opened, even while a writer is active.
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(JournalDbOptions(), db_path.string(), &raw_db);
  if (!s.ok()) return FromRocks(s, context);
  const std::unique_ptr<rocksdb::DB> db(raw_db);
  Result<std::vector<Record>> records = ReadAllRecords(db.get(), run_id, key_);
  if (!records.ok()) return records.status().WithContext(context);
  return records;
}

Result<std::vector<std::string>> Journal::ListRuns() const {
  std::vector<std::string> runs;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec == std::errc::no_such_file_or_directory) return runs;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::error_code ignored;  // an entry that vanished or cannot be inspected is not a run
    if (fs::is_directory(it->path() / kDbDirName, ignored)) {
      runs.push_back(it->path().filename().string());
    }
  }
  if (ec) return Status::IOError(fmt::format("{}: list runs: {}", dir_.string(), ec.message()));
  std::sort(runs.begin(), runs.end());
  return runs;
}

fs::path Journal::LogDir(const std::string& run_id) const { return dir_ / run_id / kLogDirName; }

Result<fs::path> Journal::ScratchDir(const std::string& run_id) const {
  fs::path dir = dir_ / run_id / kScratchDirName;
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(dir));
  return dir;
}

}  // namespace backout::journal
