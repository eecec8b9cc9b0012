#include "adapters/file/env_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace backout::adapters::file {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool IsSpace(char ch) { return ch == ' ' || ch == '\t'; }
bool IsKeyStart(char ch) {
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
}
bool IsKeyChar(char ch) { return IsKeyStart(ch) || (ch >= '0' && ch <= '9') || ch == '.'; }

// Characters a value may hold and still be written without quotes by every loader (shell,
// docker compose, dotenv libraries).
bool IsBareChar(char ch) {
  return IsKeyChar(ch) || std::string_view("/:@%+,=-").find(ch) != std::string_view::npos;
}

std::size_t SkipSpaces(std::string_view text, std::size_t at) {
  while (at < text.size() && IsSpace(text[at])) ++at;
  return at;
}

// The decoded contents of a double-quoted value (without its quotes).
std::string DecodeDoubleQuoted(std::string_view inner) {
  std::string out;
  for (std::size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '\\' || i + 1 == inner.size()) {
      out += inner[i];
      continue;
    }
    const char next = inner[++i];
    if (next == 'n') {
      out += '\n';
    } else if (std::string_view("\\\"$`").find(next) != std::string_view::npos) {
      out += next;
    } else {
      out += '\\';
      out += next;
    }
  }
  return out;
}

// Only an inline comment may follow a quoted value.
bool OnlyCommentFrom(std::string_view text, std::size_t at) {
  at = SkipSpaces(text, at);
  return at == text.size() || text[at] == '#';
}

// How `value` is written: in `preferred` quoting when it needs no escapes there; else bare
// when it can be, single-quoted when it holds no single quote, else double-quoted with
// escapes.
std::string Encode(const std::string& value, char preferred) {
  const bool bare_ok = std::all_of(value.begin(), value.end(), IsBareChar);
  const bool single_ok = value.find('\'') == std::string::npos;
  const bool double_plain_ok = value.find_first_of("\\\"$`") == std::string::npos;
  if (preferred == '\'' && single_ok) return "'" + value + "'";
  if (preferred == '"' && double_plain_ok) return "\"" + value + "\"";
  if (bare_ok) return value;
  if (single_ok) return "'" + value + "'";
  std::string out = "\"";
  for (char ch : value) {
    if (std::string_view("\\\"$`").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

bool IsEnvKey(std::string_view key) {
  return !key.empty() && IsKeyStart(key.front()) && std::all_of(key.begin(), key.end(), IsKeyChar);
}

Result<EnvFile> EnvFile::Parse(std::string_view text, std::string_view name) {
  EnvFile file;
  if (text.starts_with(kBom)) {
    file.bom_ = kBom;
    text.remove_prefix(kBom.size());
  }
  int number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t newline = text.find('\n');
    Line line;
    std::string_view body = text.substr(0, newline);
    if (newline == std::string_view::npos) {
      text = {};
    } else {
      text.remove_prefix(newline + 1);
      line.end = "\n";
      if (body.ends_with('\r')) {
        body.remove_suffix(1);
        line.end = "\r\n";
      }
    }
    line.text = body;
    auto fail = [&](std::string_view what) {
      return Status::InvalidArgument(fmt::format("{}:{}: {}", name, number, what));
    };
    std::size_t at = SkipSpaces(body, 0);
    if (at == body.size() || body[at] == '#') {
      file.lines_.push_back(std::move(line));
      continue;
    }
    if (body.substr(at).starts_with("export") && at + 6 < body.size() && IsSpace(body[at + 6])) {
      at = SkipSpaces(body, at + 6);
    }
    const std::size_t key_begin = at;
    while (at < body.size() && IsKeyChar(body[at])) ++at;
    line.key = body.substr(key_begin, at - key_begin);
    at = SkipSpaces(body, at);
    if (!IsEnvKey(line.key) || at == body.size() || body[at] != '=') {
      return fail("expected KEY=VALUE, a comment or a blank line");
    }
    at = SkipSpaces(body, at + 1);
    line.value_begin = at;
    if (at < body.size() && (body[at] == '\'' || body[at] == '"')) {
      line.quote = body[at];
      std::size_t close = at + 1;
      while (close < body.size() && body[close] != line.quote) {
        close += line.quote == '"' && body[close] == '\\' ? 2 : 1;
      }
      if (close >= body.size()) {
        return fail(line.quote == '"' ? "unterminated double quote (a value must end on its line)"
                                      : "unterminated single quote (a value must end on its line)");
      }
      if (!OnlyCommentFrom(body, close + 1)) {
        return fail("unexpected text after the closing quote");
      }
      const std::string_view inner = body.substr(at + 1, close - at - 1);
      line.value = line.quote == '"' ? DecodeDoubleQuoted(inner) : std::string(inner);
      line.value_end = close + 1;
    } else {
      // An unquoted value ends at the line's end or where whitespace and '#' begin a comment.
      std::size_t end = at;
      while (end < body.size() && !(body[end] == '#' && end > at && IsSpace(body[end - 1]))) {
        ++end;
      }
      while (end > at && IsSpace(body[end - 1])) --end;
      line.value = body.substr(at, end - at);
      line.value_end = end;
    }
    file.lines_.push_back(std::move(line));
  }
  return file;
}

void EnvFile::Assign(Line& line, const std::string& value) {
  const std::string written = Encode(value, line.quote);
  line.text.replace(line.value_begin, line.value_end - line.value_begin, written);
  line.value_end = line.value_begin + written.size();
  line.quote = written.starts_with('\'') || written.starts_with('"') ? written.front() : '\0';
  line.value = value;
}

EnvFile::Change EnvFile::Set(const std::string& key, const std::string& value) {
  bool found = false;
  bool updated = false;
  for (Line& line : lines_) {
    if (line.key != key) continue;
    found = true;
    if (line.value == value) continue;
    Assign(line, value);
    updated = true;
  }
  if (found) return updated ? Change::kUpdated : Change::kUnchanged;
  // Appended lines end the way the file's lines do.
  const std::string end = !lines_.empty() && lines_.front().end == "\r\n" ? "\r\n" : "\n";
  if (!lines_.empty() && lines_.back().end.empty()) lines_.back().end = end;
  Line line;
  line.key = key;
  line.text = key + "=";
  line.value_begin = line.value_end = line.text.size();
  line.end = end;
  Assign(line, value);
  lines_.push_back(std::move(line));
  return Change::kAdded;
}

bool EnvFile::Unset(const std::string& key) {
  const auto removed = std::erase_if(lines_, [&](const Line& line) { return line.key == key; });
  return removed > 0;
}

std::string EnvFile::Render() const {
  std::string out = bom_;
  for (const Line& line : lines_) out += line.text + line.end;
  return out;
}

}  // namespace backout::adapters::file
