// The run index: DIR/.runindex, one summary per finished run, so that `status` of thousands
// of runs reads one file and each run's head file instead of opening one RocksDB per run.
//
// It is a cache and never the truth. An entry names the run's stamp (RunStamp: the head
// (seq, hash, chain mode) its head file holds and what its last writer session wrote in
// runner.lock) and is used only while the run still has exactly that stamp: a run appended
// to since has a newer head, and a writer killed between its durable append and its head
// write (the journal then holds one batch more than the head) took the lock first, which
// rewrote runner.lock; either way the run is read from its journal again. So the index may lag its runs, never
// disagree with them, and writers never touch it (no cost and no crash window on the append
// path). Runs are listed from the journal directory, not from the index, so a missing,
// stale or damaged index never hides a run: a run without a valid entry is read in full.
// Format: docs/journal-format.md#the-run-index.
//
// Writing: a new index is written whole to a hidden temp file (DIR/.runindex.tmp.PID) and
// renamed over the old one; no fsync (losing it only costs a slower `status`). Two writers
// race harmlessly: the last rename wins and both files are valid.
//
// Entries are checked with a 64-bit checksum, or with the journal key (HMAC-SHA256) when the
// journal has one, so that a journal key also protects what `status` shows.
//
// Thread safety: RunIndexReader and RunIndexWriter are used by one thread at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "base/status.h"
#include "journal/chain_key.h"
#include "journal/head_file.h"

namespace backout::journal {

inline constexpr char kRunIndexFileName[] = ".runindex";

// What identifies a run's content without opening its database. Every writer session
// (journal::RunLock) rewrites runner.lock with its pid, host and start time in microseconds
// before its first append, so `lock_stamp` (a checksum of those bytes) changes with every
// session, and the head file changes with every acknowledged append.
struct RunStamp {
  Head head;
  std::uint64_t lock_stamp = 0;
  bool operator==(const RunStamp& other) const {
    return head.seq == other.head.seq && head.hash == other.head.hash &&
           head.chain_mode == other.head.chain_mode && lock_stamp == other.lock_stamp;
  }
};
// The stamp of run `run_id` in `journal_dir` now (the head read and checked with `key`).
// kNotFound/kCorruption/kIOError as ReadHeadFile, or if runner.lock cannot be read.
Result<RunStamp> ReadRunStamp(const std::filesystem::path& journal_dir, const std::string& run_id,
                              const ChainKey& key);

// ReadRunStamp for many runs of one journal: the journal directory is opened once and each
// stamp read relative to it (two openat, two reads, two closes a run; no stat, no path walk
// from the root). A directory that cannot be opened makes every Read a kIOError.
// Thread safety: Read may be called from several threads.
class RunStampReader {
 public:
  RunStampReader(std::filesystem::path journal_dir, ChainKey key);
  Result<RunStamp> Read(const std::string& run_id) const;

 private:
  std::filesystem::path journal_dir_;
  ChainKey key_;
  UniqueFd dir_;
};

// The stamps of a list of runs, in list order, read on two threads at once: the caller's
// and one of this object's own, which reads every other run's stamp ahead of the caller (at
// most kAhead runs ahead, so memory does not grow with the list). A stamp costs system calls
// (two small files), not CPU, so two threads read a long list in about half the time.
// A stamp read ahead is a stamp read a moment earlier: the caller compares it with what it
// knew of the run then, as it would a stamp read in turn.
// Thread safety: Next is called by one thread; `reader` and `run_ids` outlive this object.
class RunStampsAhead {
 public:
  static constexpr std::size_t kAhead = 128;

  RunStampsAhead(const RunStampReader& reader, const std::vector<std::string>& run_ids);
  ~RunStampsAhead();  // stops the reading ahead and joins its thread
  RunStampsAhead(const RunStampsAhead&) = delete;
  RunStampsAhead& operator=(const RunStampsAhead&) = delete;

  // The stamp of run_ids[i], where i is the number of calls made before this one (fewer
  // calls than ids is fine).
  Result<RunStamp> Next();

 private:
  void ReadEveryOther();  // the thread: ids 0, 2, 4, ...

