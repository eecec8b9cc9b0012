// Bytes written to a file descriptor by a thread of its own, so that a writer that produces a
// long output (a report of a million events: half a gigabyte) makes its next bytes while the
// kernel copies the last ones into the page cache or a pipe: the copy is no longer on the
// producer's thread. Memory: two chunks of `chunk_bytes` (one filling, one being written).
//
// Errors: the first failed write (kIOError "NAME: write: strerror") is returned by every
// Write and Flush once the thread has met it (at the latest by the Write that hands over the
// next chunk, and by Flush); no more bytes go to the descriptor after it. Which bytes before it reached the descriptor is unknown, as with any
// failed write.
//
// Thread safety: one producer thread calls Write and Flush; the object's own thread only
// writes. The descriptor stays the caller's (not closed), and nothing else may write to it
// until Flush has returned. The destructor waits for the chunk being written and drops what
// was not yet handed over: call Flush to have everything written.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "base/status.h"

namespace backout {

class WriteBehind {
 public:
  static constexpr std::size_t kDefaultChunkBytes = std::size_t{1} << 20;

  // `name` says what `fd` is in error messages ("stdout", a path).
  WriteBehind(int fd, std::string name, std::size_t chunk_bytes = kDefaultChunkBytes);
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // Takes `bytes`; hands a full chunk to the thread, waiting while it still writes the one
  // before.
  Status Write(std::string_view bytes);

  // Returns once every byte taken so far is written (or the first error).
  Status Flush();

 private:
  // Waits until the thread has no chunk, then gives it `filling_` (which may be empty, to
  // learn the outcome of what it had).
  Status HandOver();
  void WriteChunks();

  const int fd_;
  const std::string name_;
  const std::size_t chunk_bytes_;
  std::string filling_;  // the producer's

  std::mutex mu_;
  std::condition_variable changed_;
  std::string writing_;  // guarded by mu_ while empty; the thread's while it holds a chunk
  bool has_chunk_ = false;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  Status failed_;           // guarded by mu_
  std::atomic<bool> any_failure_{false};  // failed_ is set: Write checks without the lock
  std::thread thread_;      // last: started once the rest is ready
};

}  // namespace backout
