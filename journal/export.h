// Runs as JSON Lines, for moving a run between journals and for reading it elsewhere
// (`backout export` / `import`, `replay --file`). docs/journal-format.md#export-format.
//
// One line per record, in seq order, each a JSON object holding every field of the record
// and nothing else, in this order:
//   {"run_id":"R","seq":1,"time_us":1763747481123456,"type":"RunStarted","operator":"alice",
//    "host":"vm","os_user":"alice","os_uid":1000,"payload":"{\"plan_name\":...}",
//    "chain":"sha256","prev_hash":"00...","hash":"9c..."}
// `os_user` and `os_uid` (null when the uid was unknown) are the OS user of the process that
// appended the record (journal/journal.h); a record of format version 1 has neither, so its
// line is exactly as exports before them wrote it, and the record's version follows from
// their presence.
// `payload` is the stored text as a JSON string (not parsed JSON), so that an import
// re-encodes each record byte for byte and recomputes its hash. Nothing in a line is derived
// or decorative: every field is covered by the record's hash, so every edit is detected.
//
// A signed run's signatures (journal/signing.h) are lines of their own, each right after the
// record it signs, an object with the one member "signature":
//   {"signature":{"seq":3,"records_digest":"<64 hex>","key":"ed25519:SHA256:<64 hex>",
//    "public_key":"<64 hex>","signature":"<128 hex>"}}
// `key` is the fingerprint of `public_key` and must match it.
//
// Thread safety: every function is safe to call concurrently.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/sha256.h"
#include "base/status.h"
#include "journal/chain_key.h"
#include "journal/journal.h"

namespace backout::journal {

// The export of `records` (a run as ReadRun returns it): one newline-terminated line each,
// each of `signatures` (sorted by seq, each of one of the records) after the record it signs.
// kInvalidArgument naming the event if one of its fields is not valid UTF-8, which a JSON
// string cannot carry.
Result<std::string> ExportRecords(const std::vector<Record>& records,
                                  const std::vector<Signature>& signatures = {});

// How ParseSignedExport treats records of a keyed (hmac-sha256) chain when `key` is empty.
enum class KeyedHashes {
  kNeedKey,  // kCorruption "run X is keyed ...", as ReadRun
  // Their HMACs are not checked (they cannot be without the key): everything else is, and
  // the caller must then require signatures over them with CheckSignatures(..., public key),
  // which covers every byte of every record. For auditors who hold only the public key.
  kLeaveToSignatures,
};

// Parses an export and checks it as ReadRun checks a stored run: each line becomes a record
// that is re-encoded, decoded and has its hash recomputed (with `key` for keyed records),
// then linked to the previous one (seq 1..n, prev_hash, one run, one chain mode). Every
// failure is kCorruption "SOURCE:LINE: problem" for the first bad line, the problem naming
// the event ("event #N: ...") once its seq is known. An export without records is
// kCorruption too.
Result<std::vector<Record>> ParseExport(std::string_view text, std::string_view source,
                                        const ChainKey& key);

// ParseExport, with the signature lines: each must follow the record it signs (kCorruption
// "SOURCE:LINE: ..." otherwise, or for a malformed one); they are returned decoded, not
// verified (CheckSignatures). ParseExport checks them the same way and drops them.
Result<SignedRun> ParseSignedExport(std::string_view text, std::string_view source,
                                    const ChainKey& key,
                                    KeyedHashes keyed = KeyedHashes::kNeedKey);

// ParseExport of a file, SOURCE being its path. kNotFound or kIOError if it cannot be read.
Result<std::vector<Record>> ReadExportFile(const std::filesystem::path& path,
                                           const ChainKey& key);
// ParseSignedExport of a file, as ReadExportFile.
Result<SignedRun> ReadSignedExportFile(const std::filesystem::path& path, const ChainKey& key,
                                       KeyedHashes keyed = KeyedHashes::kNeedKey);

// The digest written as exactly 64 hex digits, either case; nullopt for anything else.
std::optional<Digest> DigestFromHex(std::string_view hex);

}  // namespace backout::journal
