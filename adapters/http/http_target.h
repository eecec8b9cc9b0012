// Internal to the http and notify adapters: an `http` target (base URL, headers, TLS
// settings, secret headers), the requests made on it, and keeping secret header values out of
// everything the adapters return. docs/adapters/http.md lists every setting.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/common/params.h"
#include "adapters/common/stop.h"
#include "adapters/net/http_client.h"
#include "base/redactor.h"

namespace backout::adapters::http {

// Per-request timeout when neither the action nor the target sets `request_timeout`.
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{30'000};

struct HttpTarget {
  std::string base_url;  // "" when the target has none (then every action gives a `url`)
  net::Headers headers;
  bool verify_tls = true;
  std::string ca_file;  // as written; relative to the plan's directory
  std::vector<std::string> secret_headers;  // lowercased
  std::optional<std::chrono::milliseconds> request_timeout;
};

// Reads (and checks) an `http` target's config; `checker` is the target's.
HttpTarget ReadHttpTarget(const nlohmann::json& target, common::Checker& checker);

// Reads a mapping of header names to values (both checked: no line breaks, token names).
net::Headers ReadHeaders(const nlohmann::json& value, const std::string& pointer,
                         common::Checker& checker);

// Reads `path` (joined to the target's base URL) or `url` from `params`; neither: the base
// URL itself. Problems: both given, a path without a base URL, a path not starting with '/'.
// `checker` is the params'.
std::optional<std::string> ReadUrl(const nlohmann::json& params, const HttpTarget& target,
                                   common::Checker& checker);

// `base` then `overrides`, a name in `overrides` replacing the same name (any case) in `base`.
net::Headers MergeHeaders(const net::Headers& base, const net::Headers& overrides);

// A request to `url` with the target's TLS settings (ca_file resolved against `base_dir`)
// and `headers` (already merged with the target's).
net::HttpRequest MakeRequest(const HttpTarget& target, std::string method, std::string url,
                             net::Headers headers, const std::filesystem::path& base_dir);

// The timeout of the next request: `configured` (else kDefaultRequestTimeout), cut to what
// is left before the step's deadline (at least 1 ms: check stop.Fired() first).
std::chrono::milliseconds RequestTimeout(const common::StopCondition& stop,
                                         std::optional<std::chrono::milliseconds> configured);

// Replaces secret header values by "***". Secret are the values of Authorization,
// Proxy-Authorization, Cookie and X-Api-Key, and of every header the target lists in
// `secret_headers`; for a value with a scheme ("Bearer TOKEN") the credential alone too, so
// that a server echoing only the token is caught. As with every Redactor, values shorter than
// Redactor::kMinLength bytes are left alone.
class Scrubber {
 public:
  Scrubber(const HttpTarget& target, const net::Headers& sent);

  std::string operator()(std::string_view text) const;
  nlohmann::json Json(const nlohmann::json& tree) const;  // strings and keys
  Status operator()(const Status& status) const;

 private:
  Redactor redactor_;
};

// At most `max_bytes` of `body` on one line (line breaks become spaces), for messages and
// progress.
std::string OneLineExcerpt(std::string_view body, std::size_t max_bytes);

}  // namespace backout::adapters::http
