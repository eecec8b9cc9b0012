// Internal to the file adapter: editing KEY=VALUE env files (`.env`) line by line, so that
// everything but the named keys stays byte for byte as it was: comments, blank lines, order,
// `export ` prefixes, quoting, inline comments, CRLF line ends.
//
// The grammar (docs/adapters/file.md#env-files): each line is blank, a comment (`#` after
// optional whitespace), or `[export ]KEY=VALUE` with optional spaces around `=`. VALUE is
// empty, unquoted (up to the end of the line or a ` #` inline comment), 'single-quoted' or
// "double-quoted" (backslash escapes); a quoted value ends on its own line and only spaces
// and an inline comment may follow it.
//
// Env files hold secrets: no error message or result of this module contains a value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace backout::adapters::file {

// [A-Za-z_][A-Za-z0-9_.]*
bool IsEnvKey(std::string_view key);

class EnvFile {
 public:
  // Parses `text`. A line that is not blank, a comment or an assignment, or a value with bad
  // quoting, gives InvalidArgument "NAME:LINE: what is wrong" (the line itself is not
  // quoted: it may hold a secret). `name` is how messages call the file.
  static Result<EnvFile> Parse(std::string_view text, std::string_view name);

  enum class Change { kUnchanged, kUpdated, kAdded };
  // Gives every assignment of `key` the value `value` (one line, see params), keeping each
  // line's quoting style where the value allows it; appends `KEY=VALUE` at the end when no
  // line assigns `key`.
  Change Set(const std::string& key, const std::string& value);

  // Removes every assignment of `key`; false when there was none.
  bool Unset(const std::string& key);

  // The file's text with the changes made so far.
  std::string Render() const;

 private:
  struct Line {
    std::string text;  // without its line end
    std::string end;   // "\n", "\r\n", or "" for a last line without one
    // For assignments: the key, where the value as written sits in `text`, and its quote
    // character ('\0' when unquoted).
    std::string key;
    std::size_t value_begin = 0;
    std::size_t value_end = 0;
    char quote = '\0';
    std::string value;  // decoded, used only to tell whether Set changes anything
  };

  // Writes `value` in place of the line's value as written.
  static void Assign(Line& line, const std::string& value);

  std::string bom_;  // a UTF-8 byte order mark before the first line, kept as it was
  std::vector<Line> lines_;
};

}  // namespace backout::adapters::file
