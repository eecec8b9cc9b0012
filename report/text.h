// Text helpers shared by the report's builder and renderers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace backout::report {

// Each helper below returns its text or, as Append..., appends it to `out` (a report makes one
// per event: appended, a reused cell keeps its capacity).

// `text` on one line (trailing whitespace dropped, newlines become spaces), cut to at most
// `max` bytes plus "…". A cut never splits a UTF-8 character, so JSON built from it stays
// valid.
std::string OneLine(std::string_view text, std::size_t max);
void AppendOneLine(std::string_view text, std::size_t max, std::string* out);

// "2026-11-21 17:16:14 UTC"; "—" for 0 (never happened).
std::string HumanTime(std::int64_t time_us);
void AppendHumanTime(std::int64_t time_us, std::string* out);

// "850ms", "12.4s", "3m05s" (base/time.h); "—" when unknown.
std::string HumanDuration(std::optional<std::int64_t> ms);
void AppendHumanDuration(std::optional<std::int64_t> ms, std::string* out);

// `text` safe inside HTML or XML character data and quoted attribute values: & < > " ' as
// entities. Bytes XML 1.0 cannot carry (control characters other than tab, newline and
// carriage return) become U+FFFD, so a hostile step output cannot make a JUnit file invalid.
std::string EscapeMarkup(std::string_view text);
// The same, appended to `out`.
void AppendEscapedMarkup(std::string_view text, std::string* out);

}  // namespace backout::report
