#include "base/utf8.h"

#include "base/byte_scan.h"

#include <cstdint>

namespace backout {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr char kHex[] = "0123456789ABCDEF";

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0 if there is none.
std::size_t SequenceLength(std::string_view s) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(s[i]); };
  const auto in = [&](std::size_t i, std::uint8_t lo, std::uint8_t hi) {
    return i < s.size() && byte(i) >= lo && byte(i) <= hi;
  };
  const std::uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return in(1, 0x80, 0xBF) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    // E0 excludes overlong forms, ED excludes the surrogates D800..DFFF.
    const std::uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const std::uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    // F0 excludes overlong forms, F4 everything above U+10FFFF.
    const std::uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
    const std::uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
    return in(1, lo, hi) && in(2, 0x80, 0xBF) && in(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendMarked(std::string& out, char byte) {
  const auto b = static_cast<std::uint8_t>(byte);
  out.append(kReplacement);
  out.push_back(kHex[b >> 4]);
  out.push_back(kHex[b & 0xF]);
}

// True when MarkInvalidUtf8 would change `text`.
bool NeedsMarking(std::string_view text) {
  return !IsValidUtf8(text) || text.find(kReplacement) != std::string_view::npos;
}

// What a JSON string cannot hold as it is, and what is to be checked as UTF-8.
constexpr ByteClass kJsonSpecial{.listed = "\"\\", .controls = true, .non_ascii = true};
constexpr ByteClass kNonAscii{.non_ascii = true};

}  // namespace

std::size_t FindInvalidUtf8(std::string_view text) {
  // Runs of ASCII are the common case, skipped eight bytes at a time.
  std::size_t i = 0;
  while ((i = FindByteOf<kNonAscii>(text, i)) < text.size()) {
    const std::size_t n = SequenceLength(text.substr(i));
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string MarkInvalidUtf8(std::string_view bytes) {
  if (!NeedsMarking(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 16);
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::size_t n = SequenceLength(bytes.substr(i));
    if (n == 0) {
      AppendMarked(out, bytes[i]);
      ++i;
    } else if (bytes.substr(i, n) == kReplacement) {
      for (char c : kReplacement) AppendMarked(out, c);
      i += n;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string UnmarkInvalidUtf8(std::string_view text) {
  std::size_t at = text.find(kReplacement);
  if (at == std::string_view::npos) return std::string(text);
  std::string out;
  out.reserve(text.size());
  std::size_t from = 0;
  while (at != std::string_view::npos) {
    const std::size_t hex = at + kReplacement.size();
    out.append(text.substr(from, hex - from));
    from = hex;
    if (hex + 2 <= text.size()) {
      const int hi = HexValue(text[hex]);
      const int lo = HexValue(text[hex + 1]);
      if (hi >= 0 && lo >= 0) {
        out.resize(out.size() - kReplacement.size());
        out.push_back(static_cast<char>(hi * 16 + lo));
        from = hex + 2;
      }
    }
    at = text.find(kReplacement, from);
  }
  out.append(text.substr(from));
  return out;
}

namespace {
// `only_invalid`: leave valid strings alone, even with U+FFFD in them (already marked text).
bool MarkStrings(nlohmann::json& value, bool only_invalid) {
  const auto needs = [only_invalid](std::string_view s) {
    return only_invalid ? !IsValidUtf8(s) : NeedsMarking(s);
  };
  if (value.is_string()) {
    std::string& s = value.get_ref<std::string&>();
    if (!needs(s)) return false;
    s = MarkInvalidUtf8(s);
    return true;
  }
  if (value.is_array()) {
    bool changed = false;
    for (nlohmann::json& item : value) changed = MarkStrings(item, only_invalid) || changed;
    return changed;
  }
  if (!value.is_object()) return false;
  bool changed = false;
  bool keys_changed = false;
  for (auto it = value.begin(); it != value.end(); ++it) {
    changed = MarkStrings(it.value(), only_invalid) || changed;
    keys_changed = keys_changed || needs(it.key());
  }
  if (keys_changed) {
    // Keys cannot be edited in place; marking keeps distinct keys distinct (it is lossless).
    nlohmann::json marked = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      marked[MarkInvalidUtf8(it.key())] = std::move(it.value());
    }
    value = std::move(marked);
  }
  return changed || keys_changed;
}
}  // namespace

bool MarkInvalidUtf8InPlace(nlohmann::json& value) { return MarkStrings(value, false); }

nlohmann::json UnmarkInvalidUtf8Json(const nlohmann::json& value) {
  if (value.is_string()) return UnmarkInvalidUtf8(value.get_ref<const std::string&>());
  if (value.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const nlohmann::json& item : value) out.push_back(UnmarkInvalidUtf8Json(item));
    return out;
  }
  if (value.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      out[UnmarkInvalidUtf8(it.key())] = UnmarkInvalidUtf8Json(it.value());
    }
    return out;
  }
  return value;
}

void AppendJsonString(std::string_view text, std::string* out) {
  // One pass that escapes and checks the UTF-8 together; a text found not to be valid UTF-8
  // is written again, marked.
  const std::size_t out_size = out->size();
  out->push_back('"');
  std::size_t written = 0;  // text before this is in `out`
  std::size_t at = 0;
  while ((at = FindByteOf<kJsonSpecial>(text, at)) < text.size()) {
    const auto c = static_cast<unsigned char>(text[at]);
    if (c >= 0x80) {
      const std::size_t n = SequenceLength(text.substr(at));
      if (n == 0) {
        out->resize(out_size);
        return AppendJsonString(MarkInvalidUtf8(text), out);  // valid: no second marking
      }
      at += n;
      continue;
    }
    out->append(text.substr(written, at - written));
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: {  // another control character: \u00XX, lower-case hex as dump() writes it
        constexpr char kHex[] = "0123456789abcdef";
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
      }
    }
    written = ++at;
  }
  out->append(text.substr(written)).push_back('"');
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  // Almost every value holds only valid UTF-8 and is dumped as it is (a report dumps one per
  // event); the strict dump throws at the first string that is not, and only then is a copy
  // marked.
  try {
    return value.dump(indent, ' ', /*ensure_ascii=*/false,
                      nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::type_error&) {
  }
  nlohmann::json copy = value;
  MarkStrings(copy, /*only_invalid=*/true);
  // After marking every string is valid UTF-8, so `replace` never has anything to replace;
  // it is there so that no input can make this throw.
  return copy.dump(indent, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

}  // namespace backout
