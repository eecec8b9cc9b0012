#include "plan/located_yaml.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <sstream>

#include "base/time.h"
#include "base/utf8.h"

namespace backout::plan {

namespace {

using nlohmann::json;
using Pointer = nlohmann::json::json_pointer;

// Nesting and size limits for action and target parameters. YAML aliases can build cyclic or
// exponentially large trees from a few lines; these bound what a hostile plan can cost.
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxParamNodes = 100'000;

bool IsLeadByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }

// YAML 1.2 core schema for floats, without .inf and .nan (JSON has no such numbers):
// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool IsCoreFloat(std::string_view s) {
  auto digits = [&s]() {
    std::size_t n = 0;
    while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
    s.remove_prefix(n);
    return n;
  };
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
  const std::size_t int_digits = digits();
  std::size_t frac_digits = 0;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    frac_digits = digits();
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (!s.empty() && (s[0] == 'e' || s[0] == 'E')) {
    s.remove_prefix(1);
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
    if (digits() == 0) return false;
  }
  return s.empty();
}

// `text` as a number when all of it is one that fits. std::from_chars takes no '+' sign, so
// one is dropped here (but not from "+-5").
template <typename Number>
std::optional<Number> ParseNumber(std::string_view text) {
  if (text.size() > 1 && text[0] == '+' && text[1] != '-') text.remove_prefix(1);
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

json PlainScalarToJson(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (const std::optional<std::int64_t> integer = ParseNumber<std::int64_t>(text)) {
    return *integer;
  }
  // Integers beyond 64 bits become doubles; numbers beyond a double's range stay text, as
  // JSON has no infinity.
  if (IsCoreFloat(text)) {
    if (const std::optional<double> number = ParseNumber<double>(text)) return *number;
  }
  return text;
}

// A scalar's JSON value: plain scalars (tag "?") follow the YAML 1.2 core schema; every other
// scalar is a string: quoted and block scalars (tag "!") and explicitly tagged ones (!!str).
json ScalarToJson(const YAML::Node& node) {
  if (node.IsNull()) return nullptr;
  if (node.Tag() == "?") return PlainScalarToJson(node.Scalar());
  return node.Scalar();
}

// Records where the documents of a YAML stream start, and nothing else.
class DocumentStarts : public YAML::EventHandler {
 public:
  const std::vector<YAML::Mark>& marks() const { return marks_; }

  void OnDocumentStart(const YAML::Mark& mark) override { marks_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> marks_;
};

// Where the first two documents of `text` start. Not YAML::LoadAll: on some malformed input
// (a stray ',' at the top level) yaml-cpp 0.7 reports empty documents forever without
// consuming anything, and LoadAll never returns.
std::vector<YAML::Mark> FirstDocumentStarts(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts starts;
  while (starts.marks().size() < 2) {
    if (!parser.HandleNextDocument(starts)) break;
  }
  return starts.marks();
}

// The lines of `text`, without their line breaks.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    lines.push_back(text.substr(0, newline));
    if (newline == std::string_view::npos) break;
    text.remove_prefix(newline + 1);
  }
  return lines;
}

