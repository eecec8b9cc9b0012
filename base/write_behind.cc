#include "base/write_behind.h"

#include <utility>

#include "base/file_util.h"

namespace backout {

WriteBehind::WriteBehind(int fd, std::string name, std::size_t chunk_bytes)
    : fd_(fd), name_(std::move(name)), chunk_bytes_(chunk_bytes), thread_([this] { WriteChunks(); }) {}

WriteBehind::~WriteBehind() {
  {
    const std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

Status WriteBehind::Write(std::string_view bytes) {
  if (any_failure_.load(std::memory_order_relaxed)) return HandOver();
  filling_.append(bytes);
  return filling_.size() < chunk_bytes_ ? Status::Ok() : HandOver();
}

Status WriteBehind::Flush() {
  BACKOUT_RETURN_IF_ERROR(HandOver());
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return !has_chunk_; });
  return failed_;
}

Status WriteBehind::HandOver() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return !has_chunk_; });
  if (!failed_.ok()) {
    filling_.clear();
    return failed_;
  }
  if (filling_.empty()) return Status::Ok();
  // The swap keeps both buffers' capacity: no allocation per chunk.
  writing_.swap(filling_);
  has_chunk_ = true;
  lock.unlock();
  changed_.notify_all();
  return Status::Ok();
}

void WriteBehind::WriteChunks() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    changed_.wait(lock, [this] { return has_chunk_ || stopping_; });
    if (!has_chunk_) return;  // stopping, nothing left to write
    lock.unlock();
    // HandOver gives no chunk after a failure: bytes after a gap would make a corrupt output.
    Status written = WriteAll(fd_, writing_, name_);
    lock.lock();
    writing_.clear();
    has_chunk_ = false;
    if (failed_.ok() && !written.ok()) {
      failed_ = std::move(written);
      any_failure_.store(true, std::memory_order_relaxed);
    }
    changed_.notify_all();
  }
}

}  // namespace backout
