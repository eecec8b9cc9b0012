#include "base/record_spool.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "testing/temp_dir.h"

namespace backout {
namespace {

namespace fs = std::filesystem;

// TMPDIR set for the life of this object, then put back.
class ScopedTmpdir {
 public:
  explicit ScopedTmpdir(const fs::path& dir) {
    if (const char* old = ::getenv("TMPDIR")) old_ = old;
    ::setenv("TMPDIR", dir.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (old_) ::setenv("TMPDIR", old_->c_str(), 1);
    else ::unsetenv("TMPDIR");
  }

 private:
  std::optional<std::string> old_;
};

std::vector<std::string> ReadAll(const RecordSpool& spool) {
  std::vector<std::string> out;
  const Status read = spool.ReadRecords([&](std::string_view record) {
    out.emplace_back(record);
    return Status::Ok();
  });
  EXPECT_TRUE(read.ok()) << read.message();
  return out;
}

TEST(RecordSpool, RecordsUnderTheLimitStayInMemory) {
  testing::TempDir tmp;
  const ScopedTmpdir tmpdir(tmp.path());
  RecordSpool spool(1 << 20);
  const std::vector<std::string> records = {"first", "", std::string("\0\xff\n", 3), "last"};
  for (const std::string& r : records) ASSERT_TRUE(spool.Append(r).ok());
  EXPECT_FALSE(spool.spilled());
  EXPECT_EQ(spool.records(), records.size());
  EXPECT_EQ(ReadAll(spool), records);
  EXPECT_EQ(ReadAll(spool), records) << "a spool reads back as often as asked";
}

TEST(RecordSpool, RecordsPastTheLimitGoToAnUnnamedFileAndComeBackInOrder) {
  testing::TempDir tmp;
  const ScopedTmpdir tmpdir(tmp.path());
  std::mt19937 random(7);
  std::vector<std::string> records;
  // Small records, and records around and over the 1 MiB read buffer, so that frames and
  // their length fields straddle its boundaries at many offsets.
  for (int i = 0; i < 4000; ++i) {
    const std::size_t size = i % 500 == 499 ? (std::size_t{1} << 20) - 3 + random() % (3 << 20)
                                            : random() % 300;
    std::string record(size, '\0');
    for (char& c : record) c = static_cast<char>(random());
    records.push_back(std::move(record));
  }
  {
    RecordSpool spool(4096);
    for (const std::string& r : records) ASSERT_TRUE(spool.Append(r).ok());
    EXPECT_TRUE(spool.spilled());
    EXPECT_TRUE(fs::is_empty(tmp.path())) << "the spool's file has no name in TMPDIR";
    EXPECT_TRUE(ReadAll(spool) == records);
    EXPECT_TRUE(ReadAll(spool) == records);
  }
  EXPECT_TRUE(fs::is_empty(tmp.path()));
}

// The fallback for a file system without O_TMPFILE: a private file with no name left behind.
TEST(RecordSpool, TheFallbackFileIsPrivateAndHasNoName) {
  testing::TempDir tmp;
  Result<UniqueFd> fd = detail::CreateUnlinkedFile(tmp.path());
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  EXPECT_TRUE(fs::is_empty(tmp.path()));
  struct stat st {};
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_nlink, 0u);
  constexpr std::string_view kBytes = "written and read back";
  ASSERT_EQ(::pwrite(fd->get(), kBytes.data(), kBytes.size(), 0),
            static_cast<ssize_t>(kBytes.size()));
  std::string back(kBytes.size(), '\0');
  ASSERT_EQ(::pread(fd->get(), back.data(), back.size(), 0), static_cast<ssize_t>(back.size()));
  EXPECT_EQ(back, kBytes);
  const Result<UniqueFd> in_missing = detail::CreateUnlinkedFile(tmp.path() / "missing");
  EXPECT_EQ(in_missing.status().code(), Code::kIOError);
}

TEST(RecordSpool, AnUnusableTmpdirIsAnErrorNamingItThatStays) {
  testing::TempDir tmp;
  const fs::path missing = tmp.path() / "missing";
  const ScopedTmpdir tmpdir(missing);
  RecordSpool spool(16);
  ASSERT_TRUE(spool.Append("short").ok()) << "held in memory: no file needed yet";
  const Status spilled = spool.Append("long enough to need the file");
  ASSERT_EQ(spilled.code(), Code::kIOError);
  EXPECT_NE(spilled.message().find(missing.string()), std::string::npos) << spilled.message();
  EXPECT_EQ(spool.Append("more").code(), Code::kIOError);
  const Status read = spool.ReadRecords([](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(read.code(), Code::kIOError) << "a broken spool does not read back part of it";
  EXPECT_FALSE(fs::exists(missing));
}

TEST(RecordSpool, AVisitorsErrorStopsTheRead) {
  testing::TempDir tmp;
  const ScopedTmpdir tmpdir(tmp.path());
  RecordSpool spool(8);
  for (const char* r : {"one", "two", "three"}) ASSERT_TRUE(spool.Append(r).ok());
  int visited = 0;
  const Status read = spool.ReadRecords([&](std::string_view) {
    ++visited;
    return Status::Cancelled("enough");
  });
  EXPECT_EQ(read.code(), Code::kCancelled);
  EXPECT_EQ(visited, 1);
}

}  // namespace
}  // namespace backout