  const RunStampReader& reader_;
  const std::vector<std::string>& run_ids_;
  std::size_t next_ = 0;  // the caller's position
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::optional<Result<RunStamp>>> slots_;  // id i's stamp at i / 2 % size
  std::size_t taken_ = 0;  // ids below this one were handed out (guarded by mutex_)
  bool stop_ = false;
  std::thread thread_;  // last: started once the rest is constructed
};

// What the index keeps of one run: the stamp it describes and two renderings made by the
// caller (opaque here): `status`'s summary line and its JSON object.
struct RunSummary {
  std::string run_id;
  RunStamp stamp;
  std::string line;
  std::string json;
};

// Reads DIR/.runindex front to back; entries are in run-id order, so a listing in the same
// order finds each run's entry by moving forward only (memory: one entry).
class RunIndexReader {
 public:
  // Never fails: a missing index reads as empty; an unreadable or damaged one as empty from
  // the damage on (damage() says where).
  RunIndexReader(const std::filesystem::path& journal_dir, ChainKey key);
  ~RunIndexReader();
  RunIndexReader(const RunIndexReader&) = delete;
  RunIndexReader& operator=(const RunIndexReader&) = delete;

  // The valid entry for `run_id`, or null. Calls must come in increasing run-id order; the
  // entry is valid until the next call. Entries of ids passed over are skipped.
  const RunSummary* Find(const std::string& run_id);
  // Find, but only an entry that still stands for the run: one naming `stamp`, the stamp the
  // run has now (ReadRunStamp); null when the stamp differs or could not be read.
  const RunSummary* FindCurrent(const std::string& run_id, const Result<RunStamp>& stamp);

  // Empty, or what was wrong with the index (then the rest of it was not used).
  const std::string& damage() const { return damage_; }

  // Marks the entry Find returned last as kept unchanged. True if it directly follows the
  // entries kept before it (nothing was passed over or left out in between), so that the
  // first kept_bytes() of the index are still exactly what a new index would begin with.
  bool Keep();
  // The length of the kept prefix: the file header and the entries kept in a row from it.
  std::uint64_t kept_bytes() const { return kept_end_; }
  // Whether the index holds nothing after the kept prefix (read to its end to tell).
  bool NothingAfterKept();
  // Copies the index's first `bytes` bytes to `out` (an open RunIndexWriter's file).
  Status CopyPrefix(std::uint64_t bytes, std::FILE* out) const;

 private:
  bool ReadEntry();  // the next entry into current_; false at the end or on damage
  void Damaged(std::string what);

  std::filesystem::path path_;
  ChainKey key_;
  std::FILE* file_ = nullptr;
  std::uint64_t offset_ = 0;  // of the next unread byte
  std::uint64_t kept_end_ = 0;
  std::optional<RunSummary> current_;  // read, not yet passed over
  std::uint64_t current_start_ = 0;
  std::uint64_t current_end_ = 0;
  bool ended_ = false;
  std::string damage_;
};

// A new index, built in a temp file and put in place by Commit.
class RunIndexWriter {
 public:
  // Creates DIR/.runindex.tmp.PID (0600) and writes the file header, or, with `prefix` and
  // `prefix_bytes` > 0, that prefix of the reader's index (its kept_bytes(): it starts with
  // the header).
  static Result<std::unique_ptr<RunIndexWriter>> Begin(const std::filesystem::path& journal_dir,
                                                       ChainKey key,
                                                       const RunIndexReader* prefix = nullptr,
                                                       std::uint64_t prefix_bytes = 0);
  ~RunIndexWriter();  // without Commit: removes the temp file
  RunIndexWriter(const RunIndexWriter&) = delete;
  RunIndexWriter& operator=(const RunIndexWriter&) = delete;

  // Appends an entry; entries must be added in increasing run-id order.
  Status Add(const RunSummary& summary);
  // Renames the temp file over DIR/.runindex.
  Status Commit();

 private:
  RunIndexWriter(std::filesystem::path journal_dir, std::filesystem::path temp, std::FILE* file,
                 ChainKey key)
      : journal_dir_(std::move(journal_dir)), temp_(std::move(temp)), file_(file),
        key_(std::move(key)) {}

  std::filesystem::path journal_dir_;
  std::filesystem::path temp_;
  std::FILE* file_;
  ChainKey key_;
};

}  // namespace backout::journal
