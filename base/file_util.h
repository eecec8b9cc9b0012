// Small durable-file helpers built on POSIX calls, and an owning file descriptor.
//
// Crash semantics: WriteFileAtomically either leaves the old file in place or the complete
// new one, never a mix: it writes a temp file beside the target, fsyncs it, renames it over
// the target and fsyncs the directory.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace backout {

Result<std::string> ReadFileToString(const std::filesystem::path& path);

// Writes all of `bytes` to `fd`, again after a short write or EINTR; kIOError "NAME: write:
// strerror" (NAME says what `fd` is, for the message) at the first failure, after which an
// unknown part of `bytes` was written.
Status WriteAll(int fd, std::string_view bytes, std::string_view name);

// fsync of a file or directory by path.
Status SyncPath(const std::filesystem::path& path);

// Puts `from` (a finished file or folder, already fsynced) in place under the name `to`:
// rename(2), which replaces whatever `to` names (a symlink there is replaced, not followed),
// then fsync of `to`'s folder, without which a crash can forget the rename. The last step of
// every durable write (WriteFileAtomically, streamed files, backups). Errors: kIOError
// "TO: rename into place: <strerror>" with nothing renamed, or SyncPath's error after the
// rename (the new name may not survive a crash).
Status RenameDurably(const std::filesystem::path& from, const std::filesystem::path& to);

// A file descriptor that is closed when this object goes away (-1: none).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Gives up ownership without closing (for a caller that closes it to see close's error).
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// A new, empty file beside `target` ("TARGET.<16 random hex digits>SUFFIX", mode `mode`
// whatever the umask), created with O_CREAT | O_EXCL | O_NOFOLLOW and open for reading and
// writing.
// Every file backout writes is built this way and then renamed over its final name, because a
// fixed temp name ("TARGET.tmp") lets anyone who can write the folder plant a symlink there
// and have us overwrite (and chmod) the file it points to; O_EXCL fails on any existing name,
// a symlink included, and the random part means no name can be planted in advance. A name
// taken by chance is retried with new random digits.
struct ExclusiveFile {
  UniqueFd fd;
  std::filesystem::path path;
};
Result<ExclusiveFile> CreateExclusiveFile(const std::filesystem::path& target,
                                          std::string_view suffix, unsigned int mode = 0600);

// The new file gets exactly `mode` (umask does not apply), so a caller can keep the mode of
// the file it replaces. The temp file is CreateExclusiveFile(path, ".tmp-backout"); one left
// by a crash stays as garbage beside the file (safe to delete).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned int mode = 0600);

// Asks the kernel to start writing bytes [offset, offset + length) of the open file `fd` to
// disk now (sync_file_range SYNC_FILE_RANGE_WRITE), without waiting. A large file written
// this way in steps has little left for its final fsync, so the disk works while the writer
// produces the rest. Durability still comes only from that fsync, which also reports any
// write error, so failures here are ignored.
void StartWriteback(int fd, std::uint64_t offset, std::uint64_t length);

// For a file written front to back: StartWriteback of what it gained since the writeback last
// started, once that is at least 8 MiB (fewer calls, and the disk gets large sequential
// writes). `written` is the file's size so far; `*started` is where the writeback not yet
// started begins (0 for a new file), and is advanced.
void StartWritebackAsItGrows(int fd, std::uint64_t written, std::uint64_t* started);

// mkdir -p with mode 0700 for every directory it creates.
Status CreatePrivateDirectories(const std::filesystem::path& dir);

}  // namespace backout
