#include "journal/journal.h"

#include <fcntl.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif
#include <sys/random.h>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/file_checksum.h>
#include <rocksdb/iterator.h>
#include <rocksdb/metadata.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/write_batch.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <optional>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>
#include <vector>

#include "base/env.h"
#include "base/file_util.h"
#include "base/time.h"
#include "base/utf8.h"
#include "journal/fault_injection.h"
#include "journal/head_file.h"
#include "journal/record_codec.h"

namespace backout::journal {
namespace fs = std::filesystem;

namespace {

constexpr char kDbDirName[] = "db";
constexpr char kLockFileName[] = "runner.lock";
constexpr char kLogDirName[] = "logs";
constexpr char kScratchDirName[] = "scratch";
constexpr char kNoteQueueDirName[] = "notes";
// A run is built under DIR/.creating.RUN_ID.PID and renamed to DIR/RUN_ID once its first
// batch and head file are durable. Run ids cannot start with '.', so no such name is a run.
constexpr std::string_view kCreatingPrefix = ".creating.";

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
  // each Write (manual_wal_flush stays false). Every batch is synced before it is
  // acknowledged, so the only damage a crash can leave in a WAL is a torn *last* record.
  // kTolerateCorruptedTailRecords drops exactly that and fails the open on anything else (a
  // bad checksum anywhere), where the default kPointInTimeRecovery would silently treat the
  // first damaged record as the end of the log and drop every later batch (issue 12, item
  // 1). What no recovery mode can see (a WAL deleted, zeroed or cut at a record boundary) the
  // head file catches (journal/head_file.h). docs/journal-format.md#recovery-mode.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.paranoid_checks = true;  // the default, stated: refuse a damaged MANIFEST or table
  // A whole-file CRC32C of every table file, kept in the MANIFEST and checked on every open
  // (VerifyFileChecksums): block checksums leave bytes such as a table footer's padding
  // uncovered, so a flipped byte there would otherwise go unnoticed.
  options.file_checksum_gen_factory = rocksdb::GetFileChecksumGenCrc32cFactory();
  return options;
}

// The holder as it recorded itself in its lock file: "pid=1234 host=h since=2026-...".
Result<RunHolder> ReadHolder(const fs::path& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  RunHolder holder;
  std::istringstream words(*text);
  for (std::string word; words >> word;) {
    if (word.starts_with("pid=")) holder.pid = std::atoll(word.c_str() + 4);
    if (word.starts_with("host=")) holder.host = word.substr(5);
    if (word.starts_with("since=")) holder.since = word.substr(6);
  }
  return holder;
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
    // `status` probes the lock with a shared flock held for microseconds (Journal::Holder):
    // a few short retries keep such a probe from refusing a runner. A real runner holds it
    // far longer than they last.
    constexpr int kProbeRetries = 5;
    for (int attempt = 0; ::flock(fd, LOCK_EX | LOCK_NB) != 0; ++attempt) {
      if (errno != EWOULDBLOCK) return ErrnoError("flock", path);
      if (attempt == kProbeRetries) {
        return Status::Locked(fmt::format(
            "run {} is locked by another runner ({}); wait for it to finish, or stop it first",
            run_id, DescribeHolder(ReadHolder(path))));
      }
      ::usleep(10'000);
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

  static std::string DescribeHolder(const Result<RunHolder>& holder) {
    if (!holder.ok()) return fmt::format("holder unknown: {}", holder.status().message());
    // The holder truncates and rewrites the file right after locking it.
    if (holder->pid == 0) return "holder not recorded yet";
    return fmt::format("pid {} on host {} since {}", holder->pid, holder->host, holder->since);
  }

  int fd_;
};

// Iterates a run's database start to end, once: table files are read in large sequential
// chunks and not cached.
std::unique_ptr<rocksdb::Iterator> ScanIterator(rocksdb::DB* db) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;  // read once, start to end
  read_options.readahead_size = std::size_t{4} << 20;
  return std::unique_ptr<rocksdb::Iterator>(db->NewIterator(read_options));
}

// The signatures stored in `db` (their keys sort after every record's: journal/signing.h),
// decoded, in seq order. Any other key there is damage, named as a record key would be.
Result<std::vector<Signature>> ReadSignatures(rocksdb::DB* db) {
  std::vector<Signature> signatures;
  std::unique_ptr<rocksdb::Iterator> it = ScanIterator(db);
  for (it->Seek(ToSlice(EncodeSignatureKey(0))); it->Valid(); it->Next()) {
    std::optional<std::uint64_t> signed_seq = DecodeSignatureKey(ToView(it->key()));
    if (!signed_seq) {
      Result<std::uint64_t> seq = DecodeKey(ToView(it->key()));
      if (!seq.ok()) return seq.status();
      return EventCorruption(*seq, "record key sorts among the signatures");
    }
    Result<Signature> signature = DecodeSignatureValue(ToView(it->value()), *signed_seq);
    if (!signature.ok()) return signature.status();
    signatures.push_back(*signature);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "iterate");
  return signatures;
}

// What one pass over a run's records learned besides the records themselves.
struct ScanEnd {
  std::optional<Head> last;     // the last record; nullopt for none
  std::optional<Head> at_head;  // the record at the head file's seq, if the run reaches it
};

// Records read and checked, handed from the reading side of a scan to the visiting side
// whole. The Records are reused batch after batch, so their strings keep their capacity and
// a long scan allocates almost nothing per record.
struct RecordBatch {
  static constexpr std::size_t kRecords = 256;
  // A batch also ends after this many bytes of values, so that batches of large records stay
  // small; a larger string is freed once used rather than kept for the next record.
  static constexpr std::size_t kBytes = std::size_t{1} << 20;
  static constexpr std::size_t kKeptCapacity = std::size_t{64} << 10;

  std::vector<Record> records = std::vector<Record>(kRecords);  // never reallocated
  std::size_t size = 0;  // records[0, size) are this batch's
};

// The reading side of ScanRecords: every record of the run in `db`, decoded and chain-checked
// in seq order, so the first bad record is the one reported. Used by one thread at a time.
class RecordReader {
 public:
  RecordReader(rocksdb::DB* db, const std::string& run_id, const ChainKey& key,
               std::uint64_t head_seq, ScanEnd* end)
      : it_(ScanIterator(db)), run_id_(run_id), key_(key), head_seq_(head_seq), end_(end) {
    it_->SeekToFirst();
  }

  // Fills `batch` with the next records; false if it holds none. The last record read (the
  // next record's chain link) stays in the batch it was read into, so a batch given here must
  // not be the one filled last.
  bool Fill(RecordBatch* batch) {
    batch->size = 0;
    std::size_t bytes = 0;
    while (!done_ && batch->size < RecordBatch::kRecords && bytes < RecordBatch::kBytes) {
      // Signatures sort after every record (ReadSignatures reads them).
      if (!it_->Valid() || DecodeSignatureKey(ToView(it_->key()))) {
        Finish();
        break;
      }
      Record& record = batch->records[batch->size];
      if (record.payload.capacity() > RecordBatch::kKeptCapacity) record = Record();
      if (Status s = ReadRecord(&record); !s.ok()) {
        status_ = std::move(s);
        done_ = true;
        break;
      }
      prev_ = &record;
      ++batch->size;
      bytes += it_->value().size();
      it_->Next();
    }
    return batch->size > 0;
  }

  // Whether every record was read (or the reading failed: status()).
  bool done() const { return done_; }
  const Status& status() const { return status_; }

 private:
  Status ReadRecord(Record* record) const {
    Result<std::uint64_t> seq = DecodeKey(ToView(it_->key()));
    if (!seq.ok()) return seq.status();
    BACKOUT_RETURN_IF_ERROR(DecodeRecordInto(ToView(it_->value()), *seq, key_, record));
    if (record->run_id != run_id_) {
      return EventCorruption(*seq, "record belongs to run '{}'", record->run_id);
    }
    BACKOUT_RETURN_IF_ERROR(CheckChainLink(prev_, *record));
    if (record->seq == head_seq_) end_->at_head = HeadOf(*record);
    return Status::Ok();
  }

  void Finish() {
    done_ = true;
    if (!it_->status().ok()) {
      status_ = FromRocks(it_->status(), "iterate");
      return;
    }
    if (prev_ != nullptr) end_->last = HeadOf(*prev_);
  }

  std::unique_ptr<rocksdb::Iterator> it_;
  const std::string& run_id_;
  const ChainKey& key_;
  std::uint64_t head_seq_;
  ScanEnd* end_;
  const Record* prev_ = nullptr;  // the last record read, in the batch filled last
  bool done_ = false;
  Status status_;
};

// A thread that fills batches with `reader` ahead of their visit: the batches given back
// (Give) are filled in the order given and handed out (Take) in the order filled. Destroying
// it stops the reading and joins the thread.
class ReadAhead {
 public:
  // `free` must hold two batches or more, none of them the one `reader` filled last: batches
  // are reused first in, first out, so the one holding the last record read is never refilled
  // before a later one.
  ReadAhead(RecordReader& reader, std::deque<RecordBatch*> free)
      : reader_(reader), free_(std::move(free)), thread_([this] { Read(); }) {}
  ~ReadAhead() {
    {
      const std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Gives back a visited batch and waits for the next filled one; null once every record
  // was read (then reader.status() may be read).
  RecordBatch* Take(RecordBatch* visited) {
    std::unique_lock lock(mutex_);
    free_.push_back(visited);
    changed_.notify_all();
    changed_.wait(lock, [&] { return ended_ || !filled_.empty(); });
    if (filled_.empty()) return nullptr;
    RecordBatch* batch = filled_.front();
    filled_.pop_front();
    return batch;
  }

 private:
  void Read() {
    for (;;) {
      RecordBatch* batch = nullptr;
      {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return stop_ || !free_.empty(); });
        if (stop_) return;
        batch = free_.front();
        free_.pop_front();
      }
      const bool any = reader_.Fill(batch);
      const bool done = reader_.done();
      {
        const std::lock_guard lock(mutex_);
        if (any) filled_.push_back(batch);
        ended_ = done;
      }
      changed_.notify_all();
      if (done) return;
    }
  }

  RecordReader& reader_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<RecordBatch*> free_;
  std::deque<RecordBatch*> filled_;
  bool ended_ = false;
  bool stop_ = false;  // the visiting side is gone: read no further
  std::thread thread_;  // last: started once the rest is constructed
};

// Visits the batches `reader` fills, in order. The first batch is read and visited on this
// thread; a run longer than one batch is read ahead on a second thread (RocksDB, the record
// decode and a SHA-256 per record) while this one visits (for the CLI: the payload decode and
// the fold), three batches circulating between them, so memory stays bounded. `visit` runs
// on the calling thread only. The status is the visitor's first failure, else the reader's:
// the visitor only ever sees records before the reader's failure, so this is the first
// failure in seq order, as a scan on one thread reports it.
Status VisitBatches(RecordReader& reader, const Journal::RecordVisitor& visit) {
  std::array<RecordBatch, 3> batches;
  const auto visit_batch = [&](const RecordBatch& batch) {
    for (std::size_t i = 0; i < batch.size; ++i) BACKOUT_RETURN_IF_ERROR(visit(batch.records[i]));
    return Status::Ok();
  };
  reader.Fill(&batches[0]);
  if (reader.done()) {
    BACKOUT_RETURN_IF_ERROR(visit_batch(batches[0]));
    return reader.status();
  }
  ReadAhead read_ahead(reader, {&batches[1], &batches[2]});
  for (RecordBatch* batch = &batches[0]; batch != nullptr; batch = read_ahead.Take(batch)) {
    BACKOUT_RETURN_IF_ERROR(visit_batch(*batch));
  }
  return reader.status();
}

// Every record of the run in `db`, decoded and chain-checked in one pass, each handed to
// `visit` (if any) once it is checked (RecordReader, VisitBatches). Memory: three batches of
// records, bounded by RecordBatch's limits, not by the run.
Status ScanRecords(rocksdb::DB* db, const std::string& run_id, const ChainKey& key,
                   std::uint64_t head_seq, const Journal::RecordVisitor& visit, ScanEnd* end) {
  RecordReader reader(db, run_id, key, head_seq, end);
  if (visit) return VisitBatches(reader, visit);
  std::array<RecordBatch, 2> batches;  // alternating: the chain link stays in the other one
  for (std::size_t i = 0; reader.Fill(&batches[i % 2]); ++i) {
  }
  return reader.status();
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

// What to say after any damage that makes a run's history unreadable: what is known, that
// nothing can be resumed from it, and how to keep the evidence. Never "remove it": the
// directory is the only record of what the run did to the databases.
std::string DamagedRunAdvice(const fs::path& run_dir, const std::optional<Head>& head) {
  const std::string known =
      head ? fmt::format("its head file records event #{} (hash {}) as the last acknowledged",
                         head->seq, ToHex(head->hash))
           : std::string("its last acknowledged event is not known");
  return fmt::format(
      ". The history of this run cannot be trusted, so nothing can be resumed from it; {}. "
      "Steps may have changed the targets: check them by hand. Keep the evidence: copy the "
      "whole directory first, out of the journal (cp -a {} ~/backout-evidence-{}), and do not "
      "remove it; what is still readable can be listed with `ldb --db={} "
      "--try_load_options=false scan` (docs/reliability.md#damaged-journal)",
      known, run_dir.string(), run_dir.filename().string(), (run_dir / kDbDirName).string());
}

// The table files of `db_path` that fail their own checks, as "; table file 000013.sst is
// damaged: ..." (empty when none does). RocksDB names the MANIFEST, not the table, when a
// table's footer or properties block is damaged, because it reads them while loading the
// MANIFEST's version; checking each table alone names the file an operator has to look at.
// Only on the way to a corruption error, so its cost (one read of every table) is paid once.
std::string DamagedTables(const std::vector<fs::path>& tables) {
  std::string found;
  for (const fs::path& table : tables) {
    rocksdb::SstFileReader reader(JournalDbOptions());
    rocksdb::Status checked = reader.Open(table.string());
    if (checked.ok()) checked = reader.VerifyChecksum();
    if (!checked.ok()) {
      found += fmt::format("; table file {} is damaged: {}", table.filename().string(),
                           checked.ToString());
    }
  }
  return found;
}

// A RocksDB failure to open or read a run's database. Damage (a bad checksum, a file the
// MANIFEST names but that is gone, a missing CURRENT) is kCorruption, with every damaged table
// file named; the rest kIOError. RocksDB does not name the WAL in a recovery error, so the WAL
// files are listed.
Status FromRocksOpen(const rocksdb::Status& s, const fs::path& db_path, std::string_view what) {
  std::string wals;
  std::vector<fs::path> tables;
  std::error_code ec;
  for (fs::directory_iterator it(db_path, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() == ".log") {
      wals += fmt::format("{}{}", wals.empty() ? "" : ", ", it->path().filename().string());
    } else if (it->path().extension() == ".sst") {
      tables.push_back(it->path());
    }
  }
  std::string message = fmt::format(
      "{} {}: {} (write-ahead log: {})", what, db_path.string(), s.ToString(),
      wals.empty() ? std::string("none") : wals);
  const bool damage = s.IsCorruption() || s.IsInvalidArgument() || s.IsPathNotFound() ||
                      (s.IsIOError() && s.subcode() == rocksdb::Status::kPathNotFound);
  if (damage) return Status::Corruption(message + DamagedTables(tables));
  return Status::IOError(std::move(message));
}

#if defined(__x86_64__)
bool CpuComputesCrc32c() { return __builtin_cpu_supports("sse4.2"); }

// The CRC32C (Castagnoli) of `n` bytes at `p`, continuing `crc` (0 to start), as RocksDB's
// crc32c::Extend computes it, with the SSE4.2 crc32 instruction (callers check the CPU has it).
__attribute__((target("sse4.2"))) std::uint32_t ExtendCrc32c(std::uint32_t crc, const char* p,
                                                            std::size_t n) {
  std::uint64_t c = ~crc;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p));
  return ~c32;
}
#else
// Elsewhere RocksDB's own check runs (VerifyTableChecksums), so this is never called.
bool CpuComputesCrc32c() { return false; }
std::uint32_t ExtendCrc32c(std::uint32_t crc, const char*, std::size_t) { return crc; }
#endif

// What rocksdb::DB::VerifyFileChecksums checks (the whole-file CRC32C of every live table
// file against the one the MANIFEST keeps), with the CRC computed by the CPU's crc32
// instruction: the RocksDB library installed here is built without SSE4.2 and computes it in
// software, about a tenth of a long run's checked read (docs/performance.md). RocksDB's own
// check is used on a CPU without SSE4.2, or for a table with another checksum function.
rocksdb::Status VerifyTableChecksums(rocksdb::DB* db) {
  constexpr std::string_view kCrc32cFunction = "FileChecksumCrc32c";
  std::vector<rocksdb::LiveFileMetaData> tables;
  db->GetLiveFilesMetaData(&tables);
  const bool ours = CpuComputesCrc32c() &&
                    std::all_of(tables.begin(), tables.end(), [&](const auto& table) {
                      return table.file_checksum_func_name == kCrc32cFunction &&
                             table.file_checksum.size() == 4;
                    });
  if (!ours) return db->VerifyFileChecksums(rocksdb::ReadOptions());
  std::vector<char> buffer(std::size_t{1} << 20);
  for (const rocksdb::LiveFileMetaData& table : tables) {
    const std::string path = table.directory + "/" + table.relative_filename;
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      const std::string why = std::strerror(errno);
      return errno == ENOENT ? rocksdb::Status::PathNotFound(path, why)
                             : rocksdb::Status::IOError(path, why);
    }
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::uint32_t crc = 0;
    for (;;) {
      const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return rocksdb::Status::IOError(path, std::strerror(errno));
      if (n == 0) break;
      crc = ExtendCrc32c(crc, buffer.data(), static_cast<std::size_t>(n));
    }
    // Stored as 4 bytes, big-endian.
    const auto* stored = reinterpret_cast<const std::uint8_t*>(table.file_checksum.data());
    const std::uint32_t expected = (std::uint32_t{stored[0]} << 24) |
                                   (std::uint32_t{stored[1]} << 16) |
                                   (std::uint32_t{stored[2]} << 8) | stored[3];
    if (crc != expected) {
      return rocksdb::Status::Corruption(fmt::format(
          "file checksum mismatch for {}: the MANIFEST records crc32c {:08x}, the file has {:08x}",
          path, expected, crc));
    }
  }
  return rocksdb::Status::OK();
}

