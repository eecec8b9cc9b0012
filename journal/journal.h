// The event journal: an append-only, hash-chained, durable log of records per run, stored
// in RocksDB. It is the only module that touches RocksDB.
//
// Layout on disk (a journal directory holds many runs):
//   DIR/                      mode 0700
//     RUN_ID/                 one run; mode 0700
//       db/                   a RocksDB database holding only this run's records
//       head                  the last acknowledged record (journal/head_file.h)
//       runner.lock           flock()ed by the one process allowed to append
//       notes/                notes queued while a runner holds the run (journal/note_queue.h)
//       logs/                 full output logs of steps (written by the engine)
//     .creating.RUN_ID.PID/   a run being created; never a run (ids cannot start with '.')
// One RocksDB database per run, because RocksDB admits one writing process per database and
// two different runs in one journal directory must be able to proceed at once.
//
// Records know nothing of the state machine: `type` and `payload` are opaque strings here.
// The record encoding is documented in journal/record_codec.h.
//
// Keyed chains: a Journal given a ChainKey creates runs whose records are hashed with
// HMAC-SHA256 under that key; every run keeps the chain mode of its first record, and every
// record is verified in the mode it states (journal/chain_key.h).
//
// Signed runs: a Journal given a SigningKey signs the head of every batch it appends, in the
// batch's own WriteBatch, under a key of its own (journal/signing.h); a run with signatures
// can be appended to only with the key that signed it.
//
// Who and where: every record states the operator name and host its appender gave
// (NewRecord) and the OS user of the process that appended it (Record::os_uid, os_user),
// which the writer takes from the Journal's Env (Env::ProcessUser: getuid and the user
// database) at each Append, so no caller can supply or change it. The Env is the seam, as
// for the clock: the identity is a fact about the process, the same kind as its host name,
// and tests inject another with an EnvWrapper (testing::FakeEnv::SetProcessUser) instead of
// needing a second uid. Records read from disk or an export keep the identity they carry.
//
// Crash semantics: Append() returns only after the whole batch is written with sync=true
// (WAL fsynced) and then the head file naming its last record is fdatasynced; a batch is
// atomic (all of its records or none survive a crash). A run is published under its id by
// its first write, so it exists whole (first batch and head) or not at all. Every open
// checks the records against the head file: a journal is only ever shorter than what was
// acknowledged by losing its last, unacknowledged write; anything else is kCorruption, and a
// run that fails its checks is never opened read-write (docs/journal-format.md#the-head-file).
//
// Concurrency: a RunWriter holds an exclusive flock on runner.lock for its lifetime; a second
// writer of the same run (any process) gets Code::kLocked. Readers (ReadRun, ListRuns) never
// take the lock and work while a writer is active (RocksDB read-only open).
//
// Thread safety: a RunWriter is used by one thread at a time. Journal is immutable.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/sha256.h"
#include "base/status.h"
#include "journal/chain_key.h"
#include "journal/signing.h"

namespace backout::journal {

// The record format version new records are written in (journal/record_codec.h).
inline constexpr std::uint8_t kCurrentRecordFormatVersion = 2;

// One stored event, as the journal sees it.
struct Record {
  std::string run_id;
  std::uint64_t seq = 0;       // 1, 2, 3, ... without gaps
  std::int64_t time_us = 0;    // UTC, microseconds since the epoch
  std::string type;            // event type name ("StepStarted")
  std::string operator_name;  // who the appender said caused the event (--operator)
  std::string host;            // where: the host name of the process that authored the event
  // The OS user of the process that appended the record (Env::ProcessUser). Records of
  // format version 1, written before it was recorded, have OsUser::kUnknownUid and "".
  std::uint32_t os_uid = OsUser::kUnknownUid;
  // os_uid's user name, empty if the user database had none; bytes that are not UTF-8 are
  // marked as everywhere else (base/utf8.h).
  std::string os_user;
  std::string payload;         // encoded event body (JSON text)
  // The record format version it is encoded in (journal/record_codec.h): new records are
  // written in the current one, records read keep theirs so that they re-encode byte for byte.
  std::uint8_t format_version = kCurrentRecordFormatVersion;
  ChainMode chain_mode = ChainMode::kSha256;  // how `hash` is computed; one mode per run
  Digest prev_hash{};          // hash of record seq-1; all zero for seq 1
  Digest hash{};               // SHA-256 or HMAC-SHA256 over the encoded bytes before it
};

// What a caller appends; the journal assigns seq, prev_hash and hash, and the OS user.
struct NewRecord {
  std::int64_t time_us = 0;
  std::string type;
  std::string operator_name;
  // The real host name of the process that authored the event: the CLI gives its own
  // (Env::HostName, which no flag sets), or a queued note's author's, recorded by that
  // author's process (journal/note_queue.h).
  std::string host;
  std::string payload;
};

// A run's records with the signatures stored beside them (journal/signing.h), in seq order.
struct SignedRun {
  std::vector<Record> records;
  std::vector<Signature> signatures;
};

// The runner holding a run's lock, as it recorded itself in runner.lock when it took it.
struct RunHolder {
  std::int64_t pid = 0;  // 0: the holder has not recorded itself yet (it does so right away)
  std::string host;
  std::string since;     // UTC, as FormatUtcMicros writes it
};

// Exclusive appender of one run. Destroying it releases the lock.
class RunWriter {
 public:
  virtual ~RunWriter() = default;

