#include "report/piece_writer.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

namespace backout::report {

Status PieceWriter::Flush() {
  if (piece_.empty()) return Status::Ok();
  BACKOUT_RETURN_IF_ERROR(out_(piece_));
  piece_.clear();
  return Status::Ok();
}

namespace {

// Worker 1's chunks on their way to the writing thread.
struct Handoff {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<std::pair<std::size_t, std::string>> ready;  // formatted, in chunk order
  bool stopping = false;  // the writing ended or failed: worker 1 stops at its next chunk
  bool refused = false;   // worker 1 had a chunk after the writing ended
  std::optional<Result<std::size_t>> result;  // worker 1's, once it has returned
};

// The two scans of a list disagreed (a spool file changed under the report).
Status ReadDifferently() {
  return Status::IOError("a list of the report read differently the second time");
}

}  // namespace

std::optional<Status> PieceWriter::WriteOnTwoThreads(const Worker& worker, std::size_t* items) {
  Handoff h;
  std::thread second;
  try {
    second = std::thread([&worker, &h] {
      Result<std::size_t> result = worker(1, [&h](std::size_t chunk, std::string& text) {
        std::unique_lock lock(h.mu);
        h.changed.wait(lock, [&h] { return h.stopping || h.ready.size() < kChunksAhead; });
        if (h.stopping) {
          h.refused = true;
          return Status::Cancelled("the report's writing has stopped");
        }
        h.ready.emplace_back(chunk, std::move(text));
        text.clear();  // (a moved-from string is valid, its contents unspecified)
        h.changed.notify_all();
        return Status::Ok();
      });
      const std::lock_guard lock(h.mu);
      h.result = std::move(result);
      h.changed.notify_all();
    });
  } catch (const std::system_error&) {
    return std::nullopt;  // no thread to be had (the process is at its limit)
  }

  std::size_t next = 0;  // the next chunk to write
  // Writes worker 1's chunks up to `chunk`, waiting for each.
  const auto write_until = [&](std::size_t chunk) -> Status {
    for (; next < chunk; ++next) {
      std::string text;
      {
        std::unique_lock lock(h.mu);
        h.changed.wait(lock, [&h] { return !h.ready.empty() || h.result.has_value(); });
        if (h.ready.empty()) {
          return h.result->ok() ? ReadDifferently() : h.result->status();
        }
        if (h.ready.front().first != next) return ReadDifferently();
        text = std::move(h.ready.front().second);
        h.ready.pop_front();
        h.changed.notify_all();
      }
      BACKOUT_RETURN_IF_ERROR(out_(text));
    }
    return Status::Ok();
  };
  Result<std::size_t> mine = worker(0, [&](std::size_t chunk, std::string& text) {
    BACKOUT_RETURN_IF_ERROR(write_until(chunk));
    BACKOUT_RETURN_IF_ERROR(out_(text));
    text.clear();
    next = chunk + 1;
    return Status::Ok();
  });
  Status status = mine.status();
  if (mine.ok()) status = write_until((*mine + kChunkItems - 1) / kChunkItems);
  {
    const std::lock_guard lock(h.mu);
    h.stopping = true;
  }
  h.changed.notify_all();
  second.join();
  BACKOUT_RETURN_IF_ERROR(status);
  if (h.result->ok() && **h.result == *mine) {
    *items = *mine;
    return Status::Ok();
  }
  if (!h.result->ok() && !h.refused) return h.result->status();
  return ReadDifferently();
}

}  // namespace backout::report
