// The quoting SQL uses for literals ('it''s') and identifiers ("a""b"): the text between two
// `quote` characters, with each `quote` inside it doubled. One helper for every SQL quoting
// in the tree (plan `${sql:...}`, the SQLite and PostgreSQL adapters' identifiers and literals).
#pragma once

#include <string>
#include <string_view>

namespace backout {

inline std::string QuoteByDoubling(std::string_view text, char quote) {
  std::string out(1, quote);
  out.reserve(text.size() + 2);
  for (char c : text) {
    if (c == quote) out += quote;
    out += c;
  }
  out += quote;
  return out;
}

}  // namespace backout