  // Appends `records` as one synced WriteBatch and returns them as stored, valid until the
  // next Append. kInvalidArgument (nothing written) if a record
  // has an empty type or a field over 64 MiB. After a failed write the batch may or may not
  // be on disk, so the writer refuses every later Append with the same error; reopen the run
  // to read what was stored.
  virtual Result<std::span<const Record>> Append(std::span<const NewRecord> records) = 0;

  // The seq of the run's last record (0 before the first Append of a new run). The writer
  // keeps only that record's seq, hash and chain mode (and with a signer the running digest),
  // never the run's records: its memory does not grow with the run.
  virtual std::uint64_t last_seq() const = 0;

  virtual const std::string& run_id() const = 0;
};

class Journal {
 public:
  // Sees one record of a run read in one pass (ScanRun, OpenRun); an error stops the pass.
  using RecordVisitor = std::function<Status(const Record&)>;

  // `dir` need not exist yet: it is created (0700) by the first CreateRun. With a non-empty
  // `key`, new runs are keyed (HMAC-SHA256) and keyed runs can be read; without one, new runs
  // are plain SHA-256 chains and reading a keyed run is kCorruption ("run X is keyed").
  // With a `signer`, every batch a writer of this journal appends is signed with it; without
  // one, OpenRun refuses a signed run (kFailedPrecondition naming its key's fingerprint).
  // Writers record `env`'s ProcessUser in every record they append; `env` is not owned and
  // must outlive the Journal and its writers.
  explicit Journal(std::filesystem::path dir, ChainKey key = ChainKey(),
                   std::shared_ptr<const SigningKey> signer = nullptr, Env* env = Env::Default())
      : dir_(std::move(dir)), key_(std::move(key)), signer_(std::move(signer)), env_(env) {}

  const std::filesystem::path& dir() const { return dir_; }
  const ChainKey& key() const { return key_; }

  // Starts a new run, built under a hidden name: it appears under `run_id` (for ListRuns,
  // ReadRun, OpenRun) only with the writer's first successful Append; a writer destroyed
  // before that leaves nothing. kInvalidArgument if the id is malformed, kFailedPrecondition
  // if a run with this id exists (also from that first Append, if another creator won).
  Result<std::unique_ptr<RunWriter>> CreateRun(const std::string& run_id) const;

  // Creates a run holding exactly `records` (an exported run read back): the run id, seq,
  // times, chain mode and hashes are theirs, and the stored values are byte-identical to the
  // exporter's. The records are checked first as ReadRun would check them (VerifyChain with
  // this journal's key; kCorruption, nothing created), the signatures with CheckSignatures
  // (without a public key: the caller checks the signer) and all are written as one synced
  // batch. kInvalidArgument if there are no records or the run id is malformed,
  // kFailedPrecondition if a run with this id exists.
  Status ImportRun(const SignedRun& run) const;

  // Opens an existing run for appending (resume, approve, resolve, abort, note).
  // kNotFound if there is no such run, kLocked if another process holds it, kCorruption if
  // its records do not decode or chain, or do not reach what its head file records.
  // The run is checked in one pass under the lock, as ScanRun scans it, and `visit` (if
  // given) sees each record of that pass: a caller folds the run it opens without reading it
  // twice. As with ScanRun, an error can come after records were visited (then no writer is
  // returned and what the visitor made of them must be discarded).
  Result<std::unique_ptr<RunWriter>> OpenRun(const std::string& run_id,
                                             const RecordVisitor& visit = nullptr) const;

