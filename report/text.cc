#include "report/text.h"

#include <algorithm>
#include <chrono>

#include "base/byte_scan.h"
#include "base/time.h"

namespace backout::report {

std::string OneLine(std::string_view text, std::size_t max) {
  // YAML block scalars (`description: >`) end with a newline: no trailing space for it.
  const std::size_t end = text.find_last_not_of(" \t\r\n");
  std::string out(text.substr(0, end == std::string_view::npos ? 0 : end + 1));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (out.size() <= max) return out;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out + "…";
}

std::string HumanTime(std::int64_t time_us) {
  if (time_us == 0) return "—";
  std::string text;
  AppendUtcMicros(time_us, &text);  // 2026-11-21T17:16:14.123456Z
  text[10] = ' ';
  text.replace(19, std::string::npos, " UTC");
  return text;
}

std::string HumanDuration(std::optional<std::int64_t> ms) {
  if (!ms) return "—";
  return FormatDuration(std::chrono::milliseconds(*ms));
}

void AppendEscapedMarkup(std::string_view text, std::string* out) {
  constexpr ByteClass kSpecial{.listed = "&<>\"'", .controls = true};
  std::size_t written = 0;  // text before this is in `out`
  std::size_t at = 0;
  while ((at = FindByteOf(text, at, kSpecial)) < text.size()) {
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
