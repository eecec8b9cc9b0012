#include "base/file_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace backout {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

TEST(RenameDurably, PutsTheFileInPlaceOfWhatWasThere) {
  testing::TempDir dir;
  Write(dir.path() / "new", "new");
  Write(dir.path() / "target", "old");
  ASSERT_TRUE(RenameDurably(dir.path() / "new", dir.path() / "target").ok());
  EXPECT_EQ(*ReadFileToString(dir.path() / "target"), "new");
  EXPECT_FALSE(fs::exists(dir.path() / "new"));
}

TEST(RenameDurably, ReplacesASymlinkAtTheTargetWithoutFollowingIt) {
  testing::TempDir dir;
  Write(dir.path() / "elsewhere", "not to be touched");
  fs::create_symlink(dir.path() / "elsewhere", dir.path() / "target");
  Write(dir.path() / "new", "new");
  ASSERT_TRUE(RenameDurably(dir.path() / "new", dir.path() / "target").ok());
  EXPECT_FALSE(fs::is_symlink(dir.path() / "target"));
  EXPECT_EQ(*ReadFileToString(dir.path() / "target"), "new");
  EXPECT_EQ(*ReadFileToString(dir.path() / "elsewhere"), "not to be touched");
}

TEST(RenameDurably, AMissingSourceChangesNothingAndSaysWhere) {
  testing::TempDir dir;
  Write(dir.path() / "target", "old");
  const Status status = RenameDurably(dir.path() / "missing", dir.path() / "target");
  EXPECT_EQ(status.code(), Code::kIOError);
  EXPECT_EQ(status.message(), (dir.path() / "target").string() +
                                  ": rename into place: No such file or directory");
  EXPECT_EQ(*ReadFileToString(dir.path() / "target"), "old");
}

}  // namespace
}  // namespace backout