// What a run's full check learned (ScanVerified): the database opens under the strict
// recovery mode, every table file matches its whole-file checksum, every record decodes and
// chains, and the records reach the head file. The records themselves went to the visitor.
struct VerifiedRun {
  std::optional<Head> last;  // the run's last record; nullopt for none
  std::vector<Signature> signatures;
  Head head;
  int head_slot = 0;
  // The WAL is damaged only after the last acknowledged record (OpenTornTail): a writer must
  // open it with point-in-time recovery, which drops that unacknowledged tail.
  bool torn_tail = false;
};

// Options for a run whose WAL ends in a torn, unacknowledged write (VerifiedRun::torn_tail).
rocksdb::Options TornTailOptions() {
  rocksdb::Options options = JournalDbOptions();
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  return options;
}

// After the strict open failed with Corruption: a crash in the middle of a synced write can
// leave zeros or garbage after the last acknowledged record rather than a clean cut (a
// file system that extends the file before its data is written), which the strict mode
// refuses. Point-in-time recovery reads up to the first damage; if that still reaches the
// head, only bytes that were never acknowledged are damaged and the run is sound. Otherwise
// (null) the strict error stands.
std::unique_ptr<rocksdb::DB> OpenTornTail(const fs::path& db_path, const std::string& run_id,
                                          const ChainKey& key, const Head& head,
                                          const fs::path& head_path) {
  rocksdb::DB* raw_db = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(TornTailOptions(), db_path.string(), &raw_db).ok()) {
    return nullptr;
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);
  ScanEnd end;
  if (!ScanRecords(db.get(), run_id, key, head.seq, nullptr, &end).ok() ||
      !CheckAgainstHead(end.last ? end.last->seq : 0, end.at_head, head, head_path).ok()) {
    return nullptr;
  }
  return db;
}

