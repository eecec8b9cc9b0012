#include "report/text.h"

#include <algorithm>
#include <chrono>

#include "base/byte_scan.h"
#include "base/time.h"

namespace backout::report {

void AppendOneLine(std::string_view text, std::size_t max, std::string* out) {
  // YAML block scalars (`description: >`) end with a newline: no trailing space for it.
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  text = text.substr(0, end == std::string_view::npos ? 0 : end + 1);
  bool cut = false;
  if (text.size() > max) {
    std::size_t at = max;
    while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
    text = text.substr(0, at);
    cut = true;
  }
  const std::size_t from = out->size();
  out->append(text);
  std::replace(out->begin() + static_cast<std::ptrdiff_t>(from), out->end(), '\n', ' ');
  if (cut) out->append("…");
}

std::string OneLine(std::string_view text, std::size_t max) {
  std::string out;
  AppendOneLine(text, max, &out);
  return out;
}

void AppendHumanTime(std::int64_t time_us, std::string* out) {
  if (time_us == 0) {
    out->append("—");
    return;
  }
  const std::size_t from = out->size();
  AppendUtcMicros(time_us, out);  // 2026-11-21T17:16:14.123456Z
  (*out)[from + 10] = ' ';
  out->replace(from + 19, std::string::npos, " UTC");
}

std::string HumanTime(std::int64_t time_us) {
  std::string text;
  AppendHumanTime(time_us, &text);
  return text;
}

void AppendHumanDuration(std::optional<std::int64_t> ms, std::string* out) {
  if (!ms) {
    out->append("—");
    return;
  }
  AppendDuration(std::chrono::milliseconds(*ms), out);
}

std::string HumanDuration(std::optional<std::int64_t> ms) {
  std::string text;
  AppendHumanDuration(ms, &text);
  return text;
}

// What markup cannot hold as it is: the characters with entities, and control bytes.
constexpr ByteClass kMarkupSpecial{.listed = "&<>\"'", .controls = true};

void AppendEscapedMarkup(std::string_view text, std::string* out) {
  std::size_t written = 0;  // text before this is in `out`
  std::size_t at = 0;
  while ((at = FindByteOf<kMarkupSpecial>(text, at)) < text.size()) {
    const char c = text[at];
    if (c == '\t' || c == '\n' || c == '\r') {  // the control bytes markup holds as they are
      ++at;
      continue;
    }
    out->append(text.substr(written, at - written));
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&#39;");
        break;
      default:
        out->append("\uFFFD");
    }
    written = ++at;
  }
  out->append(text.substr(written));
}

std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  AppendEscapedMarkup(text, &out);
  return out;
}

}  // namespace backout::report
