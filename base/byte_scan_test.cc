#include "base/byte_scan.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace backout {
namespace {

// The first byte of the class, one byte at a time: the oracle.
std::size_t FindByteByByte(std::string_view text, std::size_t from, const ByteClass& stop) {
  while (from < text.size() && !stop.Has(static_cast<unsigned char>(text[from]))) ++from;
  return from;
}

constexpr ByteClass kJson{.listed = "\"\\", .controls = true, .non_ascii = true};
constexpr ByteClass kHtml{.listed = "&<>\"'", .controls = true};
constexpr ByteClass kMarkdownCell{.listed = "|\n"};
constexpr ByteClass kNonAscii{.non_ascii = true};
constexpr ByteClass kOddBytes{.listed = std::string_view("\0\x7F\xFF", 3)};

// Calls `check(stop, find)` for each class above, `find(text, from)` being FindByteOf<stop>.
template <typename Check>
void ForEachClass(Check check) {
  check(kJson, FindByteOf<kJson>);
  check(kHtml, FindByteOf<kHtml>);
  check(kMarkdownCell, FindByteOf<kMarkdownCell>);
  check(kNonAscii, FindByteOf<kNonAscii>);
  check(kOddBytes, FindByteOf<kOddBytes>);
}

using Find = std::size_t (*)(std::string_view text, std::size_t from);

TEST(FindByteOf, FindsWhatAByteByByteSearchFindsForEveryClassAndPlace) {
  std::mt19937 rng(29);
  // Mostly plain letters, with a rare byte of any value, so that runs cross the eight-byte
  // steps at every offset.
  std::uniform_int_distribution<int> letter('a', 'z'), any(0, 255), rare(0, 19), length(0, 40);
  for (int i = 0; i < 50'000; ++i) {
    std::string text(static_cast<std::size_t>(length(rng)), ' ');
    for (char& c : text) c = static_cast<char>(rare(rng) == 0 ? any(rng) : letter(rng));
    const std::size_t from = text.empty() ? 0 : static_cast<std::size_t>(rng() % (text.size() + 1));
    ForEachClass([&](const ByteClass& stop, Find find) {
      ASSERT_EQ(find(text, from), FindByteByByte(text, from, stop)) << i;
    });
  }
}

// Every length up to two words and a part: the last bytes are read as a word whose bytes past
// the end are zero, which a class holding controls (or NUL itself) must not find.
TEST(FindByteOf, EachByteOfAClassIsFoundAtEveryPlaceOfAWord) {
  ForEachClass([](const ByteClass& stop, Find find) {
    for (std::size_t size = 1; size <= 17; ++size) {
      ASSERT_EQ(find(std::string(size, 'x'), 0), size) << "none in " << size;
      for (int c = 0; c < 256; ++c) {
        for (std::size_t at = 0; at < size; ++at) {
          std::string text(size, 'x');
          text[at] = static_cast<char>(c);
          const std::size_t expected = stop.Has(static_cast<unsigned char>(c)) ? at : size;
          ASSERT_EQ(find(text, 0), expected) << c << " at " << at << " of " << size;
        }
      }
    }
  });
}

}  // namespace
}  // namespace backout