// The signatures of a run checked while it is scanned (ScanVerified), as CheckSignatures
// would check them after a whole read.
struct SignatureScan {
  const PublicKey* expected = nullptr;  // as CheckSignatures' `expected`
  bool want_digest = false;             // compute records_digest even for an unsigned run
  Result<SignatureCheck> check = SignatureCheck{};  // CheckSignatures' result
  Digest records_digest{};              // P_n of the run, if wanted or signed
};

// Checks a run in full in one pass, handing each record to `visit` (if any) as soon as it is
// decoded and chained; kCorruption (with DamagedRunAdvice) can come after records were
// visited. The run's signatures are read before its records; with `signature_scan`, a
// SignatureChecker of them is fed every record, and its outcome is left there, not returned:
// the caller takes it only once every check of the stored run passed, as if the signatures
// were checked after a whole read. Memory: one record and the signatures. Read-only:
// nothing in the run is changed, so a damaged run stays exactly as it was found.
Status ScanVerified(const fs::path& run_dir, const std::string& run_id, const ChainKey& key,
                    const Journal::RecordVisitor& visit, VerifiedRun* run,
                    SignatureScan* signature_scan = nullptr) {
  const fs::path db_path = run_dir / kDbDirName;
  const fs::path head_path = run_dir / kHeadFileName;
  const std::string context = fmt::format("run {} ({})", run_id, db_path.string());
  // The head is read first so that every later failure can say how far the run had got.
  int slot = 0;
  Result<Head> head = ReadHeadFile(head_path, key, &slot);
  std::optional<Head> known;
  if (head.ok()) known = *head;
  const auto damaged = [&](const Status& s) {
    if (s.ok()) return s;
    Status with = s.WithContext(context);
    if (with.code() != Code::kCorruption) return with;
    // A keyed run read without the key is not damage: the message says what to do.
    if (key.empty() && with.message().find("set BACKOUT_JOURNAL_KEY") != std::string::npos) {
      return with;
    }
    return Status::Corruption(with.message() + DamagedRunAdvice(run_dir, known));
  };
  std::error_code ec;  // an error here reads as "missing", which the open below would confirm
  if (!fs::is_directory(db_path, ec)) {
    return damaged(Status::Corruption(
        fmt::format("the database directory {} is missing", db_path.string())));
  }
  // A read-only instance takes no lock and replays the WAL itself, so it sees every batch
  // synced before it opened, even while a writer is active.
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(JournalDbOptions(), db_path.string(), &raw_db);
  std::unique_ptr<rocksdb::DB> db(raw_db);
  bool torn_tail = false;
  if (!s.ok() && s.IsCorruption() && head.ok()) {
    db = OpenTornTail(db_path, run_id, key, *head, head_path);
    torn_tail = db != nullptr;
  }
  if (db == nullptr) return damaged(FromRocksOpen(s, db_path, "open"));
  // The whole-file checksums are read on a thread of their own while the records are
  // scanned (a tenth or more of a long run's check, on a core the scan leaves partly idle).
  // Their verdict is taken first, after the scan, so the outcome is what checking them first
  // would give: a damaged table is reported as such, whatever the scan met in it. (The scan
  // of a damaged table is safe: every block it reads is checked against its own checksum.)
  // The future is destroyed before `db`, so the thread is joined on every return.
  std::future<rocksdb::Status> tables_checked =
      std::async(std::launch::async, [&db] { return VerifyTableChecksums(db.get()); });
  // Read first so that the signatures can be checked as the records go by; a damaged one is
  // reported after the records, where its key sorts.
  Result<std::vector<Signature>> signatures = ReadSignatures(db.get());
  if (signatures.ok()) run->signatures = std::move(signatures).value();
  std::optional<SignatureChecker> checker;
  Status signatures_failed;  // the checker's first failure: it is fed no more after it
  if (signature_scan != nullptr) {
    checker.emplace(run_id, run->signatures, signature_scan->expected);
    signatures_failed = checker->Start();
  }
  const bool own_digest =
      signature_scan != nullptr && signature_scan->want_digest && run->signatures.empty();
  Digest own_records_digest{};
  Status visit_failed;
  ScanEnd end;
  const Status scanned = ScanRecords(
      db.get(), run_id, key, head.ok() ? head->seq : 0,
      [&](const Record& record) -> Status {
        if (checker && signatures_failed.ok()) signatures_failed = checker->Add(record);
        if (own_digest) own_records_digest = NextRecordsDigest(own_records_digest, record);
        if (visit) visit_failed = visit(record);
        return visit_failed;
      },
      &end);
  if (const rocksdb::Status c = tables_checked.get(); !c.ok()) {
    return damaged(FromRocksOpen(c, db_path, "table file checksums of"));
  }
  // The visitor's own error is the caller's, returned as it is.
  if (!visit_failed.ok()) return visit_failed;
  if (!scanned.ok()) return damaged(scanned);
  if (!signatures.ok()) return damaged(signatures.status());
  const std::uint64_t last_seq = end.last ? end.last->seq : 0;
  if (!head.ok()) {
    if (head.status().code() != Code::kNotFound) return damaged(head.status());
    return damaged(Status::Corruption(fmt::format(
        "the head file {} is missing{}", head_path.string(),
        !end.last ? ""
                  : " (a journal written before head files existed must be exported "
                    "and imported with the build that wrote it: docs/journal-format.md"
                    "#the-head-file)")));
  }
  BACKOUT_RETURN_IF_ERROR(damaged(CheckAgainstHead(last_seq, end.at_head, *head, head_path)));
  if (signature_scan != nullptr) {
    signature_scan->check =
        signatures_failed.ok() ? checker->Finish(last_seq) : Result<SignatureCheck>(signatures_failed);
    signature_scan->records_digest = own_digest ? own_records_digest : checker->records_digest();
  }
  run->last = end.last;
  run->head = *head;
  run->head_slot = slot;
  run->torn_tail = torn_tail;
  return Status::Ok();
}

