// `${...}` references inside plan strings.
//
// Two forms:
//   ${NAME}                       an environment variable (NAME: [A-Za-z_][A-Za-z0-9_]*)
//   ${steps.ID.outputs.PATH}      an output of an earlier step; PATH may be dotted to reach
//                                 into nested outputs (tables.images.rows)
// `$${` is a literal `${`. Anything else after `${` is an error.
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
  Kind kind = Kind::kVariable;
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
};

// Expands every reference in `text`. When `text` is exactly one step-output reference, the
// output's JSON value is returned as is (a number stays a number); otherwise the result is a
// string. Values of expanded variables are appended to `secrets_out` (when given) so callers
// can keep them out of the journal and logs.
Result<nlohmann::json> Expand(std::string_view text, const Lookups& lookups,
                              std::vector<std::string>* secrets_out);

// Expands every string inside a JSON tree (keys are left alone).
Result<nlohmann::json> ExpandTree(const nlohmann::json& tree, const Lookups& lookups,
                                  std::vector<std::string>* secrets_out);

}  // namespace backout::plan
