// `${...}` references inside plan strings.
//
// Two forms:
//   ${NAME}                       an environment variable (NAME: [A-Za-z_][A-Za-z0-9_]*)
//   ${steps.ID.outputs.PATH}      an output of an earlier step; PATH may be dotted to reach
//                                 into nested outputs (tables.images.rows)
// `$${` is a literal `${`. Anything else after `${` is an error.
//
// Either form may carry a quoting prefix, for values pasted into SQL or shell text, where
// a bare value is code (a quote, a `;` or a newline in it would end the literal and start a
// statement or a command):
//   ${sql:NAME}  ${sql:steps.ID.outputs.PATH}  one SQL string literal: '...' with every '
//                                              doubled ('it''s'); for PostgreSQL this relies
//                                              on standard_conforming_strings (on by default)
//   ${sh:NAME}   ${sh:steps.ID.outputs.PATH}   one POSIX shell word: '...' with every ' as
//                                              '\'' (it'\''s)
// A value holding a NUL byte cannot be quoted and is an error.
//
// Expansion is pure: values come from the two lookups the caller passes in.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace backout::plan {

struct Reference {
  enum class Kind { kVariable, kStepOutput };
  enum class Quoting { kNone, kSql, kShell };
  Kind kind = Kind::kVariable;
  Quoting quoting = Quoting::kNone;
  std::string name;         // variable name, or the step id
  std::string output_path;  // for kStepOutput: "path" or "tables.images.rows"
  std::size_t offset = 0;   // byte offset of "${" in the string
};

// All references in `text`, or InvalidArgument naming the offset of a malformed one.
Result<std::vector<Reference>> FindReferences(std::string_view text);

struct Lookups {
  std::function<std::optional<std::string>(const std::string&)> variable;
  // Returns the output value, or nullopt when the step or output does not exist.
  std::function<std::optional<nlohmann::json>(const std::string& step,
                                               const std::string& path)>
      step_output;
  // The outputs a step has, for the message about one it lacks ("it has: path, bytes");
  // optional.
  std::function<std::vector<std::string>(const std::string& step)> output_names;
};

// `value` as one SQL string literal / one shell word (see above); InvalidArgument for a NUL.
Result<std::string> QuoteSqlLiteral(std::string_view value);
Result<std::string> QuoteShellWord(std::string_view value);

// Expands every reference in `text`. When `text` is exactly one unquoted step-output
// reference, the output's JSON value is returned as is (a number stays a number); otherwise
// the result is a string. Values of expanded variables are appended to `secrets_out` (when
// given), and for a quoted reference the quoted text too (a value with a quote in it reads
// differently once quoted), so callers can keep both out of the journal and logs.
Result<nlohmann::json> Expand(std::string_view text, const Lookups& lookups,
                              std::vector<std::string>* secrets_out);

// The value at a dotted output path ("tables.images.rows": each part an object key) inside
// a step's `outputs`, or nullopt when a part is missing or names into a non-object. How the
// engine resolves ${steps.ID.outputs.PATH} (its Lookups::step_output).
std::optional<nlohmann::json> OutputAt(const nlohmann::json& outputs, std::string_view path);

// Expands every string inside a JSON tree (keys are left alone).
Result<nlohmann::json> ExpandTree(const nlohmann::json& tree, const Lookups& lookups,
                                  std::vector<std::string>* secrets_out);

}  // namespace backout::plan
