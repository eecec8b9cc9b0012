#include "plan/interpolate.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/quote.h"
#include "base/suggest.h"

namespace backout::plan {

namespace {

using nlohmann::json;

constexpr std::string_view kStepsPrefix = "steps.";
constexpr std::string_view kOutputsInfix = ".outputs.";
constexpr std::string_view kSqlPrefix = "sql:";
constexpr std::string_view kShellPrefix = "sh:";
// Longest part of a malformed reference quoted in an error (plan strings can be whole scripts).
constexpr std::size_t kMaxQuoted = 60;

// A string cut into literal text and references, in order.
struct Piece {
  std::string literal;  // used when `ref` is empty; `$${` already turned into `${`
  std::optional<Reference> ref;
};

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsVariableName(std::string_view name) {
  if (name.empty() || IsDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsAsciiLetter(c) || IsDigit(c) || c == '_'; });
}

// A step id or one segment of an output path. Deliberately wider than the step-id syntax:
// the parser then says "no such step" instead of a vaguer syntax error.
bool IsWord(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return IsAsciiLetter(c) || IsDigit(c) || c == '_' || c == '-';
  });
}

bool IsDottedPath(std::string_view path) {
  while (true) {
    const std::size_t dot = path.find('.');
    if (!IsWord(path.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    path.remove_prefix(dot + 1);
  }
}

Status Malformed(std::string_view text, std::size_t offset, std::string_view why) {
  std::string_view quoted = text.substr(offset);
  const std::size_t close = quoted.find('}');
  if (close != std::string_view::npos) quoted = quoted.substr(0, close + 1);
  const bool cut = quoted.size() > kMaxQuoted;
  return Status::InvalidArgument(fmt::format("malformed reference '{}{}' at offset {}: {}",
                                             quoted.substr(0, kMaxQuoted), cut ? "..." : "",
                                             offset, why));
}

// `body` is what stands between "${" and "}".
Result<Reference> ParseReference(std::string_view text, std::size_t offset,
                                 std::string_view body) {
  Reference ref;
  ref.offset = offset;
  if (body.starts_with(kSqlPrefix)) {
    ref.quoting = Reference::Quoting::kSql;
    body.remove_prefix(kSqlPrefix.size());
  } else if (body.starts_with(kShellPrefix)) {
    ref.quoting = Reference::Quoting::kShell;
    body.remove_prefix(kShellPrefix.size());
  } else if (const std::size_t colon = body.find(':'); colon != std::string_view::npos) {
    return Malformed(text, offset,
                     fmt::format("unknown quoting '{}:'; expected 'sql:' (an SQL string "
                                 "literal) or 'sh:' (a shell word)",
                                 body.substr(0, std::min(colon, kMaxQuoted))));
  }
  if (body.empty()) return Malformed(text, offset, "empty name");
  if (body == "steps" || body.starts_with(kStepsPrefix)) {
    const std::string_view rest = body.substr(std::min(body.size(), kStepsPrefix.size()));
    const std::size_t infix = rest.find(kOutputsInfix);
    const std::string_view step = rest.substr(0, infix);
    if (infix == std::string_view::npos || !IsWord(step) ||
        !IsDottedPath(rest.substr(infix + kOutputsInfix.size()))) {
      return Malformed(text, offset, "expected ${steps.ID.outputs.NAME}");
    }
    ref.kind = Reference::Kind::kStepOutput;
    ref.name = std::string(step);
    ref.output_path = std::string(rest.substr(infix + kOutputsInfix.size()));
    return ref;
  }
  if (!IsVariableName(body)) {
    return Malformed(text, offset,
                     "a variable name has letters, digits and '_', and does not start with a "
                     "digit");
  }
  ref.kind = Reference::Kind::kVariable;
  ref.name = std::string(body);
  return ref;
}

Result<std::vector<Piece>> Split(std::string_view text) {
  std::vector<Piece> pieces;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 3) == "$${") {
      literal += "${";
      i += 3;
    } else if (text.substr(i, 2) == "${") {
      const std::size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) return Malformed(text, i, "missing '}'");
      Result<Reference> ref = ParseReference(text, i, text.substr(i + 2, close - i - 2));
      if (!ref.ok()) return ref.status();
      if (!literal.empty()) pieces.push_back({std::move(literal), std::nullopt});
      literal.clear();
      pieces.push_back({"", std::move(ref).value()});
      i = close + 1;
    } else {
      literal += text[i];
      ++i;
    }
  }
  if (!literal.empty()) pieces.push_back({std::move(literal), std::nullopt});
  return pieces;
}

Result<json> LookUpOutput(const Reference& ref, const Lookups& lookups) {
  std::optional<json> value;
  if (lookups.step_output) value = lookups.step_output(ref.name, ref.output_path);
  if (!value) {
    std::string known;
    if (lookups.output_names) {
      const std::vector<std::string> names = lookups.output_names(ref.name);
      const std::string first = ref.output_path.substr(0, ref.output_path.find('.'));
      known = names.empty() ? "; it has no outputs"
                            : fmt::format("{}; it has: {}", DidYouMean(first, names),
                                          fmt::join(names, ", "));
    }
    return Status::NotFound(
        fmt::format("step '{}' has no output '{}'{}", ref.name, ref.output_path, known));
  }
  return std::move(*value);
}

