// A form's text as it is made, internal to report/: what is known at once gathers in a piece,
// written out before a streamed list (or at the end), whose items are written as they come.
//
// A long list whose source allows two scans at once (EntrySource::concurrent_scans) is
// formatted on two threads: the caller's takes the chunks of kChunkItems items with an even
// index, a thread of Stream's own the odd ones, each scanning the whole list and formatting
// only its own chunks; the caller's thread writes every chunk to the output, in order. On a
// report of a million events the writing is most of what follows the checked pass, and the
// pass's reading thread is idle by then. The bytes are those of one thread, whatever the
// interleaving.
//
// Thread safety: one thread uses a PieceWriter; `out` is only ever called on that thread.
// For a list formatted on two threads, the source's `scan` and the `item` formatter are
// called on both at once (what concurrent_scans promises of the scan; an item formatter must
// keep no state of its own). Memory: a piece of about 64 KiB, and while a list is formatted on
// two threads, at most kChunksAhead + 2 chunks.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "report/render.h"

namespace backout::report {

class PieceWriter {
 public:
  // Items a chunk holds when a list is formatted on two threads.
  static constexpr std::size_t kChunkItems = 512;
  // The items a list needs to be formatted on two threads: a shorter one is written in about
  // a millisecond, where a thread's start and a second scan would save next to nothing.
  static constexpr std::size_t kTwoThreadsFrom = 8 * kChunkItems;
  // Chunks the second thread may have formatted that the writing has not taken yet.
  static constexpr std::size_t kChunksAhead = 4;

  explicit PieceWriter(const OutputSink& out) : out_(out) {}

  std::string& piece() { return piece_; }

  Status Flush();

  // What `source` visits, each item appended by `item(x, &text)` as it comes, `between` before
  // each but the first: `open` before the first; after the last, `close`, or `if_none` when
  // there was none. Returns the first error of the scan or of the output, after which the
  // output is incomplete. On one thread, items gather in the piece, written out whenever it
  // holds kStreamedBytes (a call of `out` per item cost more than the item's text); on two, a
  // chunk is one call of `out`.
  template <typename T, typename Item>
  Status Stream(const EntrySource<T>& source, std::string_view open, const Item& item,
                std::string_view between, std::string_view close, std::string_view if_none) {
    BACKOUT_RETURN_IF_ERROR(Flush());
    std::size_t items = 0;
    std::optional<Status> written;
    if (source.concurrent_scans && source.entries >= kTwoThreadsFrom) {
      written = WriteOnTwoThreads(
          [&](int worker, const ChunkDone& done) -> Result<std::size_t> {
            return FormatChunks(source, open, item, between, worker, done);
          },
          &items);
    }
    if (!written) {
      written = source.scan(
          [&](const T& x) -> Status {
            piece_.append(items++ == 0 ? open : between);
            item(x, &piece_);
            return piece_.size() < kStreamedBytes ? Status::Ok() : Flush();
          },
          {});
    }
    BACKOUT_RETURN_IF_ERROR(*written);
    piece_.append(items > 0 ? close : if_none);
    return Status::Ok();
  }

 private:
  static constexpr std::size_t kStreamedBytes = std::size_t{1} << 16;

  // Takes chunk number `chunk`'s text (and may leave `text` empty); an error stops the worker.
  using ChunkDone = std::function<Status(std::size_t chunk, std::string& text)>;
  // Worker 0 or 1's part of a list: formats the chunks whose number has its parity, handing
  // each to `done` in order; returns how many items the scan visited.
  using Worker = std::function<Result<std::size_t>(int worker, const ChunkDone& done)>;

  static bool Formats(int worker, std::size_t chunk) {
    return chunk % 2 == static_cast<std::size_t>(worker);
  }

  template <typename T, typename Item>
  static Result<std::size_t> FormatChunks(const EntrySource<T>& source, std::string_view open,
                                          const Item& item, std::string_view between,
                                          int worker, const ChunkDone& done) {
    std::string text;
    std::size_t entries = 0;  // the scan's entries so far, the one it visits the last
    BACKOUT_RETURN_IF_ERROR(source.scan(
        [&](const T& x) -> Status {
          const std::size_t at = entries - 1;
          text.append(at == 0 ? open : between);
          item(x, &text);
          return at % kChunkItems == kChunkItems - 1 ? done(at / kChunkItems, text)
                                                     : Status::Ok();
        },
        [&](std::size_t entry) {
          entries = entry + 1;
          return Formats(worker, entry / kChunkItems);
        }));
    // The last chunk, when it is not full and this worker's.
    if (const std::size_t last = entries == 0 ? 0 : (entries - 1) / kChunkItems;
        entries % kChunkItems != 0 && Formats(worker, last)) {
      BACKOUT_RETURN_IF_ERROR(done(last, text));
    }
    return entries;
  }

  // Runs `worker` 0 on this thread and 1 on a thread of its own, writing their chunks in
  // order; `*items`: how many the list had. nullopt when no thread can be started (nothing
  // is written then: the list goes on one thread).
  std::optional<Status> WriteOnTwoThreads(const Worker& worker, std::size_t* items);

  const OutputSink& out_;
  std::string piece_;
};

}  // namespace backout::report
