// PieceWriter::Stream on one thread and on two: the same bytes, every item formatted once,
// and an error of the scan or of the output returned without a hang.
#include "report/piece_writer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "report/document.h"

namespace backout::report {
namespace {

// A list of the numbers 0 .. entries-1, counting its scans, the threads they ran on and the
// entries made (visited); `fails_at`: the entry whose visit the scan fails instead of making.
struct Numbers {
  std::size_t entries = 0;
  bool concurrent = true;
  std::optional<std::size_t> fails_at;
  std::atomic<std::size_t> scans{0};
  std::atomic<std::size_t> made{0};
  std::mutex mu;
  std::set<std::thread::id> threads;

  EntrySource<std::size_t> Source() {
    return EntrySource<std::size_t>{
        .entries = entries,
        .scan =
            [this](const EntrySource<std::size_t>::Visitor& visit, const EntryWanted& wanted) {
              ++scans;
              {
                const std::lock_guard lock(mu);
                threads.insert(std::this_thread::get_id());
              }
              std::size_t next = 0;
              for (std::size_t n = 0; n < entries; ++n) {
                if (n == fails_at) return Status::Corruption(fmt::format("entry {}: damaged", n));
                if (!Wanted(wanted, &next)) continue;
                ++made;
                BACKOUT_RETURN_IF_ERROR(visit(n));
              }
              return Status::Ok();
            },
        .concurrent_scans = concurrent};
  }
};

void AppendNumber(const std::size_t& n, std::string* out) { out->append(std::to_string(n)); }

// What Stream writes of `entries` numbers, as one string, and the status it returned.
struct Written {
  Status status;
  std::string text;
  std::size_t writes = 0;
};

Written Write(Numbers& numbers, const OutputSink* sink = nullptr) {
  Written w;
  const OutputSink collect = [&w](std::string_view bytes) {
    ++w.writes;
    w.text.append(bytes);
    return Status::Ok();
  };
  PieceWriter writer(sink != nullptr ? *sink : collect);
  writer.piece() = "head:";
  w.status = writer.Stream(numbers.Source(), "[", AppendNumber, ",", "]", "none");
  if (w.status.ok()) w.status = writer.Flush();
  return w;
}

std::string Expected(std::size_t entries) {
  if (entries == 0) return "head:none";
  std::string out = "head:[";
  for (std::size_t n = 0; n < entries; ++n) out += (n == 0 ? "" : ",") + std::to_string(n);
  return out + "]";
}

constexpr std::size_t kChunk = PieceWriter::kChunkItems;
constexpr std::size_t kTwoThreads = PieceWriter::kTwoThreadsFrom;

TEST(PieceWriterStream, TwoThreadsWriteTheBytesOfOneAtEveryChunkBoundary) {
  for (const std::size_t entries :
       {std::size_t{0}, std::size_t{1}, kChunk, kTwoThreads - 1, kTwoThreads, kTwoThreads + 1,
        kTwoThreads + kChunk - 1, kTwoThreads + kChunk, kTwoThreads + kChunk + 1,
        9 * kChunk + 7, 40 * kChunk + 3}) {
    for (const bool concurrent : {false, true}) {
      Numbers numbers{.entries = entries, .concurrent = concurrent};
      const Written w = Write(numbers);
      ASSERT_TRUE(w.status.ok()) << w.status.ToString();
      EXPECT_EQ(w.text, Expected(entries)) << entries << (concurrent ? " on two threads" : "");
      const bool two = concurrent && entries >= kTwoThreads;
      // Two scans on two threads, each making only its own chunks: every entry made once.
      EXPECT_EQ(numbers.scans, two ? 2u : 1u) << entries;
      EXPECT_EQ(numbers.threads.size(), two ? 2u : 1u) << entries;
      EXPECT_EQ(numbers.made, entries) << entries;
    }
  }
}

TEST(PieceWriterStream, OnTwoThreadsEachChunkIsOneWriteInOrder) {
  Numbers numbers{.entries = 10 * kChunk};
  const Written w = Write(numbers);
  ASSERT_TRUE(w.status.ok());
  EXPECT_EQ(w.text, Expected(10 * kChunk));
  EXPECT_EQ(w.writes, 1 + 10 + 1u);  // the head before the list, a chunk each, the close
}

TEST(PieceWriterStream, AScanErrorOnTwoThreadsIsReturnedAndTheListNotClosed) {
  for (const std::size_t fails_at : {std::size_t{0}, kChunk - 1, kChunk, 5 * kChunk + 3}) {
    Numbers numbers{.entries = 10 * kChunk, .fails_at = fails_at};
    const Written w = Write(numbers);
    EXPECT_EQ(w.status.code(), Code::kCorruption) << fails_at;
    EXPECT_EQ(w.status.message(), fmt::format("entry {}: damaged", fails_at));
    EXPECT_EQ(w.text.find(']'), std::string::npos) << "closed after a failed scan";
    // Nothing past the damage is written.
    EXPECT_LE(w.text.size(), Expected(fails_at).size()) << fails_at;
  }
}

TEST(PieceWriterStream, AnOutputErrorStopsBothThreads) {
  for (const std::size_t fail_on_write : {1u, 2u, 3u, 6u}) {
    Numbers numbers{.entries = 200 * kChunk};
    std::size_t writes = 0;
    const OutputSink sink = [&](std::string_view) {
      return ++writes == fail_on_write ? Status::IOError("stdout: write: No space left on device")
                                       : Status::Ok();
    };
    const Written w = Write(numbers, &sink);
    EXPECT_EQ(w.status.code(), Code::kIOError) << fail_on_write;
    EXPECT_EQ(writes, fail_on_write) << "no write after the failed one";
    // The second thread stopped within the chunks it may run ahead, not at the end of the list.
    EXPECT_LT(numbers.made, (fail_on_write + 2 * PieceWriter::kChunksAhead + 4) * kChunk);
  }
}

TEST(PieceWriterStream, AListReadDifferentlyTheSecondTimeIsAnError) {
  // Each scan of this list is one chunk shorter than the one before it.
  std::atomic<std::size_t> scans = 0;
  const EntrySource<std::size_t> shrinking{
      .entries = 10 * kChunk,
      .scan =
          [&scans](const EntrySource<std::size_t>::Visitor& visit, const EntryWanted& wanted) {
            const std::size_t entries = (10 - scans++) * kChunk;
            std::size_t next = 0;
            for (std::size_t n = 0; n < entries; ++n) {
              if (Wanted(wanted, &next)) BACKOUT_RETURN_IF_ERROR(visit(n));
            }
            return Status::Ok();
          },
      .concurrent_scans = true};
  const OutputSink sink = [](std::string_view) { return Status::Ok(); };
  PieceWriter writer(sink);
  const Status s = writer.Stream(shrinking, "[", AppendNumber, ",", "]", "none");
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("read differently"), std::string::npos) << s.ToString();
}

// A post-mortem section's facts with a long streamed list amid them (FactsOf): the facts
// after the streamed ones are numbered after them, on one thread or two.
TEST(PieceWriterStream, FactsAmidAStreamedListKeepTheirPlaceOnTwoThreads) {
  std::vector<std::string> crashes;
  for (std::size_t n = 0; n < kTwoThreads + kChunk + 5; ++n) {
    crashes.push_back(fmt::format("c{}", n));
  }
  const std::vector<std::string> facts = {"a", "b", "c"};
  for (const std::size_t streamed_at : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    std::vector<std::string> in_order(facts.begin(), facts.begin() + streamed_at);
    in_order.insert(in_order.end(), crashes.begin(), crashes.end());
    in_order.insert(in_order.end(), facts.begin() + streamed_at, facts.end());
    const std::string expected = fmt::format("{}", fmt::join(in_order, " "));
    for (const bool concurrent : {false, true}) {
      PostMortemSection s{.facts = facts, .streamed_at = streamed_at};
      s.streamed_facts = EntrySource<std::string>{
          .entries = crashes.size(),
          .scan =
              [&crashes](const FactVisitor& visit, const EntryWanted& wanted) {
                std::size_t next = 0;
                for (const std::string& c : crashes) {
                  if (Wanted(wanted, &next)) BACKOUT_RETURN_IF_ERROR(visit(c));
                }
                return Status::Ok();
              },
          .concurrent_scans = concurrent};
      std::string text;
      const OutputSink sink = [&text](std::string_view b) {
        text.append(b);
        return Status::Ok();
      };
      PieceWriter writer(sink);
      const auto append = [](const std::string& f, std::string* out) { out->append(f); };
      ASSERT_TRUE(writer.Stream(FactsOf(s), "", append, " ", "", "").ok());
      ASSERT_TRUE(writer.Flush().ok());
      EXPECT_TRUE(text == expected) << streamed_at << (concurrent ? " on two threads" : "");
    }
  }
}

}  // namespace
}  // namespace backout::report