// Where a line's content starts: after its indentation and any `- ` of block sequence
// entries ("  - id: a" starts at column 5, as does the "    sql:" below it).
std::size_t ContentIndent(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size()) {
    if (line[i] == ' ') {
      ++i;
    } else if (line[i] == '-' && (i + 1 == line.size() || line[i + 1] == ' ')) {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

bool IsBlankOrComment(std::string_view line) {
  const std::size_t first = line.find_first_not_of(" \t\r");
  return first == std::string_view::npos || line[first] == '#';
}

// The YAML reader's errors that a misplaced line causes (a wrong indentation ends a block
// mapping or sequence early, or makes a key look like part of a value).
bool IsBlockStructureError(std::string_view message) {
  return message == YAML::ErrorMsg::END_OF_MAP || message == YAML::ErrorMsg::END_OF_SEQ ||
         message == YAML::ErrorMsg::MAP_VALUE || message == YAML::ErrorMsg::BLOCK_ENTRY;
}

}  // namespace

std::pair<SourceLoc, std::string> ExplainSyntaxError(std::string_view text, SourceLoc at,
                                                     std::string_view message) {
  const std::vector<std::string_view> lines = Lines(text);
  const std::size_t error_line =
      std::min(static_cast<std::size_t>(std::max(at.line, 1)), lines.size());
  // A tab in the indentation of the error's line or one before it: the nearest one.
  for (std::size_t n = error_line; n >= 1; --n) {
    const std::string_view line = lines[n - 1];
    const std::size_t indent_end = line.find_first_not_of(" \t");
    const std::size_t tab = line.substr(0, indent_end).find('\t');
    if (tab == std::string_view::npos || indent_end == std::string_view::npos) continue;
    return {{static_cast<int>(n), static_cast<int>(tab) + 1},
            fmt::format("line {}: a tab in the indentation; YAML indents with spaces ({})", n,
                        message)};
  }
  if (!IsBlockStructureError(message) || error_line < 2) {
    return {at, std::string(message)};
  }
  std::size_t previous = error_line - 1;
  while (previous >= 1 && IsBlankOrComment(lines[previous - 1])) --previous;
  if (previous == 0) return {at, std::string(message)};
  const std::size_t indent = ContentIndent(lines[error_line - 1]);
  const std::size_t previous_indent = ContentIndent(lines[previous - 1]);
  if (indent == previous_indent) return {at, std::string(message)};
  return {at, fmt::format("check the indentation of line {}: it starts at column {}, line {} "
                          "at column {} ({})",
                          error_line, indent + 1, previous, previous_indent + 1, message)};
}

SourceLoc LocOfByte(std::string_view text, std::size_t offset) {
  const std::string_view before = text.substr(0, offset);
  const std::size_t newline = before.rfind('\n');
  const std::size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  const auto line = std::count(before.begin(), before.end(), '\n');
  const auto col = std::count_if(before.begin() + static_cast<std::ptrdiff_t>(line_start),
                                 before.end(), IsLeadByte);
  return {static_cast<int>(line) + 1, static_cast<int>(col) + 1};
}

SourceLoc LocOfTextFrom(std::string_view text, SourceLoc from, std::string_view needle) {
  std::size_t offset = 0;
  for (int line = 1; line < from.line && offset < text.size(); ++line) {
    const std::size_t newline = text.find('\n', offset);
    offset = newline == std::string_view::npos ? text.size() : newline + 1;
  }
  for (int col = 1; col < from.col && offset < text.size() && text[offset] != '\n'; ++col) {
    ++offset;
    while (offset < text.size() && !IsLeadByte(text[offset])) ++offset;
  }
  const std::size_t at = text.find(needle, offset);
  return at == std::string_view::npos ? from : LocOfByte(text, at);
}

SourceLoc ToLoc(const YAML::Mark& mark) {
  if (mark.is_null()) return {};
  return {mark.line + 1, mark.column + 1};
}

std::string_view JsonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "a sequence";
    case json::value_t::object: return "a mapping";
    default: return "something else";
  }
}

const Field* FindField(const std::vector<Field>& fields, std::string_view key) {
  auto it =
      std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == key; });
  return it == fields.end() ? nullptr : &*it;
}

void LocatedYamlReader::Error(SourceLoc loc, std::string message) {
  diagnostics_.push_back({Diagnostic::Severity::kError, file_, loc, std::move(message)});
}

std::vector<Field> LocatedYamlReader::Fields(const YAML::Node& map) {
  std::vector<Field> fields;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const SourceLoc key_loc = ToLoc(it->first.Mark());
    if (!it->first.IsScalar()) {
      Error(key_loc, "a mapping key must be a plain string");
      continue;
    }
    std::string key = it->first.Scalar();
    if (const Field* first = FindField(fields, key)) {
      Error(key_loc, fmt::format("duplicate key '{}' (first at line {}, column {})", key,
                                 first->key_loc.line, first->key_loc.col));
      continue;
    }
    fields.push_back({std::move(key), key_loc, it->second});
  }
  return fields;
}

void LocatedYamlReader::ToJson(const YAML::Node& node, const Pointer& where, int depth,
                               LocatedJson* out) {
  if (depth > kMaxDepth || param_nodes_ >= kMaxParamNodes) {
    // Said once: the plan is rejected anyway, and each further node would repeat it.
    if (!too_large_reported_) {
      Error(ToLoc(node.Mark()), fmt::format("parameters nest deeper than {} levels or hold "
                                            "more than {} values (a cyclic YAML alias?)",
                                            kMaxDepth, kMaxParamNodes));
    }
    too_large_reported_ = true;
    return;
  }
  ++param_nodes_;
  if (!node.IsNull()) out->locs[where.to_string()] = ToLoc(node.Mark());
  json& slot = out->value[where];
  if (node.IsMap()) {
    slot = json::object();
    FieldsToJson(Fields(node), where, depth, out);
  } else if (node.IsSequence()) {
    slot = json::array();
    for (std::size_t i = 0; i < node.size(); ++i) ToJson(node[i], where / i, depth + 1, out);
  } else {
    slot = ScalarToJson(node);
  }
}

