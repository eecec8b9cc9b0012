// Fuzz target: `${...}` expansion (plan/interpolate.h) of one plan string. Variables resolve
// to a value derived from their name unless the name starts with "UNSET"; step outputs come
// from a fixed outputs tree ({"path": ..., "bytes": ..., "tables": {"images": {"rows": ...}}}),
// read through plan::OutputAt, the lookup the engine itself uses.
//
// Properties beyond "no crash": every reference FindReferences reports starts with "${" at
// its offset; Expand succeeds only on text FindReferences accepts; every expanded variable's
// value is reported in secrets_out; text without '$' expands to itself.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "plan/interpolate.h"

namespace {

namespace plan = backout::plan;

std::optional<nlohmann::json> OutputOf(const std::string& step, const std::string& path) {
  static const nlohmann::json kOutputs = {
      {"path", "/backups/app.db"}, {"bytes", 4096}, {"tables", {{"images", {{"rows", 7}}}}}};
  if (step != "backup" && step != "baseline") return std::nullopt;
  return plan::OutputAt(kOutputs, path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  backout::Result<std::vector<plan::Reference>> refs = plan::FindReferences(text);
  if (refs.ok()) {
    for (const plan::Reference& r : *refs) {
      if (text.substr(r.offset, 2) != "${") std::abort();
    }
  }
  plan::Lookups lookups;
  lookups.variable = [](const std::string& name) -> std::optional<std::string> {
    if (name.starts_with("UNSET")) return std::nullopt;
    return "secret-" + name;
  };
  lookups.step_output = OutputOf;
  std::vector<std::string> secrets;
  backout::Result<nlohmann::json> expanded = plan::Expand(text, lookups, &secrets);
  if (!expanded.ok()) return 0;
  if (!refs.ok()) std::abort();  // expanded text the reference scanner refuses
  for (const plan::Reference& r : *refs) {
    if (r.kind != plan::Reference::Kind::kVariable) continue;
    if (std::find(secrets.begin(), secrets.end(), "secret-" + r.name) == secrets.end()) {
      std::abort();  // a variable's value not reported as a secret
    }
  }
  if (text.find('$') == std::string_view::npos && *expanded != nlohmann::json(std::string(text))) {
    std::abort();
  }
  return 0;
}
