// Bytes that are not UTF-8 in strings that must be (JSON payloads, reports, --json output).
//
// JSON text is UTF-8, and nlohmann::json::dump() throws on anything else, yet paths,
// environment values, command output and database text can hold any byte. Every string that
// is journaled or printed as JSON goes through MarkInvalidUtf8 first (docs/events.md,
// "Bytes that are not UTF-8"):
//
//   a byte that is not part of well-formed UTF-8  ->  U+FFFD followed by its value as two
//                                                     upper-case hex digits (0xFF -> "\uFFFDFF")
//   a U+FFFD of the original text                 ->  its three bytes marked the same way
//                                                     ("\uFFFDEF\uFFFDBF\uFFFDBD")
//   anything else                                 ->  unchanged
//
// The result is valid UTF-8, visibly marked where the original was not, and lossless:
// UnmarkInvalidUtf8 gives back the original bytes (a step reading a journaled path that held
// a 0xFF byte opens the same file). Valid text without U+FFFD is unchanged, so journals
// written before the marking existed read the same.

#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace backout {

// Byte offset of the first byte of `text` that is not part of well-formed UTF-8 (Unicode
// 15, table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or npos.
std::size_t FindInvalidUtf8(std::string_view text);
inline bool IsValidUtf8(std::string_view text) {
  return FindInvalidUtf8(text) == std::string_view::npos;
}

// The marked form of `bytes` (see above); `bytes` itself when it needs no marking.
std::string MarkInvalidUtf8(std::string_view bytes);
// The original bytes of a marked string. A U+FFFD not followed by two upper-case hex digits
// stays as it is.
std::string UnmarkInvalidUtf8(std::string_view text);

// Marks every string and every object key of `value` in place; true when anything changed.
bool MarkInvalidUtf8InPlace(nlohmann::json& value);
// `value` with every string and object key unmarked.
nlohmann::json UnmarkInvalidUtf8Json(const nlohmann::json& value);

// value.dump(indent) that never throws, for printing JSON (--json, reports): strings and keys
// that are not valid UTF-8 are marked; valid ones, already marked ones included, are left as
// they are (marking them again would mark their U+FFFD).
std::string DumpJson(const nlohmann::json& value, int indent = -1);

// Appends `text` as a JSON string, the bytes DumpJson gives for it (marked when it is not
// valid UTF-8, escaped as nlohmann's dump() escapes with ensure_ascii off), without building
// a nlohmann::json: for writers that print one small object per event.
void AppendJsonString(std::string_view text, std::string* out);

// The string `value` holds, by reference, for a value already known to be a string (a
// validated parameter, a field a reader checked): anything else throws
// nlohmann::json::type_error, which an adapter's frame turns into a failed step.
inline const std::string& Text(const nlohmann::json& value) {
  return value.get_ref<const std::string&>();
}

}  // namespace backout