Status PutRecord(rocksdb::WriteBatch* write_batch, const std::string& run_id, std::uint64_t seq,
                 const std::string& value) {
  const rocksdb::Status put = write_batch->Put(ToSlice(EncodeKey(seq)), ToSlice(value));
  if (put.ok()) return Status::Ok();
  return FromRocks(put, fmt::format("run {}: batch event #{}", run_id, seq));
}

Status PutSignature(rocksdb::WriteBatch* write_batch, const std::string& run_id,
                    const Signature& signature) {
  const rocksdb::Status put = write_batch->Put(ToSlice(EncodeSignatureKey(signature.seq)),
                                               ToSlice(EncodeSignatureValue(signature)));
  if (put.ok()) return Status::Ok();
  return FromRocks(put, fmt::format("run {}: batch signature of event #{}", run_id, signature.seq));
}

// Encodes `batch` as the records that follow the run's last record `*last` (nullopt for a new
// run) into `*records` and `*write_batch`, and moves `*last` to the batch's last record.
// `appender` is the OS user every record of the batch is stamped with.
Status EncodeNewRecords(const std::string& run_id, const ChainKey& key, const OsUser& appender,
                        std::span<const NewRecord> batch, std::optional<Head>* last,
                        std::vector<Record>* records, rocksdb::WriteBatch* write_batch) {
  // A run keeps the mode of its first record, whatever key later writers hold: one run, one
  // mode (CheckChainLink refuses a change).
  const ChainMode mode = *last ? (*last)->chain_mode : key.ModeForNewRuns();
  // The records go straight into *records and each is encoded once, for its hash and its
  // stored value alike: per event, the CPU an append costs beside its sync.
  for (const NewRecord& n : batch) {
    Record r{
        .run_id = run_id,
        .seq = *last ? (*last)->seq + 1 : 1,
        .time_us = n.time_us,
        .type = n.type,
        .operator_name = n.operator_name,
        .host = n.host,
        .os_uid = appender.uid,
        // A user database may hold any bytes; a record's fields must fit in JSON (exports).
        .os_user = MarkInvalidUtf8(appender.name),
        .payload = n.payload,
        .chain_mode = mode,
        .prev_hash = *last ? (*last)->hash : Digest{},
    };
    BACKOUT_RETURN_IF_ERROR(PutRecord(write_batch, run_id, r.seq, EncodeRecordWithHash(&r, key)));
    *last = HeadOf(r);
    records->push_back(std::move(r));
  }
  return Status::Ok();
}

