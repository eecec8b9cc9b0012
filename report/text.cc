#include "report/text.h"

#include <algorithm>
#include <chrono>

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
  const std::string iso = FormatUtcMicros(time_us);  // 2026-11-21T17:16:14.123456Z
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
}

std::string HumanDuration(std::optional<std::int64_t> ms) {
  if (!ms) return "—";
  return FormatDuration(std::chrono::milliseconds(*ms));
}

std::string EscapeMarkup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') {
          out += "\uFFFD";
        } else {
          out += ch;
        }
    }
  }
  return out;
}

}  // namespace backout::report
