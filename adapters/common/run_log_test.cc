// The run log (run_log.h) on real files: frames written and read back, sections by name,
// hostile payloads, truncated and damaged files, a disk that fills up, threads.
#include "adapters/common/run_log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "testing/run_log.h"
#include "testing/temp_dir.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void WriteBytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

class RunLogTest : public ::testing::Test {
 protected:
  const testing::TempDir tmp_;
  const fs::path path_ = tmp_.path() / "run.log";
};

TEST_F(RunLogTest, SectionsAreTheirFramesInOrderAndDigestsMatch) {
  RunLog run_log(path_);
  AttemptLog first(run_log, "stop-app.1.log");
  AttemptLog silent(run_log, "noop.1.log");
  ASSERT_TRUE(first.Append("one\n").ok());
  ASSERT_TRUE(silent.Begin().ok());
  ASSERT_TRUE(first.Append("two").ok());
  const FileDigest digest = first.Finish();
  EXPECT_EQ(digest.bytes, 7u);
  EXPECT_EQ(digest.sha256_hex, Sha256Hex("one\ntwo"));
  EXPECT_EQ(silent.Finish().sha256_hex, Sha256Hex(""));

  // The exact bytes: the format is documented, so it is asserted.
  EXPECT_EQ(ReadBytes(path_),
            "=== backout log v1 stop-app.1.log 0 ===\n\n"
            "=== backout log v1 stop-app.1.log 4 ===\none\n\n"
            "=== backout log v1 noop.1.log 0 ===\n\n"
            "=== backout log v1 stop-app.1.log 3 ===\ntwo\n");
  Result<RunLogContents> contents = ReadRunLog(path_);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  ASSERT_EQ(contents->sections.size(), 2u);
  EXPECT_EQ(contents->sections[0].name, "stop-app.1.log");
  EXPECT_EQ(contents->sections[0].content, "one\ntwo");
  EXPECT_EQ(contents->sections[1].name, "noop.1.log");
  EXPECT_EQ(contents->sections[1].content, "");
  EXPECT_FALSE(contents->truncated_tail);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RunLogTest, NoFileUntilTheFirstFrame) {
  RunLog run_log(path_);
  AttemptLog log(run_log, "a.1.log");
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_FALSE(log.begun());
  EXPECT_EQ(ReadRunLog(path_).status().code(), Code::kNotFound);
}

TEST_F(RunLogTest, OutputLookingLikeHeadersIsPayload) {
  // Fake headers claiming other sections, other lengths, a version from the future, and a
  // payload with no newline at its end: lengths delimit frames, never markers.
  const std::string hostile =
      "=== backout log v1 victim.1.log 5 ===\nforged\n"
      "=== backout log v1 hostile.1.log 999999 ===\n"
      "=== backout log v2 x.1.log 0 ===\n\n\n\0\xff=== backout log v1 "s;
  {
    RunLog run_log(path_);
    AttemptLog log(run_log, "hostile.1.log");
    ASSERT_TRUE(log.Append(hostile).ok());
    ASSERT_TRUE(log.Append(hostile).ok());
    AttemptLog after(run_log, "after.1.log");
    ASSERT_TRUE(after.Append("intact").ok());
  }
  Result<RunLogContents> contents = ReadRunLog(path_);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  ASSERT_EQ(contents->sections.size(), 2u);
  EXPECT_EQ(contents->sections[0].content, hostile + hostile);
  EXPECT_EQ(contents->sections[1].content, "intact");
  EXPECT_FALSE(contents->truncated_tail);
  // A new session reads the file the same way before appending.
  RunLog again(path_);
  ASSERT_TRUE(again.Append("next.1.log", "x").ok());
  EXPECT_EQ(again.TakeRepairNotice(), "");
  EXPECT_EQ(testing::ReadAttemptLog(tmp_.path(), "hostile.1.log"), hostile + hostile);
  EXPECT_EQ(testing::ReadAttemptLog(tmp_.path(), "next.1.log"), "x");
}

TEST_F(RunLogTest, ATruncatedLastFrameIsReportedAndCutByTheNextWriter) {
  const std::string whole =
      EncodeRunLogFrame("a.1.log", "kept\n") + EncodeRunLogFrame("b.1.log", "");
  const std::string last = EncodeRunLogFrame("c.1.log", "lost in the crash");
  // Cut the last frame at every byte: inside its header, its payload, before its trailer.
  for (std::size_t cut = 1; cut < last.size(); ++cut) {
    SCOPED_TRACE(cut);
    WriteBytes(path_, whole + last.substr(0, cut));
    Result<RunLogContents> contents = ReadRunLog(path_);
    ASSERT_TRUE(contents.ok()) << contents.status().ToString();
    ASSERT_EQ(contents->sections.size(), 2u);
    EXPECT_EQ(contents->sections[0].content, "kept\n");
    ASSERT_TRUE(contents->truncated_tail);
    EXPECT_EQ(contents->truncated_tail->offset, whole.size());
    EXPECT_EQ(contents->truncated_tail->bytes, cut);

    RunLog run_log(path_);
    ASSERT_TRUE(run_log.Append("d.1.log", "after").ok());
    EXPECT_NE(run_log.TakeRepairNotice().find(
                  fmt::format("{} bytes from offset {} removed", cut, whole.size())),
              std::string::npos);
    EXPECT_EQ(ReadBytes(path_), whole + EncodeRunLogFrame("d.1.log", "after"));
    EXPECT_EQ(ReadBytes(tmp_.path() / fmt::format("run.log.cut-{}", whole.size())),
              last.substr(0, cut));
  }
}

