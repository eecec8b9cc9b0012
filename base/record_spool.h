// A sequence of records appended in order and read back from the first, as often as needed:
// held in memory up to a limit, then in a private temporary file. What a one-pass writer
// keeps of a list it must write out later (the long lists of a report, cli/report_spool.h)
// without holding the list in memory or reading its source again.
//
// The file is created with O_TMPFILE in the temporary folder (TMPDIR, else /tmp), so it has no
// name anyone could open or plant a symlink at; where the file system lacks O_TMPFILE it is
// made by CreateExclusiveFile (base/file_util.h) and unlinked at once. Either way it is 0600,
// gone when the spool is destroyed or the process dies, and never synced (nothing in it
// outlives the process).
//
// Errors: Append and ReadRecords return kIOError with the folder and strerror (a full disk, an
// unwritable or missing TMPDIR); after a failed Append the spool is broken and every call
// returns that error again.
//
// Thread safety: Append must not run at the same time as any other call; ReadRecords may run
// on several threads at once (each reads with pread into a buffer of its own).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "base/file_util.h"
#include "base/status.h"

namespace backout {

class RecordSpool {
 public:
  // What is held in memory before it goes to the file.
  static constexpr std::size_t kDefaultMemoryLimit = std::size_t{1} << 20;

  explicit RecordSpool(std::size_t memory_limit = kDefaultMemoryLimit);
  RecordSpool(RecordSpool&&) noexcept = default;
  RecordSpool& operator=(RecordSpool&&) noexcept = default;

  // Appends one record (up to 4 GiB - 1 bytes).
  Status Append(std::string_view record);

  // Visits every record appended so far, in order; returns the first error, its own or
  // `visit`'s. A record visited is valid until `visit` returns. Memory: the largest record
  // plus a read buffer of 1 MiB.
  Status ReadRecords(const std::function<Status(std::string_view record)>& visit) const;

  std::uint64_t records() const { return records_; }
  // Whether any of it went to a file.
  bool spilled() const { return file_.valid(); }

 private:
  Status Spill();

  std::size_t memory_limit_;
  std::filesystem::path folder_;  // where the file is (TMPDIR when it was made)
  std::string held_;  // framed records not yet in the file (each: 4-byte length, then bytes)
  UniqueFd file_;
  std::uint64_t file_bytes_ = 0;
  std::uint64_t records_ = 0;
  Status broken_;
};

namespace detail {
// The spool file where the file system lacks O_TMPFILE: made by CreateExclusiveFile in `dir`
// and unlinked before it is returned, so it is 0600 and has no name. Declared here for its
// test (no file system at hand lacks O_TMPFILE).
Result<UniqueFd> CreateUnlinkedFile(const std::filesystem::path& dir);
}  // namespace detail

}  // namespace backout
