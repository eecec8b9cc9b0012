#include "adapters/http/http_target.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace backout::adapters::http {
namespace {

using common::Checker;
using common::Child;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::array<std::string_view, 4> kAlwaysSecret = {"authorization", "proxy-authorization",
                                                           "cookie", "x-api-key"};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// RFC 9110 token characters: what a header name may hold.
bool IsToken(std::string_view name) {
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

}  // namespace

net::Headers ReadHeaders(const json& value, const std::string& pointer, Checker& checker) {
  net::Headers headers;
  if (checker.Deferred(value)) return headers;
  if (!value.is_object()) {
    checker.Fail(pointer, "expected a mapping of header names to values");
    return headers;
  }
  for (const auto& [name, item] : value.items()) {
    const std::string at = Child(pointer, name);
    if (!IsToken(name)) {
      checker.Fail(at, "not a valid header name");
      continue;
    }
    std::optional<std::string> text = checker.Text(item, at);
    if (!text) continue;
    if (text->find_first_of("\r\n") != std::string::npos) {
      checker.Fail(at, "a header value must not hold a line break");
      continue;
    }
    headers.emplace_back(name, std::move(*text));
  }
  return headers;
}

HttpTarget ReadHttpTarget(const json& target, Checker& checker) {
  HttpTarget out;
  if (!checker.Mapping(target, "",
                       {"type", "base_url", "headers", "verify_tls", "ca_file", "secret_headers",
                        "request_timeout"})) {
    return out;
  }
  if (auto it = target.find("type"); it != target.end() && *it != "http") {
    checker.Fail("/type", "expected 'http'");
  }
  if (auto it = target.find("base_url"); it != target.end()) {
    // Kept even when it is wrong (reported here) or a `${...}` reference (checked once
    // known): either way the target has a base URL, and paths are not reported again.
    checker.Url(*it, "/base_url");
    if (it->is_string()) out.base_url = it->get<std::string>();
  }
  if (auto it = target.find("headers"); it != target.end()) {
    out.headers = ReadHeaders(*it, "/headers", checker);
  }
  if (auto it = target.find("verify_tls"); it != target.end()) {
    out.verify_tls = checker.Flag(*it, "/verify_tls").value_or(true);
  }
  if (auto it = target.find("ca_file"); it != target.end()) {
    out.ca_file = checker.NonEmptyText(*it, "/ca_file").value_or("");
  }
  if (auto it = target.find("secret_headers"); it != target.end() && !checker.Deferred(*it)) {
    if (!it->is_array()) {
      checker.Fail("/secret_headers", "expected a list of header names");
    } else {
      for (std::size_t i = 0; i < it->size(); ++i) {
        const std::string at = Child("/secret_headers", i);
        std::optional<std::string> name = checker.Text((*it)[i], at);
        if (name && !IsToken(*name)) {
          checker.Fail(at, "not a valid header name");
        } else if (name) {
          out.secret_headers.push_back(Lower(*name));
        }
      }
    }
  }
  if (auto it = target.find("request_timeout"); it != target.end()) {
    out.request_timeout = checker.Duration(*it, "/request_timeout");
  }
  return out;
}

std::optional<std::string> ReadUrl(const json& params, const HttpTarget& target,
                                   Checker& checker) {
  const auto path = params.find("path");
  const auto url = params.find("url");
  if (path != params.end() && url != params.end()) {
    checker.Fail("", "give either 'path' (on the target's base_url) or 'url', not both");
    return std::nullopt;
  }
  if (url != params.end()) return checker.Url(*url, "/url");
  // A `${...}` base URL is known at run time only; an empty one is missing.
  const bool has_base = !target.base_url.empty();
  if (path == params.end()) {
    if (!has_base) checker.Fail("", "expected 'path' or 'url' (the target has no base_url)");
    return target.base_url;
  }
  std::optional<std::string> text = checker.Text(*path, "/path");
  if (!text) return std::nullopt;
  if (!has_base) {
    checker.Fail("/path", "the target has no base_url; give a full 'url' instead");
    return std::nullopt;
  }
  if (!text->starts_with('/') && !checker.Deferred(*path)) {
    checker.Fail("/path", "expected a path starting with '/'");
    return std::nullopt;
  }
  std::string base = target.base_url;
  while (base.ends_with('/')) base.pop_back();
  return base + *text;
}

net::Headers MergeHeaders(const net::Headers& base, const net::Headers& overrides) {
  net::Headers merged;
  for (const auto& header : base) {
    const bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto& o) {
      return strcasecmp(o.first.c_str(), header.first.c_str()) == 0;
    });
    if (!replaced) merged.push_back(header);
  }
  merged.insert(merged.end(), overrides.begin(), overrides.end());
  return merged;
}

net::HttpRequest MakeRequest(const HttpTarget& target, std::string method, std::string url,
                             net::Headers headers, const std::filesystem::path& base_dir) {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.headers = std::move(headers);
  request.verify_tls = target.verify_tls;
  if (!target.ca_file.empty()) request.ca_file = (base_dir / target.ca_file).string();
  return request;
}

milliseconds RequestTimeout(const common::StopCondition& stop,
                            std::optional<milliseconds> configured) {
  return stop.Cap(configured.value_or(kDefaultRequestTimeout));
}

Scrubber::Scrubber(const HttpTarget& target, const net::Headers& sent) {
  for (const auto& [name, value] : sent) {
    const std::string lower = Lower(name);
    const bool secret =
        std::find(kAlwaysSecret.begin(), kAlwaysSecret.end(), lower) != kAlwaysSecret.end() ||
        std::find(target.secret_headers.begin(), target.secret_headers.end(), lower) !=
            target.secret_headers.end();
    if (!secret) continue;
    redactor_.Add(value);
    // The credential after a scheme ("Bearer TOKEN"), which a server may echo alone.
    const std::size_t space = value.find(' ');
    const std::size_t credential =
        space == std::string::npos ? space : value.find_first_not_of(' ', space);
    if (credential != std::string::npos) redactor_.Add(value.substr(credential));
  }
}

std::string Scrubber::operator()(std::string_view text) const { return redactor_.Scrub(text); }

json Scrubber::Json(const json& tree) const { return redactor_.ScrubJson(tree); }

Status Scrubber::operator()(const Status& status) const {
  return Status(status.code(), (*this)(status.message()));
}

std::string OneLineExcerpt(std::string_view body, std::size_t max_bytes) {
  std::string text = net::TextExcerpt(body, max_bytes);
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return text;
}

}  // namespace backout::adapters::http
