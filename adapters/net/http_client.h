// One HTTP request over libcurl, shared by the adapters that speak HTTP (http, notify
// webhooks, DynamoDB's JSON API).
//
// Errors: a transport failure (name lookup, connect, TLS, a reset) is kUnavailable, the
// request's deadline kTimeout, a set `cancel` flag kCancelled; each message names the method
// and URL (without its query string, which may carry tokens) and curl's reason. An HTTP error
// status (404, 500) is NOT an error here: it is the caller's to judge.
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

}  // namespace backout::adapters::net
