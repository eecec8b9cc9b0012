// One HTTP request over libcurl, shared by the adapters that speak HTTP (http, notify
// webhooks, DynamoDB's JSON API).
//
// Errors: a transport failure (name lookup, connect, TLS, a reset) is kUnavailable, the
// request's deadline kTimeout, a set `cancel` flag kCancelled (also when it is set before the
// request starts: nothing is sent then), a header with a line break kInvalidArgument (it
// would smuggle in headers of its own); each message names the method and URL (without its
// query string, which may carry tokens, or `url_for_messages`) and curl's reason. An HTTP
// error status (404, 500) is NOT an error here: it is the caller's to judge. Cancellation is
// noticed within about a second (curl's progress callback), also while no byte moves.
//
// Secrets: header values and the AWS credentials are never part of a message.
//
// Thread safety: Send() may be called from any thread; each call uses its own curl handle.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace backout::adapters::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

// AWS Signature Version 4, computed by curl (CURLOPT_AWS_SIGV4).
struct AwsSigV4 {
  std::string region;
  std::string service;        // "dynamodb"
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional (temporary credentials)
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{30'000};  // the whole exchange; 0 = none
  std::chrono::milliseconds connect_timeout{10'000};
  bool verify_tls = true;
  std::string ca_file;  // a CA bundle to trust instead of the system's ("" = system)
  std::optional<AwsSigV4> sigv4;
  const std::atomic<bool>* cancel = nullptr;  // polled while the request is in flight
  std::size_t max_response_bytes = 64 << 20;  // larger answers fail rather than fill memory
  // How messages name the URL; "" = UrlForMessages(url). For URLs whose path is a secret
  // (a Slack webhook's), so that not even its path reaches an error message.
  std::string url_for_messages;
};

struct HttpResponse {
  long status = 0;
  Headers headers;  // names lowercased, in arrival order
  std::string body;
  std::chrono::microseconds elapsed{0};

  // The first header of that (lowercase) name, if any.
  std::optional<std::string> Header(std::string_view name) const;
};

Result<HttpResponse> Send(const HttpRequest& request);

// `url` without its query string and fragment, for messages.
std::string UrlForMessages(std::string_view url);

// "scheme://host[:port]" of `url` (no credentials, path or query): all a message may show of
// a URL that is a secret as a whole.
std::string OriginOf(std::string_view url);

// At most `max_bytes` of `body` as valid UTF-8 (for JSON outputs and messages): cut at a
// character boundary, bytes that are not UTF-8 replaced by U+FFFD, "..." appended when cut.
std::string TextExcerpt(std::string_view body, std::size_t max_bytes);

}  // namespace backout::adapters::net
