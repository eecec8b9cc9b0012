#include "base/secret_env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace backout {
namespace {

namespace fs = std::filesystem;

TEST(TakeFromEnvironment, ReturnsTheValueUnsetsItAndWipesTheEntryInPlace) {
  // putenv() puts this very buffer into environ, as exec puts the original block: the
  // stand-in for the bytes /proc/PID/environ shows.
  static char entry[] = "BACKOUT_TEST_TAKEN=s3cr3t-value";
  ASSERT_EQ(::putenv(entry), 0);
  ASSERT_NE(std::getenv("BACKOUT_TEST_TAKEN"), nullptr);

  EXPECT_EQ(TakeFromEnvironment("BACKOUT_TEST_TAKEN"), "s3cr3t-value");
  EXPECT_EQ(std::getenv("BACKOUT_TEST_TAKEN"), nullptr);
  EXPECT_TRUE(std::all_of(std::begin(entry), std::end(entry), [](char c) { return c == 0; }))
      << "the entry's bytes still hold: " << entry;
}

TEST(TakeFromEnvironment, LeavesOtherVariablesAndPrefixesAlone) {
  static char longer[] = "BACKOUT_TEST_TAKEN_FILE=/x";
  ASSERT_EQ(::putenv(longer), 0);
  EXPECT_EQ(TakeFromEnvironment("BACKOUT_TEST_TAKEN"), std::nullopt);
  EXPECT_STREQ(std::getenv("BACKOUT_TEST_TAKEN_FILE"), "/x");
  ::unsetenv("BACKOUT_TEST_TAKEN_FILE");
}

class SecretFile : public ::testing::Test {
 protected:
  fs::path Write(const std::string& contents, mode_t mode) {
    const fs::path path = dir_ / "key";
    std::ofstream(path, std::ios::binary) << contents;
    ::chmod(path.c_str(), mode);
    return path;
  }
  const testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
};

TEST_F(SecretFile, OwnerOnlyFileIsReadWithoutItsTrailingNewline) {
  Result<std::string> key = ReadSecretFile(Write("k3y-material\n", 0600));
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, "k3y-material");
  key = ReadSecretFile(Write("k3y-material", 0400));
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ(*key, "k3y-material");
}

TEST_F(SecretFile, GroupOrWorldAccessibleFileIsRefused) {
  for (mode_t mode : {0640, 0604, 0644, 0620, 0602}) {
    Result<std::string> key = ReadSecretFile(Write("k3y", mode));
    ASSERT_FALSE(key.ok()) << std::oct << mode;
    EXPECT_EQ(key.status().code(), Code::kFailedPrecondition);
    EXPECT_NE(key.status().message().find("too open"), std::string::npos)
        << key.status().message();
  }
}

TEST_F(SecretFile, EmptyMissingAndNonRegularAreRefused) {
  EXPECT_EQ(ReadSecretFile(Write("\n", 0600)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ReadSecretFile(dir_ / "nope").status().code(), Code::kNotFound);
  ::chmod(dir_.c_str(), 0700);
  EXPECT_EQ(ReadSecretFile(dir_).status().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace backout
