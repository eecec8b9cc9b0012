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

TEST(FindByteOf, FindsWhatAByteByByteSearchFindsForEveryClassAndPlace) {
  const ByteClass classes[] = {
      {.listed = "\"\\", .controls = true, .non_ascii = true},  // JSON
      {.listed = "&<>\"'", .controls = true},                    // HTML
      {.listed = "|\n"},                                         // Markdown cells
      {.non_ascii = true},                                       // UTF-8 checks
      {.listed = std::string_view("\0\x7F\xFF", 3)},
  };
  std::mt19937 rng(29);
  // Mostly plain letters, with a rare byte of any value, so that runs cross the eight-byte
  // steps at every offset.
  std::uniform_int_distribution<int> letter('a', 'z'), any(0, 255), rare(0, 19), length(0, 40);
  for (int i = 0; i < 50'000; ++i) {
    std::string text(static_cast<std::size_t>(length(rng)), ' ');
    for (char& c : text) c = static_cast<char>(rare(rng) == 0 ? any(rng) : letter(rng));
    const std::size_t from = text.empty() ? 0 : static_cast<std::size_t>(rng() % (text.size() + 1));
    for (const ByteClass& stop : classes) {
      ASSERT_EQ(FindByteOf(text, from, stop), FindByteByByte(text, from, stop)) << i;
    }
  }
}

TEST(FindByteOf, EachByteOfAClassIsFoundAtEveryPlaceOfAWord) {
  const ByteClass html{.listed = "&<>\"'", .controls = true};
  for (int c = 0; c < 256; ++c) {
    for (std::size_t at = 0; at < 17; ++at) {
      std::string text(17, 'x');
      text[at] = static_cast<char>(c);
      const std::size_t expected = html.Has(static_cast<unsigned char>(c)) ? at : text.size();
      ASSERT_EQ(FindByteOf(text, 0, html), expected) << c << " at " << at;
    }
  }
}

}  // namespace
}  // namespace backout