Result<std::unique_ptr<rocksdb::DB>> OpenReadWrite(const fs::path& db_path, bool create,
                                                  bool torn_tail = false) {
  rocksdb::Options options = torn_tail ? TornTailOptions() : JournalDbOptions();
  // Only ever for a database directory this process has just made itself (CreateNewRun
  // mkdirs the run directory exclusively), so error_if_exists is not needed, and it must not
  // be set: RocksDB stores it in the OPTIONS file, and RocksDB's own tools (ldb) that load
  // that file would then refuse to open the run read-write.
  options.create_if_missing = create;
  rocksdb::DB* raw_db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, db_path.string(), &raw_db);
  if (!s.ok()) return FromRocksOpen(s, db_path, "open");
  return std::unique_ptr<rocksdb::DB>(raw_db);
}

class DbRunWriter final : public RunWriter {
 public:
  // An existing run at `run_dir` whose last record is `last` and whose records digest (with a
  // signer) is `records_digest`.
  DbRunWriter(std::string run_id, fs::path run_dir, ChainKey key,
              std::shared_ptr<const SigningKey> signer, Env* env, RunLock lock,
              std::unique_ptr<rocksdb::DB> db, std::optional<Head> last,
              const Digest& records_digest, HeadFile head)
      : run_id_(std::move(run_id)),
        run_dir_(std::move(run_dir)),
        key_(std::move(key)),
        signer_(std::move(signer)),
        last_(last),
        records_digest_(records_digest),
        env_(env),
        lock_(std::move(lock)),
        db_(std::move(db)),
        head_file_(std::move(head)) {
    RememberDatabaseDir();
  }

  // A run being created in the hidden directory `building_dir`: the first successful write
  // publishes it as `final_dir` (Publish). Destroyed unpublished, it removes `building_dir`.
  DbRunWriter(std::string run_id, fs::path building_dir, fs::path final_dir, ChainKey key,
              std::shared_ptr<const SigningKey> signer, Env* env, RunLock lock,
              std::unique_ptr<rocksdb::DB> db)
      : run_id_(std::move(run_id)),
        run_dir_(std::move(building_dir)),
        final_dir_(std::move(final_dir)),
        key_(std::move(key)),
        signer_(std::move(signer)),
        env_(env),
        lock_(std::move(lock)),
        db_(std::move(db)) {
    RememberDatabaseDir();
  }

  ~DbRunWriter() override {
    if (published()) return;
    db_.reset();
    std::error_code ignored;  // a leftover is ignored by readers and swept by CreateRun
    fs::remove_all(run_dir_, ignored);
  }

