#include "base/sha256.h"

#include <gtest/gtest.h>

#include <fstream>

#include "testing/temp_dir.h"

namespace backout {
namespace {

// FIPS 180-2 test vectors.
constexpr char kEmptyHex[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbcHex[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kMillionAHex[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), kEmptyHex);
  EXPECT_EQ(Sha256Hex("abc"), kAbcHex);
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(ToHex(Sha256("abc")), kAbcHex);
}

TEST(Sha256Test, StreamInPiecesEqualsOneShot) {
  Sha256Stream million;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) million.Update(thousand);
  EXPECT_EQ(ToHex(million.Finish()), kMillionAHex);

  // Every split point of a message longer than one 64-byte block.
  std::string message;
  for (int i = 0; i < 150; ++i) message.push_back(static_cast<char>(i * 7));
  const Digest one_shot = Sha256(message);
  for (std::size_t split = 0; split <= message.size(); ++split) {
    Sha256Stream s;
    s.Update(std::string_view(message).substr(0, split));
    s.Update(std::string_view(message).substr(split));
    EXPECT_EQ(s.Finish(), one_shot) << "split at " << split;
  }
}

class Sha256FileTest : public ::testing::Test {
 protected:
  std::filesystem::path Write(const std::string& name, const std::string& contents) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  const testing::TempDir tmp_;
  const std::filesystem::path dir_ = tmp_.path();
};

TEST_F(Sha256FileTest, HashesAndCountsTheWholeFile) {
  Result<FileDigest> abc = Sha256File(Write("abc", "abc"));
  ASSERT_TRUE(abc.ok()) << abc.status().ToString();
  EXPECT_EQ(abc->bytes, 3u);
  EXPECT_EQ(abc->sha256_hex, kAbcHex);

  Result<FileDigest> empty = Sha256File(Write("empty", ""));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->bytes, 0u);
  EXPECT_EQ(empty->sha256_hex, kEmptyHex);

  // Longer than the 1 MiB read chunk, so the file is hashed in more than one piece.
  std::string big((1 << 20) + 12345, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
  Result<FileDigest> digest = Sha256File(Write("big", big));
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(digest->bytes, big.size());
  EXPECT_EQ(digest->sha256_hex, Sha256Hex(big));
}

TEST_F(Sha256FileTest, MissingFileIsAnIOErrorNamingThePath) {
  const std::filesystem::path missing = dir_ / "missing";
  Result<FileDigest> digest = Sha256File(missing);
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.status().code(), Code::kIOError);
  EXPECT_NE(digest.status().message().find(missing.string()), std::string::npos)
      << digest.status().message();
}

}  // namespace
}  // namespace backout
