// Binary encoding of journal records as RocksDB keys and values.
//
// Key: the record's seq as 8 bytes, big-endian, so RocksDB's default bytewise key order is
// event order.
//
// Value. Integers are big-endian; `str` is a u32 byte length N followed by N bytes
// (N <= kMaxFieldBytes, 64 MiB). Two format versions exist, told apart by the first byte;
// version 2 is written, both are read:
//
//   offset   size   field       meaning
//   0        1      version     record format version, 1 or 2
//   1        1      chain       how `hash` is computed: 0 SHA-256, 1 HMAC-SHA256 (ChainMode)
//   2        8      seq         u64, equal to the key's seq
//   10       8      time_us     i64 (two's complement), UTC microseconds since the epoch
//   18       4+N    run_id      str, non-empty; the run the record belongs to
//   ...      4+N    type        str, non-empty; event type name
//   ...      4+N    operator    str; who the appender said caused the event
//   ...      4+N    host        str; where the event was authored
//   ...      4      os_uid      version 2 only: u32, the real uid of the appending process;
//                               0xffffffff (OsUser::kUnknownUid) if it was unknown
//   ...      4+N    os_user     version 2 only: str; os_uid's user name, empty if unknown
//   ...      4+N    payload     str; event body (opaque here)
//   size-64  32     prev_hash   the `hash` of record seq-1; all zero for seq 1
//   size-32  32     hash        SHA-256, or HMAC-SHA256 with the journal key, over bytes
//                               [0, size-32) of this value
//
// Nothing follows `hash`; the smallest value is 102 bytes in version 1, 110 in version 2. A
// version 1 record decodes with os_uid kUnknownUid and os_user empty (Record::format_version
// 1), and only such a record encodes as version 1. The encoding is canonical (a record has
// exactly one encoding and the decoder accepts nothing else), so the hash of a decoded record
// can be recomputed by re-encoding it. `chain` and `version` are inside the hashed bytes, so
// a keyed record cannot be relabelled as unkeyed, nor a version 2 record stripped of its OS
// user, without recomputing its hash; and a chain never goes back from version 2 to 1
// (CheckChainLink), since a build that writes version 2 reads it too.
//
// Thread safety: every function is pure and safe to call concurrently.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/sha256.h"
#include "base/status.h"
#include "journal/journal.h"

namespace backout::journal {

// The oldest record format version this build reads; the newest, which it writes, is
// kCurrentRecordFormatVersion (journal/journal.h).
inline constexpr std::uint8_t kOldestRecordFormatVersion = 1;
// The version that added os_uid and os_user.
inline constexpr std::uint8_t kOsUserFormatVersion = 2;
inline constexpr std::size_t kKeyBytes = 8;
// Upper bound of each `str` field: a sanity limit, so a damaged length cannot make the
// decoder allocate gigabytes.
inline constexpr std::size_t kMaxFieldBytes = std::size_t{64} << 20;

std::string EncodeKey(std::uint64_t seq);

// kCorruption unless `key` is exactly kKeyBytes long.
Result<std::uint64_t> DecodeKey(std::string_view key);

// The full value, with `record.hash` written as given (it is not computed here), in
// record.format_version. Requires every string field of `record` to be at most
// kMaxFieldBytes, a format version this build reads, and, for version 1, os_uid kUnknownUid
// and an empty os_user (a version 1 record cannot hold an OS user). This is the single source
// of a record's bytes: its hash, its stored value and anything signed over it.
std::string EncodeRecord(const Record& record);

// The hash of `record` in its chain mode, over its encoding up to and including prev_hash.
// Requires a non-empty `key` when record.chain_mode is kHmacSha256 (`key` is unused for
// kSha256).
Digest ComputeRecordHash(const Record& record, const ChainKey& key);

// Sets record->hash (as ComputeRecordHash does) and returns the full value: one encoding
// serves the hash and the stored bytes, which the append path needs for every event.
std::string EncodeRecordWithHash(Record* record, const ChainKey& key);

// Decodes the value stored under the key for `key_seq`, of either format version. Checks the
// version (kCorruption "unknown record format version V" for any other), the structure, that the
// record's seq equals `key_seq`, its hash (VerifyRecordHash), and that run_id and type are
// non-empty. Every failure is kCorruption "event #<key_seq>: <what is wrong>".
Result<Record> DecodeRecord(std::string_view value, std::uint64_t key_seq, const ChainKey& key);
// DecodeRecord into `*out`, whose strings keep their capacity (a reader that decodes many
// records into the same few saves an allocation per field). On failure `*out` is partly
// overwritten and must not be used.
Status DecodeRecordInto(std::string_view value, std::uint64_t key_seq, const ChainKey& key,
                        Record* out);

// kCorruption "event #N: ..." unless record.hash == ComputeRecordHash(record, key): "hash
// mismatch" (naming the key as a suspect for keyed records), or "run X is keyed" when the
// record is keyed and `key` is empty.
Status VerifyRecordHash(const Record& record, const ChainKey& key);

// kCorruption "event #N: ..." unless `record` may directly follow `prev` in a chain
// (nullptr: `record` is the first): seq one more (1 for the first), prev_hash equal to
// prev's hash (zero for the first), the same run, the same chain mode and a format version
// no older than prev's. Each record's own
// hash is checked separately (VerifyRecordHash).
Status CheckChainLink(const Record* prev, const Record& record);

// The message form shared by every record-level corruption: "event #<seq>: <problem>".
template <typename... Args>
Status EventCorruption(std::uint64_t seq, fmt::format_string<Args...> problem, Args&&... args) {
  return Status::Corruption(
      fmt::format("event #{}: {}", seq, fmt::format(problem, std::forward<Args>(args)...)));
}

}  // namespace backout::journal
