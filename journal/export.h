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

// A step's full output log carried in an export (`backout export --with-logs`), after the
// records, on a line of its own kind (docs/journal-format.md#step-logs-in-an-export):
//   {"log":{"step":"migrate","attempt":1,"file":"migrate.1.log","bytes":12,"sha256":"9c..",
//           "journaled":true,"encoding":"utf-8","content":"..."}}
// `content` holds the log's bytes as a JSON string when they are valid UTF-8 ("encoding":
// "utf-8"), as base64 otherwise ("base64"). `bytes` and `sha256` are the content's. A log
// line is not part of the hash chain: what vouches for it is the digest its outcome event
// journaled (sm::LogDigest), which the importer compares (`journaled` says whether the
// exporter found one: false for the log of an attempt in doubt, exported unverified).
struct ExportedLog {
  std::string step;
  int attempt = 0;
  std::string file;     // a plain file name (no directory part), checked by the parser
  bool journaled = false;
  std::string content;  // the log's bytes
};

// The line of `log`, newline-terminated.
std::string ExportLogLine(const ExportedLog& log);

// Parses an export and checks it as ReadRun checks a stored run: each line becomes a record
// that is re-encoded, decoded and has its hash recomputed (with `key` for keyed records),
// then linked to the previous one (seq 1..n, prev_hash, one run, one chain mode). Every
// failure is kCorruption "SOURCE:LINE: problem" for the first bad line, the problem naming
// the event ("event #N: ...") once its seq is known. An export without records is
// kCorruption too. Log lines (ExportedLog) are appended to `*logs` when it is not null and
// skipped otherwise; one whose content does not match its own `bytes` and `sha256`, or whose
// file is not a plain name, is kCorruption.
Result<std::vector<Record>> ParseExport(std::string_view text, std::string_view source,
                                        const ChainKey& key,
                                        std::vector<ExportedLog>* logs = nullptr);

// ParseExport, with the signature lines: each must follow the record it signs (kCorruption
// "SOURCE:LINE: ..." otherwise, or for a malformed one); they are returned decoded, not
// verified (CheckSignatures). ParseExport checks them the same way and drops them. Log
// lines are collected in `*logs` as ParseExport does.
Result<SignedRun> ParseSignedExport(std::string_view text, std::string_view source,
                                    const ChainKey& key,
                                    KeyedHashes keyed = KeyedHashes::kNeedKey,
                                    std::vector<ExportedLog>* logs = nullptr);

// ParseExport of a file, SOURCE being its path. kNotFound or kIOError if it cannot be read.
Result<std::vector<Record>> ReadExportFile(const std::filesystem::path& path,
                                           const ChainKey& key,
                                           std::vector<ExportedLog>* logs = nullptr);
// ParseSignedExport of a file, as ReadExportFile.
Result<SignedRun> ReadSignedExportFile(const std::filesystem::path& path, const ChainKey& key,
                                       KeyedHashes keyed = KeyedHashes::kNeedKey,
                                       std::vector<ExportedLog>* logs = nullptr);

// The digest written as exactly 64 hex digits, either case; nullopt for anything else.
std::optional<Digest> DigestFromHex(std::string_view hex);

}  // namespace backout::journal
