// The catalog stream: the journal-wide record of what happened to backups outside any run
// (retention decisions and deletions), hash-chained like a run and signed when the journal's
// writers sign (BACKOUT_SIGNING_KEY_FILE). It lives in DIR/.catalog/, a journal of its own
// holding the one stream `backups`: `.catalog` is not a run id, so `status`, the run listing
// and every run command never take it for a run (docs/backups.md#catalog).
//
// Durability: prune journals its RetentionDecided (the intent) before it deletes anything and
// each BackupDeleted after the deletion; a prune killed in between leaves a decision without
// all its deletions, and the next prune decides again from what is there.
//
// Thread safety: a StreamWriter is used by one thread; it holds the stream's runner lock, so a
// second prune of the same journal gets kLocked.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/env.h"
#include "base/status.h"
#include "journal/journal.h"

namespace backout::catalog {

inline constexpr char kStreamDirName[] = ".catalog";
inline constexpr char kStreamId[] = "backups";

// DIR/.catalog for the journal directory DIR.
std::filesystem::path StreamDir(const std::filesystem::path& journal_dir);

// The rules a prune applied; absent ones were not given.
struct RetentionRules {
  std::optional<int> keep_last;
  std::optional<std::int64_t> keep_within_ms;
  std::string target;  // only this target's backups ("" for all)
};

// One backup a retention decision deletes.
struct DoomedBackup {
  std::string id;
  std::string location;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string reason;
};

// What prune decided, journaled before it deletes anything.
struct RetentionDecided {
  RetentionRules rules;
  std::vector<DoomedBackup> deletes;
  std::uint64_t kept = 0;  // how many backups it considered and kept
};

// A backup prune removed (outcome "deleted") or found already gone ("already_absent").
struct BackupDeleted {
  std::string id;
  std::string location;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::string outcome;
};

using StreamBody = std::variant<RetentionDecided, BackupDeleted>;

struct StreamEvent {
  std::uint64_t seq = 0;
  std::int64_t time_us = 0;
  std::string operator_name;
  std::string host;
  StreamBody body;
};

// The stream's events, chain-checked (kCorruption naming the record when one does not verify
// or decode); none when the journal has no stream yet. `stream_journal` is the Journal of
// StreamDir with the runs' key.
Result<std::vector<StreamEvent>> ReadStream(const journal::Journal& stream_journal);

class StreamWriter {
 public:
  // Opens the stream for appending, creating it on the first append. kLocked if another
  // process holds it; kCorruption if it does not verify.
  static Result<std::unique_ptr<StreamWriter>> Open(const journal::Journal& stream_journal,
                                                    Env* env, std::string operator_name,
                                                    std::string host);
  // Appends one event, synced, timed by the Env's clock.
  Status Append(const StreamBody& body);

 private:
  StreamWriter(std::unique_ptr<journal::RunWriter> writer, Env* env, std::string operator_name,
               std::string host)
      : writer_(std::move(writer)),
        env_(env),
        operator_name_(std::move(operator_name)),
        host_(std::move(host)) {}

  std::unique_ptr<journal::RunWriter> writer_;
  Env* env_;
  std::string operator_name_;
  std::string host_;
};

}  // namespace backout::catalog