  // Reads a run without locking. Records are decoded and the hash chain is checked;
  // the first bad record gives kCorruption naming its sequence number. Then the records are
  // checked against the run's head file. Every kCorruption ends with what is known of the
  // run and how to keep the evidence.
  Result<std::vector<Record>> ReadRun(const std::string& run_id) const;
  // ReadRun, with the run's signatures (decoded, not verified: CheckSignatures does that).
  Result<SignedRun> ReadSignedRun(const std::string& run_id) const;

  // ReadRun, one record at a time: `visit` sees each record in seq order, decoded and chained
  // to the one before it, and may stop the scan by returning an error (which ScanRun returns).
  // The run's end is checked against its head file after the last record, so a kCorruption
  // can come after records were visited: whatever the caller made of them is then unverified
  // and must be reported as such (or discarded). The record passed to `visit` is valid only
  // during the call. Errors as ReadRun.
  // One pass over the database (a RocksDB iterator, after one seek for the signatures):
  // memory is the record being visited and the one before it, plus the run's signatures,
  // whatever the run's length.
  Status ScanRun(const std::string& run_id, const RecordVisitor& visit) const;
  // ScanRun that also checks the run's signatures as they go by, as CheckSignatures(records,
  // signatures, `expected`) would after ReadSignedRun: when ScanRun's checks all pass (Ok),
  // `*signatures` gets that check or its failure (kCorruption).
  Status ScanSignedRun(const std::string& run_id, const RecordVisitor& visit,
                       const PublicKey* expected, Result<SignatureCheck>* signatures) const;

  // Whether a runner holds the run now, and who: nullopt when none does. The lock is a kernel
  // flock, so a runner that died (SIGKILL, power) holds nothing, whatever runner.lock still
  // says. Probed with a non-blocking shared flock taken and dropped at once (a writer racing
  // with the probe retries, see OpenRun). kNotFound if there is no such run.
  Result<std::optional<RunHolder>> Holder(const std::string& run_id) const;

  // Run ids in this directory, sorted (ids start with a UTC timestamp, so this is
  // chronological). An absent directory has no runs.
  Result<std::vector<std::string>> ListRuns() const;
  // ListRuns without its check of each name (HoldsRun: a stat or two a run), for a caller that
  // proves each run otherwise: every name in the directory that is a run id, sorted.
  Result<std::vector<std::string>> ListRunIds() const;
  // Whether DIR/RUN_ID holds a run as ListRuns counts one: its database directory or its head
  // file is there (a run whose database is gone is listed, and reading it reports the damage).
  bool HoldsRun(const std::string& run_id) const;

  // Directory of the notes queued for a run while a runner held it (journal/note_queue.h).
  std::filesystem::path NoteQueueDir(const std::string& run_id) const;

  // Directory for the full output logs of a run (created 0700 by CreateRun).
  std::filesystem::path LogDir(const std::string& run_id) const;

  // Directory for a rehearsal's throwaway copies of file-based targets (private like the
  // journal, so copied data stays as protected as the journal is). Created 0700 on demand.
  Result<std::filesystem::path> ScratchDir(const std::string& run_id) const;

 private:
  std::filesystem::path dir_;
  ChainKey key_;
  std::shared_ptr<const SigningKey> signer_;
  Env* env_;
};

// Checks that `records` are a well-formed chain of one run: seq 1..n without gaps, each
// prev_hash equal to the previous record's hash, one chain mode, each hash matching its
// content (with `key` for keyed records). Returns kCorruption naming the first bad record.
Status VerifyChain(const std::vector<Record>& records, const ChainKey& key);

// A run id is [0-9A-Za-z][0-9A-Za-z._-]{0,127}.
bool IsValidRunId(const std::string& run_id);

// A fresh run id for a run started at `now_us`: "20261121T171614Z-123456-3fa9c0d1", the UTC
// second, its microseconds and 32 random bits (getrandom), so ids sort by start time
// (ListRuns is chronological) and two ids collide only when started in the same microsecond
// with the same 32 bits (2^-32), short enough to type. Callers retry CreateRun with a new id
// on kFailedPrecondition, so even that collision costs a retry, not a run.
std::string NewRunId(std::int64_t now_us);

}  // namespace backout::journal
