// The head file: an independent, durable record of how far a run's journal got.
//
// RocksDB's write-ahead log cannot tell a log that ends where the writer stopped from a log
// cut short (a deleted WAL, a damaged record that recovery treats as the end). So each run
// keeps, outside its database, the seq and hash of the last record an Append acknowledged,
// and every open checks the journal against it (CheckAgainstHead). docs/journal-format.md
// ("The head file") has the layout and the reasoning.
//
// File DIR/RUN_ID/head, exactly kHeadFileBytes, two slots at offsets 0 and kHeadSlotStride:
//
//   offset  size  field
//   0       8     magic "BKOHEAD1"
//   8       1     chain mode of the run (0 sha256, 1 hmac-sha256)
//   9       7     zero
//   16      8     seq, u64 big-endian, >= 1: the last acknowledged record
//   24      32    hash of that record
//   56      32    SHA-256 (chain mode 0) or HMAC-SHA256 with the journal key (mode 1) of [0, 56)
//
// A slot of all zero bytes is empty. Writes alternate between the slots, so a write torn by
// a crash leaves the other slot, one write older, intact; the valid slot with the larger seq
// is the head.
//
// Crash semantics: HeadFile::Write returns after pwrite + fdatasync of one slot. The journal
// writes the head only after the batch it names is synced, so the head never claims a record
// that is not durable; after a crash between the two it lags by one batch, which the check
// accepts (the journal may be longer than the head, never shorter or different).
//
// Thread safety: HeadFile is used by one thread at a time; the free functions are pure or
// only read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/file_util.h"
#include "base/sha256.h"
#include "base/status.h"
#include "journal/chain_key.h"
#include "journal/journal.h"

namespace backout::journal {

inline constexpr char kHeadFileName[] = "head";
inline constexpr std::size_t kHeadSlotBytes = 88;
// Slots in separate 512-byte sectors, so that one torn sector write cannot damage both.
inline constexpr std::size_t kHeadSlotStride = 512;
inline constexpr std::size_t kHeadFileBytes = 2 * kHeadSlotStride;

struct Head {
  std::uint64_t seq = 0;
  Digest hash{};
  ChainMode chain_mode = ChainMode::kSha256;
};

// The head naming the last of `records` (which must not be empty).
Head HeadOf(const std::vector<Record>& records);
// The head naming `record`.
Head HeadOf(const Record& record);

// One slot's bytes for `head`, checksummed (with `key` when head.chain_mode is keyed; the key
// must then be non-empty).
std::string EncodeHeadSlot(const Head& head, const ChainKey& key);

// The head stored in `path`. kNotFound if the file does not exist; kCorruption naming the
// file and what is wrong with each slot if neither slot is valid, or if the head is keyed
// and `key` is empty ("set BACKOUT_JOURNAL_KEY"). `*slot`, if given, gets the slot read.
Result<Head> ReadHeadFile(const std::filesystem::path& path, const ChainKey& key,
                          int* slot = nullptr);
// ReadHeadFile of `relative` resolved against the directory open as `dir_fd` (AT_FDCWD: the
// working directory), for a caller that reads the heads of many runs (one openat, one read
// and one close each; no path walk from the root). Messages name `dir / relative`.
Result<Head> ReadHeadFileAt(int dir_fd, const std::filesystem::path& dir,
                            const std::filesystem::path& relative, const ChainKey& key,
                            int* slot = nullptr);

// kCorruption unless `records` (a whole run, as read) reach the head: the run has at least
// head.seq records, its record head.seq has head.hash, and its chain mode is the head's.
// Messages name `head_path`.
Status CheckAgainstHead(const std::vector<Record>& records, const Head& head,
                        const std::filesystem::path& head_path);
// CheckAgainstHead for a run read in one pass: `last_seq` is its last record's seq (0: none)
// and `at_head` what its record head.seq states (HeadOf it), nullopt if the run is shorter.
Status CheckAgainstHead(std::uint64_t last_seq, const std::optional<Head>& at_head,
                        const Head& head, const std::filesystem::path& head_path);

// The open head file of a run being written.
class HeadFile {
 public:
  // Creates `path` (0600, exclusively) holding `head` in slot 0, fdatasynced. The caller
  // syncs the directory.
  static Result<HeadFile> Create(const std::filesystem::path& path, const Head& head,
                                 const ChainKey& key);
  // Opens an existing head file for writing; the next Write goes to the slot after
  // `current_slot` (the one ReadHeadFile read).
  static Result<HeadFile> Open(const std::filesystem::path& path, int current_slot);

  // Overwrites the older slot with `head` and fdatasyncs.
  Status Write(const Head& head, const ChainKey& key);

 private:
  HeadFile(UniqueFd fd, std::filesystem::path path, int next_slot)
      : fd_(std::move(fd)), path_(std::move(path)), next_slot_(next_slot) {}

  UniqueFd fd_;
  std::filesystem::path path_;
  int next_slot_;
};

}  // namespace backout::journal
