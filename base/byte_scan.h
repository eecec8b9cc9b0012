// Finding the first byte of a class in a text, eight bytes at a time: what the writers of
// JSON, Markdown and HTML stop at to escape, a few times per field of a report that may hold
// a million events.
#pragma once

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

  bool Has(unsigned char c) const {
    if ((controls && c < 0x20) || (non_ascii && c >= 0x80)) return true;
    // (Not listed.find, a call of memchr per byte for a list of a few.)
    for (const char l : listed) {
      if (static_cast<unsigned char>(l) == c) return true;
    }
    return false;
  }
};

// The place of the first byte of `text` at or after `from` that is in `stop`, or text.size().
inline std::size_t FindByteOf(std::string_view text, std::size_t from, const ByteClass& stop) {
  // The classic bit tricks on a word of eight bytes: a byte's high bit is set in `found` if
  // the byte is in the class. A borrow can only set bits above the first such byte, so the
  // lowest set bit marks it.
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighs = 0x8080808080808080;
  static_assert(std::endian::native == std::endian::little, "bytes in word order");
  const auto zero_byte = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  std::size_t at = from;
  for (; at + 8 <= text.size(); at += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + at, sizeof word);
    std::uint64_t found = 0;
    if (stop.controls) found |= (word - kOnes * 0x20) & ~word & kHighs;
    if (stop.non_ascii) found |= word & kHighs;
    for (const char c : stop.listed) found |= zero_byte(word ^ (kOnes * static_cast<unsigned char>(c)));
    if (found != 0) return at + static_cast<std::size_t>(std::countr_zero(found)) / 8;
  }
  while (at < text.size() && !stop.Has(static_cast<unsigned char>(text[at]))) ++at;
  return at;
}

}  // namespace backout