Result<std::string> LookUpVariable(const Reference& ref, const Lookups& lookups,
                                   std::vector<std::string>* secrets_out) {
  std::optional<std::string> value;
  if (lookups.variable) value = lookups.variable(ref.name);
  if (!value) {
    return Status::NotFound(fmt::format("environment variable {} is not set", ref.name));
  }
  // An empty value hides nothing, and a caller that scrubs secrets by substring replacement
  // must never be handed one.
  if (secrets_out != nullptr && !value->empty() &&
      std::find(secrets_out->begin(), secrets_out->end(), *value) == secrets_out->end()) {
    secrets_out->push_back(*value);
  }
  return std::move(*value);
}

// How a step output reads when it is only part of a string.
Result<std::string> OutputAsText(const Reference& ref, const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_structured()) {
    return Status::InvalidArgument(fmt::format(
        "step '{}' output '{}' is {} and cannot be placed inside a string; refer to a single "
        "value inside it, or make the reference the whole string",
        ref.name, ref.output_path, value.is_object() ? "an object" : "an array"));
  }
  return value.dump();
}

Result<std::string> Quoted(const Reference& ref, std::string_view value) {
  switch (ref.quoting) {
    case Reference::Quoting::kNone: return std::string(value);
    case Reference::Quoting::kSql: return QuoteSqlLiteral(value);
    case Reference::Quoting::kShell: return QuoteShellWord(value);
  }
  return std::string(value);
}

Result<std::string> PieceText(const Piece& piece, const Lookups& lookups,
                              std::vector<std::string>* secrets_out) {
  if (!piece.ref) return piece.literal;
  const Reference& ref = *piece.ref;
  if (ref.kind == Reference::Kind::kVariable) {
    Result<std::string> value = LookUpVariable(ref, lookups, secrets_out);
    if (!value.ok() || ref.quoting == Reference::Quoting::kNone) return value;
    Result<std::string> quoted = Quoted(ref, *value);
    if (!quoted.ok()) {
      return Status::InvalidArgument(
          fmt::format("environment variable {}: {}", ref.name, quoted.status().message()));
    }
    // The quoted text differs from the value when the value holds a quote; the journal must
    // see neither.
    if (secrets_out != nullptr && !value->empty() &&
        std::find(secrets_out->begin(), secrets_out->end(), *quoted) == secrets_out->end()) {
      secrets_out->push_back(*quoted);
    }
    return quoted;
  }
  Result<json> value = LookUpOutput(ref, lookups);
  if (!value.ok()) return value.status();
  Result<std::string> text = OutputAsText(ref, *value);
  if (!text.ok()) return text;
  Result<std::string> quoted = Quoted(ref, *text);
  if (!quoted.ok()) {
    return Status::InvalidArgument(fmt::format("step '{}' output '{}': {}", ref.name,
                                               ref.output_path, quoted.status().message()));
  }
  return quoted;
}

Result<json> ExpandAt(const json& node, const json::json_pointer& where, const Lookups& lookups,
                      std::vector<std::string>* secrets_out) {
  if (node.is_string()) {
    Result<json> expanded = Expand(node.get_ref<const std::string&>(), lookups, secrets_out);
    if (!expanded.ok() && !where.empty()) {
      return expanded.status().WithContext(where.to_string());
    }
    return expanded;
  }
  if (!node.is_structured()) return node;
  json out = node.is_object() ? json::object() : json::array();
  for (auto it = node.begin(); it != node.end(); ++it) {
    const json::json_pointer child_where =
        node.is_object() ? where / it.key() : where / out.size();
    Result<json> child = ExpandAt(*it, child_where, lookups, secrets_out);
    if (!child.ok()) return child;
    if (node.is_object()) {
      out[it.key()] = std::move(child).value();
    } else {
      out.push_back(std::move(child).value());
    }
  }
  return out;
}

}  // namespace

Result<std::string> QuoteSqlLiteral(std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("a value holding a NUL byte cannot be an SQL literal");
  }
  return QuoteByDoubling(value, '\'');
}

Result<std::string> QuoteShellWord(std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("a value holding a NUL byte cannot be a shell word");
  }
  // Inside '...' the shell takes every byte literally, newlines included; only ' itself
  // cannot appear, so each one closes the quote, adds an escaped quote and reopens it.
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

Result<std::vector<Reference>> FindReferences(std::string_view text) {
  Result<std::vector<Piece>> pieces = Split(text);
  if (!pieces.ok()) return pieces.status();
  std::vector<Reference> refs;
  for (Piece& piece : *pieces) {
    if (piece.ref) refs.push_back(std::move(*piece.ref));
  }
  return refs;
}

Result<json> Expand(std::string_view text, const Lookups& lookups,
                    std::vector<std::string>* secrets_out) {
  Result<std::vector<Piece>> pieces = Split(text);
  if (!pieces.ok()) return pieces.status();
  if (pieces->size() == 1 && (*pieces)[0].ref &&
      (*pieces)[0].ref->kind == Reference::Kind::kStepOutput &&
      (*pieces)[0].ref->quoting == Reference::Quoting::kNone) {
    return LookUpOutput(*(*pieces)[0].ref, lookups);
  }
  std::string out;
  for (const Piece& piece : *pieces) {
    Result<std::string> text_of_piece = PieceText(piece, lookups, secrets_out);
    if (!text_of_piece.ok()) return text_of_piece.status();
    out += *text_of_piece;
  }
  return json(std::move(out));
}

std::optional<json> OutputAt(const json& outputs, std::string_view path) {
  const json* node = &outputs;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = std::min(path.find('.', start), path.size());
    const std::string key(path.substr(start, dot - start));
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
    start = dot + 1;
  }
  return *node;
}

Result<json> ExpandTree(const json& tree, const Lookups& lookups,
                        std::vector<std::string>* secrets_out) {
  return ExpandAt(tree, json::json_pointer(), lookups, secrets_out);
}

}  // namespace backout::plan