  Result<std::span<const Record>> Append(std::span<const NewRecord> batch) override {
    BACKOUT_RETURN_IF_ERROR(write_failure_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (Status invalid = ValidateNewRecord(batch[i]); !invalid.ok()) {
        return invalid.WithContext(fmt::format("run {}: record {} of the batch", run_id_, i + 1));
      }
    }
    const std::optional<Head> last_before = last_;
    batch_.clear();
    rocksdb::WriteBatch write_batch;
    Status status = EncodeNewRecords(run_id_, key_, env_->ProcessUser(), batch, &last_,
                                     &batch_, &write_batch);
    // The batch's signature goes into the batch itself: durable with it or not at all.
    Digest digest = records_digest_;
    if (status.ok() && signer_ && !batch_.empty()) {
      for (const Record& r : batch_) digest = NextRecordsDigest(digest, r);
      status = PutSignature(&write_batch, run_id_, SignHead(*signer_, run_id_, last_->seq, digest));
    }
    if (status.ok()) status = Commit(&write_batch);
    if (!status.ok()) {
      last_ = last_before;
      batch_.clear();
      return status;
    }
    records_digest_ = digest;
    return std::span<const Record>(batch_);
  }

  // Writes `stored` (complete records that continue this run's chain, and their signatures)
  // as one synced batch.
  Status Write(const SignedRun& stored) {
    BACKOUT_RETURN_IF_ERROR(write_failure_);
    if (stored.records.empty()) return Status::Ok();
    rocksdb::WriteBatch write_batch;
    for (const Record& r : stored.records) {
      BACKOUT_RETURN_IF_ERROR(PutRecord(&write_batch, run_id_, r.seq, EncodeRecord(r)));
    }
    for (const Signature& s : stored.signatures) {
      BACKOUT_RETURN_IF_ERROR(PutSignature(&write_batch, run_id_, s));
    }
    const std::optional<Head> last_before = last_;
    last_ = HeadOf(stored.records);
    const Status status = Commit(&write_batch);
    if (!status.ok()) last_ = last_before;
    return status;
  }

  std::uint64_t last_seq() const override { return last_ ? last_->seq : 0; }
  const std::string& run_id() const override { return run_id_; }

  // Brings a head file that lags the journal (a crash between a synced batch and its head
  // write) up to the journal's end, so the lag never outlives the next writer.
  Status CatchUpHead(const Head& head) {
    if (!last_ || head.seq == last_->seq) return Status::Ok();
    return head_file_->Write(*last_, key_);
  }

 private:
  bool published() const { return final_dir_.empty(); }

  void RememberDatabaseDir() {
    if (::stat((run_dir_ / kDbDirName).c_str(), &db_dir_) != 0) db_dir_ = {};  // then appends fail
  }

  // Writes `write_batch` (the records up to last_) synced, then the head naming
  // its last record: WAL first, so the head never claims a batch that is not durable. A
  // failure is remembered: whether the batch reached the WAL is unknown, so every later
  // append is refused with it.
  Status Commit(rocksdb::WriteBatch* write_batch) {
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    const rocksdb::Status s = db_->Write(write_options, write_batch);
    if (!s.ok()) {
      write_failure_ = FromRocks(s, fmt::format("append to run {} ({})", run_id_,
                                                (run_dir_ / kDbDirName).string()));
      return write_failure_;
    }
    // A synced write into a database whose directory was deleted or replaced meanwhile lands
    // in an unlinked WAL and is gone at the next open: treat it as a failed write, so that no
    // effect starts on the strength of it.
    Status done = CheckDatabaseInPlace();
    if (done.ok()) done = published() ? head_file_->Write(*last_, key_) : Publish();
    if (!done.ok()) write_failure_ = done;
    return done;
  }

  // Makes the run visible under its id, whole: its first batch is durable, its head file is
  // written and synced, then the directory is renamed into place (never over an existing
  // run) and the journal directory synced. The database is reopened under the final path,
  // which RocksDB needs for every file it creates later.
  Status Publish() {
    Result<HeadFile> head = HeadFile::Create(run_dir_ / kHeadFileName, *last_, key_);
    if (!head.ok()) return head.status();
    head_file_.emplace(std::move(head).value());
    db_.reset();
    BACKOUT_RETURN_IF_ERROR(SyncPath(run_dir_));
    if (::renameat2(AT_FDCWD, run_dir_.c_str(), AT_FDCWD, final_dir_.c_str(), RENAME_NOREPLACE) !=
        0) {
      if (errno == EEXIST || errno == ENOTEMPTY) {
        return Status::FailedPrecondition(fmt::format("run {} already exists in journal {}",
                                                      run_id_, final_dir_.parent_path().string()));
      }
      return ErrnoError(fmt::format("rename to {}", final_dir_.string()), run_dir_);
    }
    run_dir_ = std::exchange(final_dir_, fs::path());
    // From here on the run exists: whatever fails below, it stays (and is complete).
    BACKOUT_RETURN_IF_ERROR(SyncPath(run_dir_.parent_path()));
    Result<std::unique_ptr<rocksdb::DB>> db = OpenReadWrite(run_dir_ / kDbDirName, false);
    if (!db.ok()) return db.status();
    db_ = std::move(db).value();
    RememberDatabaseDir();
    return Status::Ok();
  }

  // kIOError unless the database directory is still the one opened (same device and inode)
  // and still holds its CURRENT file.
  Status CheckDatabaseInPlace() const {
    const fs::path db_path = run_dir_ / kDbDirName;
    struct stat now {};
    const bool same = ::stat(db_path.c_str(), &now) == 0 && now.st_dev == db_dir_.st_dev &&
                      now.st_ino == db_dir_.st_ino && fs::exists(db_path / "CURRENT");
    if (same) return Status::Ok();
    return Status::IOError(fmt::format(
        "append to run {}: the journal database {} was deleted or replaced while the run was "
        "active; the events appended since are lost, so nothing more is done",
        run_id_, db_path.string()));
  }

  std::string run_id_;
  fs::path run_dir_;    // where the run is now
  fs::path final_dir_;  // while unpublished: where it will be; empty once published
  struct stat db_dir_ {};  // the database directory as opened (CheckDatabaseInPlace)
  ChainKey key_;
  std::shared_ptr<const SigningKey> signer_;  // null: the batches are not signed
  // The run's last record as stored (seq, hash, chain mode): all an append needs of the past.
  std::optional<Head> last_;
  Digest records_digest_{};  // with a signer: P_n of the run (journal/signing.h)
  Env* env_;  // asked for the appending process's OS user at each Append
  // Declared before db_ so that the database is closed before the lock is released.
  RunLock lock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<Record> batch_;  // the records of the last Append, as stored
  std::optional<HeadFile> head_file_;  // set once published
  // Once a write fails, whether its batch reached the WAL is unknown, so last_ may no
  // longer match the disk: refuse further appends; reopening the run reads the truth.
  Status write_failure_;
};

