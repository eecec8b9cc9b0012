// A located YAML tree: yaml-cpp nodes read into JSON values that keep the file:line:col of
// every node, with each problem reported as a Diagnostic instead of thrown. The plan grammar
// (parser.cc) is written on top of it; nothing here knows the plan format (messages about the
// text as a whole call it "the plan").
//
// Used by plan/ and by scenarios/ (the `backout test` spec format), which both link yaml-cpp
// privately: it exposes yaml-cpp types.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plan/plan.h"

namespace backout::plan {

// A yaml-cpp mark as a 1-based location; {0, 0} for a null mark.
SourceLoc ToLoc(const YAML::Mark& mark);

// Line and column (counted in characters, as yaml-cpp does) of byte `offset` of `text`.
SourceLoc LocOfByte(std::string_view text, std::size_t offset);

// Where `needle` first appears in `text` at or after `from` (a 1-based location, columns in
// characters), or `from` when it does not: the exact place of a piece of a scalar, such as a
// `${...}` reference on the tenth line of a block scalar whose node starts at its `|`.
SourceLoc LocOfTextFrom(std::string_view text, SourceLoc from, std::string_view needle);

// A YAML reader's syntax error `message` at `at`, with what is likely wrong when the text
// shows it: a tab in the indentation of that line or one before it ("line 6: a tab in the
// indentation; YAML indents with spaces (MESSAGE)", placed at the tab), or a line indented
// unlike the one before it ("check the indentation of line 5: it starts at column 6, line 4 at
// column 5 (MESSAGE)"). Otherwise `message` as it is, at `at`.
std::pair<SourceLoc, std::string> ExplainSyntaxError(std::string_view text, SourceLoc at,
                                                     std::string_view message);

// "a string", "a mapping", ...: how messages name the type of a value.
std::string_view JsonTypeName(const nlohmann::json& value);

// One `key: value` pair of a YAML mapping.
struct Field {
  std::string key;
  SourceLoc key_loc;
  YAML::Node value;

  // Where the value is; an empty value (`key:`) has no position of its own.
  SourceLoc value_loc() const { return value.IsNull() ? key_loc : ToLoc(value.Mark()); }
};

// The field named `key`, or nullptr.
const Field* FindField(const std::vector<Field>& fields, std::string_view key);

// Reads YAML text and nodes for one source file, collecting every problem as an error
// diagnostic. Plain scalars follow the YAML 1.2 core schema (`42` is a number, `true` a
// boolean, `~` null); quoted, block and explicitly tagged scalars are strings.
//
// Not thread-safe; one reader per text.
class LocatedYamlReader {
 public:
  explicit LocatedYamlReader(std::string_view source_file) : file_(source_file) {}

  const std::string& file() const { return file_; }
  void Error(SourceLoc loc, std::string message);
  // The diagnostics reported so far, in the order reported; leaves the reader with none.
  std::vector<Diagnostic> TakeDiagnostics() { return std::move(diagnostics_); }

  // Calls `read` with the root of the single YAML document of `text`, or reports why there
  // is none: bytes that are not UTF-8, a syntax error, no document or more than one, nesting
  // past yaml-cpp's limit. A yaml-cpp exception thrown by `read` is reported too, at its mark.
  void ReadDocument(const std::string& text, const std::function<void(const YAML::Node&)>& read);

  // Pairs of a mapping in file order; reports keys that are not scalars and repeated keys,
  // keeping only the first of each.
  std::vector<Field> Fields(const YAML::Node& map);

  // A mapping (and everything under it) as JSON, every node's location recorded under its
  // JSON pointer. Reports, once per reader, a tree deeper than 64 levels or larger than
  // 100,000 values (YAML aliases can build cyclic or exponentially large trees from a few
  // lines) and leaves the rest of such a tree out.
  LocatedJson MappingToJson(const YAML::Node& map, const std::vector<Field>& fields);

  // Typed values; each reports a mismatch at the value ("'KEY' must be EXPECTED, not a
  // mapping") and returns nullopt.
  std::optional<nlohmann::json> TypedValue(const Field& field, nlohmann::json::value_t type,
                                           std::string_view expected);
  std::optional<std::string> StringValue(const Field& field);
  std::optional<std::string> NonEmptyString(const Field& field);
  std::optional<bool> BoolValue(const Field& field);
  std::optional<std::int64_t> IntegerValue(const Field& field);
  // A scalar taken as written by ParseDuration (base/time.h): "90s", "5m".
  std::optional<std::chrono::milliseconds> DurationValue(const Field& field);

 private:
  // False, after reporting why, unless `text` holds exactly one YAML document.
  bool LoadsOneDocument(const std::string& text);
  void ToJson(const YAML::Node& node, const nlohmann::json::json_pointer& where, int depth,
              LocatedJson* out);
  void FieldsToJson(const std::vector<Field>& fields, const nlohmann::json::json_pointer& where,
                    int depth, LocatedJson* out);

  std::string file_;
  std::vector<Diagnostic> diagnostics_;
  std::size_t param_nodes_ = 0;
  bool too_large_reported_ = false;
};

}  // namespace backout::plan
