// Finding the first byte of a class in a text, eight bytes at a time: what the writers of
// JSON, Markdown and HTML stop at to escape, a few times per field of a report that may hold
// a million events.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace backout {

// The bytes a writer stops at: any of `listed`, every control byte (below 0x20) when
// `controls`, every byte of 0x80 and above when `non_ascii`.
struct ByteClass {
  std::string_view listed;
  bool controls = false;
  bool non_ascii = false;

  // Whether `c` is in the class: the definition FindByteOf keeps, one byte at a time.
  bool Has(unsigned char c) const {
    return (controls && c < 0x20) || (non_ascii && c >= 0x80) ||
           listed.find(static_cast<char>(c)) != std::string_view::npos;
  }
};

// The place of the first byte of `text` at or after `from` that is in `kStop`, or
// text.size(). The class is a template argument (a constant the caller names) so that its
// listed bytes fold into the loop, unrolled: a writer calls this for every field it writes.
template <const ByteClass& kStop>
std::size_t FindByteOf(std::string_view text, std::size_t from) {
  // The classic bit tricks on a word of eight bytes: a byte's high bit is set in `found` if
  // the byte is in the class. A borrow can only set bits above the first such byte, so the
  // lowest set bit marks it.
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  static_assert(std::endian::native == std::endian::little, "bytes in word order");
  static constexpr auto kListed = [] {  // each listed byte in every byte of a word
    std::array<std::uint64_t, kStop.listed.size()> words{};
    for (std::size_t i = 0; i < words.size(); ++i) {
      words[i] = kOnes * static_cast<unsigned char>(kStop.listed[i]);
    }
    return words;
  }();
  const auto found_in = [](std::uint64_t word) {
    std::uint64_t found = 0;
    if constexpr (kStop.controls) found |= (word - kOnes * 0x20) & ~word & kHighs;
    if constexpr (kStop.non_ascii) found |= word & kHighs;
#pragma GCC unroll 8  // (-O2 keeps a loop over a constant array of a few)
    for (const std::uint64_t listed : kListed) {
      const std::uint64_t x = word ^ listed;  // a zero byte where the listed byte is
      found |= (x - kOnes) & ~x & kHighs;
    }
    return found;
  };
  std::size_t at = from;
  for (; at + 8 <= text.size(); at += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + at, sizeof word);
    if (const std::uint64_t found = found_in(word); found != 0) {
      return at + static_cast<std::size_t>(std::countr_zero(found)) / 8;
    }
  }
  if (at >= text.size()) return text.size();
  // The last one to seven bytes as a word too (most fields of a report are that short; a
  // memcpy of a variable size would be a call), the bytes past the end zero and their bits
  // masked off: a borrow runs from low bytes to high ones, so the padding cannot mark a byte
  // of the text.
  const std::size_t left = text.size() - at;
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < left; ++i) {
    word |= std::uint64_t{static_cast<unsigned char>(text[at + i])} << (8 * i);
  }
  const std::uint64_t found = found_in(word) & ((std::uint64_t{1} << (8 * left)) - 1);
  return found == 0 ? text.size() : at + static_cast<std::size_t>(std::countr_zero(found)) / 8;
}

}  // namespace backout
