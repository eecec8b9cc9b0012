#include "base/write_behind.h"

#include <fcntl.h>
#include <signal.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "base/file_util.h"
#include "testing/temp_dir.h"

namespace backout {
namespace {

// Pieces of every size from 0 to 97 bytes, each byte telling its place, so that a piece lost,
// doubled or written out of order shows in the file.
std::string Pieces(WriteBehind& out, int count) {
  std::string expected;
  for (int i = 0; i < count; ++i) {
    std::string piece(static_cast<std::size_t>(i % 98), static_cast<char>('a' + i % 26));
    expected += piece;
    EXPECT_TRUE(out.Write(piece).ok());
  }
  return expected;
}

TEST(WriteBehind, EveryByteReachesTheFileInOrder) {
  testing::TempDir dir;
  const auto path = dir.path() / "out";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  ASSERT_TRUE(fd.valid());
  std::string expected;
  {
    // Chunks far smaller than the output, so that the thread writes while pieces come.
    WriteBehind out(fd.get(), path.string(), /*chunk_bytes=*/64);
    expected = Pieces(out, 5000);
    ASSERT_TRUE(out.Flush().ok());
    // More after a flush goes on from where it ended.
    expected += Pieces(out, 300);
    ASSERT_TRUE(out.Flush().ok());
  }
  Result<std::string> written = ReadFileToString(path);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, expected);
}

TEST(WriteBehind, APipeGetsTheBytesWhileTheyAreMade) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  std::string received;
  std::thread reader([&] {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(read_end.get(), buf, sizeof buf)) > 0) received.append(buf, static_cast<std::size_t>(n));
  });
  std::string expected;
  {
    // A pipe holds 64 KiB: the output (about 240 KB) only gets through while it is read.
    WriteBehind out(write_end.get(), "pipe", /*chunk_bytes=*/1000);
    expected = Pieces(out, 5000);
    ASSERT_TRUE(out.Flush().ok());
  }
  write_end.Reset();
  reader.join();
  EXPECT_EQ(received, expected);
}

TEST(WriteBehind, AFailedWriteIsReportedAndNothingIsWrittenAfterIt) {
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  UniqueFd read_end(ends[0]), write_end(ends[1]);
  read_end.Reset();  // no reader: every write fails with EPIPE (SIGPIPE ignored below)
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &previous), 0);
  WriteBehind out(write_end.get(), "stdout", /*chunk_bytes=*/16);
  Status first;
  for (int i = 0; i < 1000 && first.ok(); ++i) first = out.Write("sixteen bytes...");
  Status flushed = out.Flush();
  ::sigaction(SIGPIPE, &previous, nullptr);
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(first.code(), Code::kIOError);
  EXPECT_NE(first.message().find("stdout: write: Broken pipe"), std::string::npos)
      << first.message();
  // The same error again, from then on.
  EXPECT_EQ(flushed.message(), first.message());
  EXPECT_EQ(out.Write("more").message(), first.message());
}

TEST(WriteBehind, NothingWrittenMeansAnEmptyFile) {
  testing::TempDir dir;
  const auto path = dir.path() / "out";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  ASSERT_TRUE(fd.valid());
  {
    WriteBehind out(fd.get(), path.string());
    EXPECT_TRUE(out.Flush().ok());
  }
  Result<std::string> written = ReadFileToString(path);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, "");
}

}  // namespace
}  // namespace backout