// A signed run is appended to only with the key that signed it (an unsigned one with any or
// none: with a key, its head signatures cover all of it from then on). The run's signatures
// are checked too (`checked`: their check with the signer's public key, made while the run
// was scanned), so that a writer never signs on top of a forged history.
Status CheckSigner(const VerifiedRun& run, const std::string& run_id, const SigningKey* signer,
                   const Result<SignatureCheck>& checked) {
  if (run.signatures.empty()) return Status::Ok();
  const std::string signed_with = KeyFingerprint(run.signatures.front().public_key);
  if (signer == nullptr) {
    return Status::FailedPrecondition(fmt::format(
        "run {} is signed (key {}): set BACKOUT_SIGNING_KEY_FILE to that key's private key file "
        "to append to it", run_id, signed_with));
  }
  if (signer->public_key().raw() != run.signatures.front().public_key) {
    return Status::FailedPrecondition(fmt::format(
        "run {} is signed with key {}, but BACKOUT_SIGNING_KEY_FILE holds key {}: a run is "
        "signed with one key", run_id, signed_with, signer->fingerprint()));
  }
  return checked.status().WithContext(fmt::format("run {}", run_id));
}

// Locks an existing run, checks it in full read-only in one pass (so that a damaged run is
// never opened read-write, which could let RocksDB rewrite or delete what is left of it),
// handing each record to `visit`, then opens it read-write. Keeps only the last record.
Result<std::unique_ptr<DbRunWriter>> OpenWriter(const fs::path& run_dir,
                                               const std::string& run_id, const ChainKey& key,
                                               std::shared_ptr<const SigningKey> signer,
                                               Env* env, const Journal::RecordVisitor& visit) {
  Result<RunLock> lock = RunLock::Acquire(run_dir / kLockFileName, run_id);
  if (!lock.ok()) return lock.status();
  VerifiedRun run;
  SignatureScan signature_scan{.expected = signer ? &signer->public_key() : nullptr,
                               .want_digest = signer != nullptr};
  BACKOUT_RETURN_IF_ERROR(ScanVerified(run_dir, run_id, key, visit, &run, &signature_scan));
  BACKOUT_RETURN_IF_ERROR(CheckSigner(run, run_id, signer.get(), signature_scan.check));
  Result<std::unique_ptr<rocksdb::DB>> db =
      OpenReadWrite(run_dir / kDbDirName, false, run.torn_tail);
  if (!db.ok()) return db.status().WithContext(fmt::format("run {}", run_id));
  Result<HeadFile> head = HeadFile::Open(run_dir / kHeadFileName, run.head_slot);
  if (!head.ok()) return head.status();
  auto writer = std::make_unique<DbRunWriter>(
      run_id, run_dir, key, std::move(signer), env, std::move(lock).value(),
      std::move(db).value(), run.last, signature_scan.records_digest, std::move(head).value());
  BACKOUT_RETURN_IF_ERROR(writer->CatchUpHead(run.head));
  return writer;
}

Status InvalidRunId(const std::string& run_id) {
  return Status::InvalidArgument(fmt::format(
      "invalid run id '{}': it must be 1 to 128 of [0-9A-Za-z._-], starting with a letter or "
      "digit", run_id));
}

// Checks the id and that DIR/RUN exists: kInvalidArgument, kNotFound or kIOError. (What is
// inside is ScanVerified's business: a run directory without its database is damage.)
Status CheckRunExists(const fs::path& journal_dir, const std::string& run_id) {
  if (!IsValidRunId(run_id)) return InvalidRunId(run_id);
  const fs::path run_dir = journal_dir / run_id;
  std::error_code ec;
  const bool exists = fs::is_directory(run_dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    return Status::IOError(fmt::format("{}: {}", run_dir.string(), ec.message()));
  }
  if (!exists) {
    return Status::NotFound(fmt::format("no run {} in journal {}", run_id, journal_dir.string()));
  }
  return Status::Ok();
}

