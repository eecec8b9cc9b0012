#include "base/redactor.h"

namespace backout {

void Redactor::Add(std::string value) {
  if (value.size() >= kMinLength) secrets_.insert(std::move(value));
}

std::string Redactor::Scrub(std::string_view text) const {
  std::string out(text);
  for (const std::string& secret : secrets_) {
    for (std::size_t pos = out.find(secret); pos != std::string::npos;
         pos = out.find(secret, pos + 3)) {
      out.replace(pos, secret.size(), "***");
    }
  }
  return out;
}

nlohmann::json Redactor::ScrubJson(const nlohmann::json& tree) const {
  if (secrets_.empty()) return tree;
  if (tree.is_string()) return Scrub(tree.get_ref<const std::string&>());
  if (tree.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : tree) out.push_back(ScrubJson(item));
    return out;
  }
  if (tree.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : tree.items()) out[Scrub(key)] = ScrubJson(value);
    return out;
  }
  return tree;
}

}  // namespace backout
