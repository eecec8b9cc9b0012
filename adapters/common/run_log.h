// The run log: every full output log of a run's attempts in one append-only file,
// RUN/logs/run.log (mode 0600), so that a run of 5,000 command steps leaves one file, not
// 5,000.
//
// Format, version 1. The file is a sequence of frames, with nothing before, between or after
// them. A frame is
//
//   "=== backout log v1 " NAME " " LENGTH " ===\n"   the header line
//   PAYLOAD                                            exactly LENGTH bytes, any bytes
//   "\n"                                               the trailer
//
// NAME is the logical file name of the attempt the payload belongs to (LogFileName:
// STEP.ATTEMPT.log, a check's STEP.check.ATTEMPT.log): 1 to 255 bytes, ending in ".log", no
// space, no byte below 0x21. LENGTH is decimal without leading zeros, at most 2^40. The
// trailer keeps every header at the start of a line (`grep -n '^=== backout log'` lists
// them) and checks the length. An attempt's log (its "section") is the concatenation, in file
// order, of the payloads of the frames carrying its name; its first frame is empty (written
// when the attempt starts, so an attempt without output has a section too). Frames of
// attempts running at the same time interleave; the bytes of one frame never do.
//
// Frames are delimited by LENGTH, never by looking for headers: output that holds lines
// looking like headers is payload. A reader finding anything else than a frame where one
// must start reports kCorruption with the offset and what it expected, except at the end of
// the file: a last frame cut short (a crash or power cut in the middle of a write; also a
// tail of NUL bytes, a file extended but not written before a power cut) is a truncated
// tail, reported as such, and everything before it reads.
//
// Crash semantics: frames are appended without syncing (as the per-attempt files were); the
// digest journaled with an attempt's outcome (sm::LogDigest) is what vouches for its
// section. A crash can leave a truncated last frame; the next writer session cuts it off
// before appending (its length would otherwise swallow the frames after it), keeping the cut
// bytes in run.log.cut-OFFSET; a file damaged elsewhere is moved aside whole
// (run.log.damaged-SIZE) and a new one started. No byte is lost, and the run goes on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/file_util.h"
#include "base/sha256.h"
#include "base/status.h"

namespace backout::adapters {

// The file name of a run's log inside RUN/logs/.
inline constexpr std::string_view kRunLogFileName = "run.log";

// The header line of a frame of `length` payload bytes for `name` (a valid name).
std::string RunLogHeader(std::string_view name, std::uint64_t length);

// A whole frame: header, payload, trailer.
std::string EncodeRunLogFrame(std::string_view name, std::string_view payload);

// Whether `name` may name a section (see the format above).
bool IsRunLogName(std::string_view name);

// One frame found in a run log.
struct RunLogFrame {
  std::string name;
  std::uint64_t offset = 0;          // where its header starts
  std::uint64_t payload_offset = 0;  // where its payload starts
  std::uint64_t length = 0;          // payload bytes
  std::uint64_t end() const { return payload_offset + length + 1; }
};

// A last frame cut short.
struct RunLogTruncatedTail {
  std::uint64_t offset = 0;  // where the cut frame starts: the file's whole frames end here
  std::uint64_t bytes = 0;   // how many bytes of it are there
};

// Reads a run log's frames in order. Holds the file open; one thread at a time.
class RunLogReader {
 public:
  // kNotFound when there is no file; kIOError when it cannot be opened.
  static Result<RunLogReader> Open(const std::filesystem::path& path);

  // The next frame, nullopt at the end of the whole frames (then truncated_tail() tells
  // whether a cut frame follows), kCorruption (offset, what was expected) for a damaged
  // file, kIOError for a read that failed.
  Result<std::optional<RunLogFrame>> Next();
  // The payload of a frame Next() returned.
  Result<std::string> ReadPayload(const RunLogFrame& frame) const;

  const std::optional<RunLogTruncatedTail>& truncated_tail() const { return tail_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  RunLogReader(std::filesystem::path path, UniqueFd fd, std::uint64_t size)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}

  std::filesystem::path path_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
  std::optional<RunLogTruncatedTail> tail_;
};

// Every section of a run log, in the order of their first frames.
struct RunLogSection {
  std::string name;
  std::string content;
};
struct RunLogContents {
  std::vector<RunLogSection> sections;
  std::optional<RunLogTruncatedTail> truncated_tail;
};
// kNotFound when there is no file; errors as RunLogReader::Next.
Result<RunLogContents> ReadRunLog(const std::filesystem::path& path);

// The writer of one run's log, for one runner session: shared by every attempt of the session
// (thread-safe: frames are appended under a mutex, each with one writev). The file is opened
// at the first frame, not before (a run without command steps has no run log), and repaired
// then: a truncated tail is cut off (and kept beside it), a file damaged elsewhere moved aside
// (see the top).
class RunLog {
 public:
  // `path` is made absolute once, here (the `log` output of every step names it).
  explicit RunLog(const std::filesystem::path& path);
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Appends one frame. A write that fails (disk full) leaves no partial frame: the file is cut
  // back to where the frame began, and kIOError names the file and the error. When even that
  // cut fails, or the file cannot be opened, every later Append of the session fails with the
  // same error (the next session repairs the tail).
  Status Append(std::string_view name, std::string_view payload);

  // What opening the file had to repair (empty when nothing), once: for the runner to show.
  std::string TakeRepairNotice();

 private:
  Status OpenLocked();

  const std::filesystem::path path_;
  std::mutex mu_;
  UniqueFd fd_;             // guarded by mu_
  std::uint64_t end_ = 0;   // guarded by mu_: where the next frame goes
  Status broken_;           // guarded by mu_
  std::string repair_notice_;  // guarded by mu_
};

// One attempt's section of the run log, as an adapter writes it (Invocation::log): frames its
// output and keeps the byte count and SHA-256 of what was written, which the engine journals
// with the attempt's outcome. Used by one thread at a time; `run_log` must outlive it.
class AttemptLog {
 public:
  AttemptLog(RunLog& run_log, std::string name) : run_log_(run_log), name_(std::move(name)) {}

  // Starts the section with its empty first frame. Idempotent.
  Status Begin();
  // Appends `bytes` (nothing for none) as one frame, Begin()ing first if needed. After a
  // failure the section ends: later calls write nothing and return the first error.
  Status Append(std::string_view bytes);

  bool begun() const { return begun_; }
  const std::string& name() const { return name_; }
  const std::filesystem::path& file() const { return run_log_.path(); }

  // Bytes and SHA-256 (hex) of the payload written: the section's, as a reader reads it
  // (when the name was not used before). Call once, after the last Append.
  FileDigest Finish();

 private:
  RunLog& run_log_;
  const std::string name_;
  bool begun_ = false;
  Status failed_;
  std::uint64_t bytes_ = 0;
  Sha256Stream hash_;
};

}  // namespace backout::adapters