// Removes DIR/.creating.* directories whose creating process is gone: a run killed while
// being built. They never held a published run (no effect ran on their strength), so
// nothing is lost. Best effort: failures are ignored.
void SweepAbandonedCreations(const fs::path& journal_dir) {
  std::error_code ec;
  for (fs::directory_iterator it(journal_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(kCreatingPrefix)) continue;
    const std::size_t dot = name.rfind('.');
    const long pid = std::strtol(name.c_str() + dot + 1, nullptr, 10);
    if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

// Makes an empty run under a hidden name; the writer publishes it as DIR/RUN_ID with its
// first write. A run thus exists whole (with a durable first batch and head) or not at all.
Result<std::unique_ptr<DbRunWriter>> CreateNewRun(const fs::path& journal_dir,
                                                  const std::string& run_id,
                                                  const ChainKey& key,
                                                  std::shared_ptr<const SigningKey> signer,
                                                  Env* env) {
  if (!IsValidRunId(run_id)) return InvalidRunId(run_id);
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(journal_dir));
  const fs::path final_dir = journal_dir / run_id;
  std::error_code ec;
  if (fs::exists(final_dir, ec)) {
    return Status::FailedPrecondition(
        fmt::format("run {} already exists in journal {}", run_id, journal_dir.string()));
  }
  SweepAbandonedCreations(journal_dir);
  const fs::path building =
      journal_dir / fmt::format("{}{}.{}", kCreatingPrefix, run_id, ::getpid());
  // mkdir is exclusive: this directory is ours alone until it is renamed into place.
  if (::mkdir(building.c_str(), 0700) != 0) return ErrnoError("mkdir", building);
  auto fail = [&](const Status& s) {
    std::error_code ignored;
    fs::remove_all(building, ignored);
    return s;
  };
  // RocksDB would create db/ with mode 0755; create it first so it is private too.
  if (Status s = CreatePrivateDirectories(building / kDbDirName); !s.ok()) return fail(s);
  if (Status s = CreatePrivateDirectories(building / kLogDirName); !s.ok()) return fail(s);
  Result<RunLock> lock = RunLock::Acquire(building / kLockFileName, run_id);
  if (!lock.ok()) return fail(lock.status());
  Result<std::unique_ptr<rocksdb::DB>> db = OpenReadWrite(building / kDbDirName, true);
  if (!db.ok()) return fail(db.status().WithContext(fmt::format("create run {}", run_id)));
  return std::make_unique<DbRunWriter>(run_id, building, final_dir, key, std::move(signer), env,
                                       std::move(lock).value(), std::move(db).value());
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

std::string NewRunId(std::int64_t now_us) {
  std::uint32_t random = 0;
  // getrandom of 4 bytes from the urandom pool does not block once the pool is initialized
  // and is never short; if it ever failed, the clock part and the caller's retry remain.
  if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    random = static_cast<std::uint32_t>(::getpid()) ^ static_cast<std::uint32_t>(now_us);
  }
  const std::int64_t micros = ((now_us % 1'000'000) + 1'000'000) % 1'000'000;
  return fmt::format("{}-{:06}-{:08x}", FormatUtcCompact(now_us), micros, random);
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
  Result<std::unique_ptr<DbRunWriter>> writer = CreateNewRun(dir_, run_id, key_, signer_, env_);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<RunWriter>(std::move(writer).value());
}

Status Journal::ImportRun(const SignedRun& run) const {
  if (run.records.empty()) return Status::InvalidArgument("nothing to import: no records");
  const std::string& run_id = run.records.front().run_id;
  BACKOUT_RETURN_IF_ERROR(
      VerifyChain(run.records, key_).WithContext(fmt::format("run {}", run_id)));
  BACKOUT_RETURN_IF_ERROR(CheckSignatures(run.records, run.signatures, nullptr).status());
  // The imported run keeps its own signatures; this journal's signer does not sign it.
  Result<std::unique_ptr<DbRunWriter>> writer =
      CreateNewRun(dir_, run_id, key_, nullptr, env_);
  if (!writer.ok()) return writer.status();
  // The one write publishes the run; if it fails, destroying the writer removes what was
  // made, and nothing of the run remains.
  return (*writer)->Write(run);
}

Result<std::unique_ptr<RunWriter>> Journal::OpenRun(const std::string& run_id,
                                                    const RecordVisitor& visit) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  Result<std::unique_ptr<DbRunWriter>> writer =
      OpenWriter(dir_ / run_id, run_id, key_, signer_, env_, visit);
  if (!writer.ok()) return writer.status();
  return std::unique_ptr<RunWriter>(std::move(writer).value());
}

Result<std::vector<Record>> Journal::ReadRun(const std::string& run_id) const {
  Result<SignedRun> run = ReadSignedRun(run_id);
  if (!run.ok()) return run.status();
  return std::move(run->records);
}

Result<SignedRun> Journal::ReadSignedRun(const std::string& run_id) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  SignedRun read;
  VerifiedRun run;
  BACKOUT_RETURN_IF_ERROR(ScanVerified(dir_ / run_id, run_id, key_,
                                       [&](const Record& record) {
                                         read.records.push_back(record);
                                         return Status::Ok();
                                       },
                                       &run));
  read.signatures = std::move(run.signatures);
  return read;
}

Status Journal::ScanRun(const std::string& run_id, const RecordVisitor& visit) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  VerifiedRun run;
  return ScanVerified(dir_ / run_id, run_id, key_, visit, &run);
}

Status Journal::ScanSignedRun(const std::string& run_id, const RecordVisitor& visit,
                              const PublicKey* expected,
                              Result<SignatureCheck>* signatures) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  VerifiedRun run;
  SignatureScan signature_scan{.expected = expected};
  BACKOUT_RETURN_IF_ERROR(
      ScanVerified(dir_ / run_id, run_id, key_, visit, &run, &signature_scan));
  *signatures = std::move(signature_scan.check);
  return Status::Ok();
}

Result<std::vector<std::string>> Journal::ListRuns() const {
  Result<std::vector<std::string>> runs = ListRunIds();
  if (!runs.ok()) return runs;
  std::erase_if(*runs, [&](const std::string& id) { return !HoldsRun(id); });
  return runs;
}

Result<std::vector<std::string>> Journal::ListRunIds() const {
  std::vector<std::string> runs;
  std::error_code ec;
  fs::directory_iterator it(dir_, ec);
  if (ec == std::errc::no_such_file_or_directory) return runs;
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    // Runs being created (or abandoned while being created) have hidden names that are not
    // run ids.
    std::string name = it->path().filename().string();
    if (IsValidRunId(name)) runs.push_back(std::move(name));
  }
  if (ec) return Status::IOError(fmt::format("{}: list runs: {}", dir_.string(), ec.message()));
  std::sort(runs.begin(), runs.end());
  return runs;
}

bool Journal::HoldsRun(const std::string& run_id) const {
  // Any directory named like a run is one if its database or its head file is there, even if
  // the other is gone: reading it then reports the damage instead of hiding the run. An entry
  // that vanished or cannot be inspected is not a run.
  std::error_code ignored;
  const fs::path run_dir = dir_ / run_id;
  return fs::is_directory(run_dir / kDbDirName, ignored) ||
         fs::exists(run_dir / kHeadFileName, ignored);
}

Result<std::optional<RunHolder>> Journal::Holder(const std::string& run_id) const {
  BACKOUT_RETURN_IF_ERROR(CheckRunExists(dir_, run_id));
  const fs::path path = dir_ / run_id / kLockFileName;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) return ErrnoError("open lock file", path);
    return std::optional<RunHolder>();  // never locked (an imported run)
  }
  const bool free = ::flock(fd, LOCK_SH | LOCK_NB) == 0;
  const int flock_errno = errno;
  ::close(fd);  // drops the probe's shared lock, if taken
  if (free) return std::optional<RunHolder>();
  if (flock_errno != EWOULDBLOCK) {
    errno = flock_errno;
    return ErrnoError("flock", path);
  }
  Result<RunHolder> holder = ReadHolder(path);
  if (!holder.ok()) return holder.status();
  return std::optional<RunHolder>(std::move(holder).value());
}

fs::path Journal::NoteQueueDir(const std::string& run_id) const {
  return dir_ / run_id / kNoteQueueDirName;
}

fs::path Journal::LogDir(const std::string& run_id) const { return dir_ / run_id / kLogDirName; }

Result<fs::path> Journal::ScratchDir(const std::string& run_id) const {
  fs::path dir = dir_ / run_id / kScratchDirName;
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(dir));
  return dir;
}

}  // namespace backout::journal
