#include "adapters/common/program.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace backout::adapters::common {
namespace {

namespace fs = std::filesystem;

void MakeFile(const fs::path& path, fs::perms perms) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << "#!/bin/sh\n";
  fs::permissions(path, perms);
}

TEST(SearchProgramTest, FirstExecutableFileInThePathWins) {
  const testing::TempDir tmp;
  MakeFile(tmp.path() / "a" / "tool", fs::perms::owner_read);  // not executable: skipped
  MakeFile(tmp.path() / "b" / "tool", fs::perms::owner_all);
  MakeFile(tmp.path() / "c" / "tool", fs::perms::owner_all);
  fs::create_directories(tmp.path() / "d" / "tool");  // a directory: skipped
  const std::string search = (tmp.path() / "d").string() + ":" + (tmp.path() / "a").string() +
                             ":" + (tmp.path() / "b").string() + ":" + (tmp.path() / "c").string();
  Result<fs::path> found = SearchProgram("run tool", "tool", search, {});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, tmp.path() / "b" / "tool");
}

TEST(SearchProgramTest, RelativeAndEmptyEntriesAreRelativeToTheWorkingDirectory) {
  const testing::TempDir tmp;
  MakeFile(tmp.path() / "bin" / "tool", fs::perms::owner_all);
  MakeFile(tmp.path() / "here", fs::perms::owner_all);
  Result<fs::path> in_bin = SearchProgram("run tool", "tool", "/nonexistent:bin", tmp.path());
  ASSERT_TRUE(in_bin.ok()) << in_bin.status().ToString();
  EXPECT_EQ(*in_bin, tmp.path() / "bin" / "tool");
  Result<fs::path> in_cwd = SearchProgram("run here", "here", "/nonexistent:", tmp.path());
  ASSERT_TRUE(in_cwd.ok()) << in_cwd.status().ToString();
  EXPECT_EQ(*in_cwd, tmp.path() / "here");
}

TEST(SearchProgramTest, MissingAndNotExecutableAreTheErrnosExecvpGives) {
  const testing::TempDir tmp;
  MakeFile(tmp.path() / "tool", fs::perms::owner_read);
  Result<fs::path> missing = SearchProgram("cannot run 'nope'", "nope", tmp.path().string(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot run 'nope': No such file or directory");
  Result<fs::path> denied = SearchProgram("cannot run 'tool'", "tool", tmp.path().string(), {});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), Code::kIOError);
  EXPECT_EQ(denied.status().message(), "cannot run 'tool': Permission denied");
}

}  // namespace
}  // namespace backout::adapters::common
