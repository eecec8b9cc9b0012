// Redactor: keeps secrets out of everything backout writes.
//
// The engine registers every value it expands from the environment (`${VAR}`), the http and
// notify adapters the values of their secret headers; before outputs or an error message are
// journaled, printed or logged, each occurrence of a registered value is replaced by "***". Values shorter than kMinLength are not registered: replacing
// every "1" or "db" would destroy outputs while protecting nothing a secret would look like.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace backout {

class Redactor {
 public:
  static constexpr std::size_t kMinLength = 4;

  void Add(std::string value);
  std::string Scrub(std::string_view text) const;
  nlohmann::json ScrubJson(const nlohmann::json& tree) const;  // strings and keys

 private:
  // Longest first, so a secret containing another is replaced whole.
  struct LongerFirst {
    bool operator()(const std::string& a, const std::string& b) const {
      return a.size() != b.size() ? a.size() > b.size() : a < b;
    }
  };
  std::set<std::string, LongerFirst> secrets_;
};

}  // namespace backout