TEST_F(RunLogTest, ATailOfNulBytesIsTruncatedToo) {
  // A power cut can leave a file extended but not written.
  const std::string whole = EncodeRunLogFrame("a.1.log", "kept");
  WriteBytes(path_, whole + std::string(3000, '\0'));
  Result<RunLogContents> contents = ReadRunLog(path_);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  ASSERT_TRUE(contents->truncated_tail);
  EXPECT_EQ(contents->truncated_tail->offset, whole.size());
}

TEST_F(RunLogTest, DamageBeforeTheEndIsCorruptionNamingTheOffset) {
  const std::string first = EncodeRunLogFrame("a.1.log", "kept");
  const std::string second = EncodeRunLogFrame("b.1.log", "payload");
  const std::string third = EncodeRunLogFrame("c.1.log", "later");
  struct Damage {
    std::string bytes;
    std::string expected;
  };
  std::string wrong_length = second;
  wrong_length.replace(wrong_length.find(" 7 "), 3, " 6 ");
  std::string bad_name = second;
  bad_name.replace(bad_name.find("b.1.log"), 7, "b.1.txt");
  for (const Damage& d : {
           Damage{"garbage that is no header\n", "expected a frame header starting"},
           Damage{wrong_length, "expected a newline after the 6 payload bytes of b.1.log"},
           Damage{bad_name, "'b.1.txt' is not a log name"},
           Damage{"=== backout log v9 b.1.log 0 ===\n\n", "unsupported run log version '9'"},
           Damage{"=== backout log v1 b.1.log 007 ===\n", "expected a byte count"},
           Damage{std::string(600, 'x'), "expected a header line of at most"},
       }) {
    SCOPED_TRACE(d.expected);
    WriteBytes(path_, first + d.bytes + third);
    Result<RunLogContents> contents = ReadRunLog(path_);
    ASSERT_EQ(contents.status().code(), Code::kCorruption);
    EXPECT_NE(contents.status().message().find(fmt::format("frame at offset {}", first.size())),
              std::string::npos)
        << contents.status().message();
    EXPECT_NE(contents.status().message().find(d.expected), std::string::npos)
        << contents.status().message();
  }
}

TEST_F(RunLogTest, AWriterMovesADamagedFileAsideWhole) {
  const std::string damaged = EncodeRunLogFrame("a.1.log", "kept") + "garbage\n" +
                              EncodeRunLogFrame("c.1.log", "later");
  WriteBytes(path_, damaged);
  RunLog run_log(path_);
  ASSERT_TRUE(run_log.Append("d.1.log", "new").ok());
  const fs::path aside = tmp_.path() / fmt::format("run.log.damaged-{}", damaged.size());
  EXPECT_EQ(ReadBytes(aside), damaged);
  EXPECT_NE(run_log.TakeRepairNotice().find("moved to " + aside.string()), std::string::npos);
  EXPECT_EQ(ReadBytes(path_), EncodeRunLogFrame("d.1.log", "new"));
}

TEST_F(RunLogTest, AFullDiskLeavesNoPartialFrame) {
  RunLog run_log(path_);
  AttemptLog log(run_log, "big.1.log");
  ASSERT_TRUE(log.Append("before\n").ok());
  const std::uintmax_t size = fs::file_size(path_);
  // A file size limit is a disk that is full past it: the write stops short, then fails.
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ignore, &old), 0);
  rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit limited = saved;
  limited.rlim_cur = size + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  const Status failed = log.Append(std::string(1000, 'x'));
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ASSERT_EQ(::sigaction(SIGXFSZ, &old, nullptr), 0);

  EXPECT_EQ(failed.code(), Code::kIOError);
  EXPECT_NE(failed.message().find("cannot write run log " + path_.string()), std::string::npos)
      << failed.message();
  EXPECT_EQ(fs::file_size(path_), size);
  // The section ends at the failure; other attempts go on.
  EXPECT_EQ(log.Append("more").code(), Code::kIOError);
  const FileDigest digest = log.Finish();
  EXPECT_EQ(digest.sha256_hex, Sha256Hex("before\n"));
  AttemptLog next(run_log, "next.1.log");
  ASSERT_TRUE(next.Append("fine").ok());
  EXPECT_EQ(testing::ReadAttemptLog(tmp_.path(), "big.1.log"), "before\n");
  EXPECT_EQ(testing::ReadAttemptLog(tmp_.path(), "next.1.log"), "fine");
}

TEST_F(RunLogTest, ThreadsInterleaveWholeFramesOnly) {
  RunLog run_log(path_);
  constexpr int kThreads = 6;
  constexpr int kChunks = 40;
  std::vector<FileDigest> digests(kThreads);
  std::vector<std::string> written(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      AttemptLog log(run_log, fmt::format("step-{}.1.log", t));
      for (int c = 0; c < kChunks; ++c) {
        // Large and of varying size, each chunk's bytes naming its thread.
        const std::string chunk(1000 + 997 * static_cast<std::size_t>(c), static_cast<char>('a' + t));
        ASSERT_TRUE(log.Append(chunk).ok());
        written[static_cast<std::size_t>(t)] += chunk;
      }
      digests[static_cast<std::size_t>(t)] = log.Finish();
    });
  }
  for (std::thread& t : threads) t.join();
  Result<RunLogContents> contents = ReadRunLog(path_);
  ASSERT_TRUE(contents.ok()) << contents.status().ToString();
  EXPECT_FALSE(contents->truncated_tail);
  ASSERT_EQ(contents->sections.size(), static_cast<std::size_t>(kThreads));
  for (const RunLogSection& section : contents->sections) {
    const int t = section.name[5] - '0';
    EXPECT_EQ(section.content, written[static_cast<std::size_t>(t)]) << section.name;
    EXPECT_EQ(Sha256Hex(section.content), digests[static_cast<std::size_t>(t)].sha256_hex);
  }
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp_.path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace backout::adapters