void LocatedYamlReader::FieldsToJson(const std::vector<Field>& fields, const Pointer& where,
                                     int depth, LocatedJson* out) {
  for (const Field& field : fields) {
    const Pointer child = where / field.key;
    ToJson(field.value, child, depth + 1, out);
    if (field.value.IsNull()) out->locs[child.to_string()] = field.key_loc;
  }
}

LocatedJson LocatedYamlReader::MappingToJson(const YAML::Node& map,
                                             const std::vector<Field>& fields) {
  LocatedJson tree;
  tree.locs[""] = ToLoc(map.Mark());
  FieldsToJson(fields, Pointer(), 0, &tree);
  return tree;
}

std::optional<json> LocatedYamlReader::TypedValue(const Field& field, json::value_t type,
                                                  std::string_view expected) {
  json value = field.value.IsScalar() || field.value.IsNull() ? ScalarToJson(field.value)
               : field.value.IsMap()                          ? json::object()
                                                              : json::array();
  if (value.type() == type) return value;
  Error(field.value_loc(),
        fmt::format("'{}' must be {}, not {}", field.key, expected, JsonTypeName(value)));
  return std::nullopt;
}

std::optional<std::string> LocatedYamlReader::StringValue(const Field& field) {
  std::optional<json> value = TypedValue(field, json::value_t::string, "a string");
  if (!value) return std::nullopt;
  return value->get<std::string>();
}

std::optional<std::string> LocatedYamlReader::NonEmptyString(const Field& field) {
  std::optional<std::string> value = StringValue(field);
  if (value && value->empty()) {
    Error(field.value_loc(), fmt::format("'{}' must not be empty", field.key));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> LocatedYamlReader::BoolValue(const Field& field) {
  std::optional<json> value = TypedValue(field, json::value_t::boolean, "true or false");
  if (!value) return std::nullopt;
  return value->get<bool>();
}

std::optional<std::int64_t> LocatedYamlReader::IntegerValue(const Field& field) {
  std::optional<json> value = TypedValue(field, json::value_t::number_integer, "an integer");
  if (!value) return std::nullopt;
  return value->get<std::int64_t>();
}

std::optional<std::chrono::milliseconds> LocatedYamlReader::DurationValue(const Field& field) {
  // Taken as written, so `timeout: 0` gets ParseDuration's "expected a unit" advice.
  if (!field.value.IsScalar()) {
    Error(field.value_loc(), fmt::format("'{}' must be a duration such as 90s", field.key));
    return std::nullopt;
  }
  Result<std::chrono::milliseconds> duration = ParseDuration(field.value.Scalar());
  if (!duration.ok()) {
    Error(field.value_loc(), duration.status().WithContext(field.key).message());
    return std::nullopt;
  }
  return *duration;
}

bool LocatedYamlReader::LoadsOneDocument(const std::string& text) {
  const std::vector<YAML::Mark> starts = FirstDocumentStarts(text);
  if (starts.empty()) {
    Error({1, 1}, "the plan is empty");
  } else if (starts.size() > 1 && starts[1].pos == starts[0].pos) {
    const auto pos = static_cast<std::size_t>(starts[1].pos);
    Error(ToLoc(starts[1]), pos < text.size() ? fmt::format("unexpected '{}'", text[pos])
                                              : std::string("unexpected end of the plan"));
  } else if (starts.size() > 1) {
    Error(ToLoc(starts[1]), "a plan file holds a single YAML document");
  }
  return starts.size() == 1;
}

void LocatedYamlReader::ReadDocument(const std::string& text,
                                     const std::function<void(const YAML::Node&)>& read) {
  if (const std::size_t bad = FindInvalidUtf8(text); bad != std::string_view::npos) {
    // Checked before YAML sees it: yaml-cpp passes such bytes through (even in a comment),
    // and a plan's text is journaled as JSON, which must be UTF-8.
    Error(LocOfByte(text, bad), fmt::format("byte 0x{:02X} is not UTF-8; a plan must be UTF-8 text",
                                            static_cast<unsigned char>(text[bad])));
    return;
  }
  try {
    if (LoadsOneDocument(text)) read(YAML::Load(text));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp says only "bad file" here.
    Error(ToLoc(e.mark), fmt::format("the plan nests deeper than {} levels, the most the "
                                     "YAML reader allows",
                                     e.depth() - 1));
  } catch (const YAML::ParserException& e) {
    auto [loc, message] = ExplainSyntaxError(text, ToLoc(e.mark), e.msg);
    Error(loc, std::move(message));
  } catch (const YAML::Exception& e) {
    Error(ToLoc(e.mark), e.msg);
  }
}

}  // namespace backout::plan
