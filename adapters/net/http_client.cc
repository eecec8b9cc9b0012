#include "adapters/net/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "base/time.h"

namespace backout::adapters::net {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// What the callbacks fill while the transfer runs.
struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  bool too_large = false;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (t->response.body.size() + n > t->request->max_response_bytes) {
    t->too_large = true;
    return 0;  // curl stops with CURLE_WRITE_ERROR
  }
  t->response.body.append(data, n);
  return n;
}

std::string Trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(first, last - first + 1));
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  // A new status line (after a redirect or a 100 Continue) starts a new header block.
  if (line.starts_with("HTTP/")) t->response.headers.clear();
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = Trim(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    t->response.headers.emplace_back(std::move(name), Trim(line.substr(colon + 1)));
  }
  return n;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<const Transfer*>(user);
  return t->request->cancel != nullptr && t->request->cancel->load() ? 1 : 0;
}

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// "POST http://host/path": how messages name a request.
std::string Describe(const HttpRequest& req) {
  return fmt::format("{} {}",
                     req.method,
                     req.url_for_messages.empty() ? UrlForMessages(req.url) : req.url_for_messages);
}

Status TransportError(const HttpRequest& req, CURLcode code, const char* detail,
                      const Transfer& t) {
  const std::string what = Describe(req);
  const std::string reason = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status::Timeout(fmt::format("{}: no complete answer within {} ({})", what,
                                         FormatDuration(req.timeout), reason));
    case CURLE_ABORTED_BY_CALLBACK:
      return Status::Cancelled(fmt::format("{}: cancelled", what));
    case CURLE_WRITE_ERROR:
      if (t.too_large) {
        return Status::IOError(fmt::format("{}: the answer is larger than {} bytes", what,
                                           req.max_response_bytes));
      }
      break;
    default:
      break;
  }
  return Status::Unavailable(fmt::format("{}: {}", what, reason));
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string UrlForMessages(std::string_view url) {
  const std::size_t cut = url.find_first_of("?#");
  std::string shown(url.substr(0, cut));
  // Credentials in the authority (user:password@host) are never shown.
  const std::size_t scheme = shown.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t at = shown.find('@', start);
  const std::size_t slash = shown.find('/', start);
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
    shown.erase(start, at + 1 - start);
  }
  return shown;
}

std::string OriginOf(std::string_view url) {
  const std::string shown = UrlForMessages(url);
  const std::size_t scheme = shown.find("://");
  const std::size_t slash = shown.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return shown.substr(0, slash);
}

std::string TextExcerpt(std::string_view body, std::size_t max_bytes) {
  const bool cut = body.size() > max_bytes;
  std::size_t end = std::min(body.size(), max_bytes);
  // Back to the start of a character, so that the cut does not make one invalid.
  while (cut && end > 0 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) --end;
  // Dumping with `replace` turns every invalid byte into U+FFFD; parsing the dump back
  // yields the repaired text.
  const std::string quoted = nlohmann::json(std::string(body.substr(0, end)))
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string text = nlohmann::json::parse(quoted).get<std::string>();
  if (cut) text += "...";
  return text;
}

Result<HttpResponse> Send(const HttpRequest& req) {
  constexpr std::string_view kLineBreaks("\r\n\0", 3);
  for (const auto& [name, value] : req.headers) {
    if (name.empty() || name.find_first_of(kLineBreaks) != std::string::npos ||
        name.find(':') != std::string::npos ||
        value.find_first_of(kLineBreaks) != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "{}: header '{}' is empty, holds a colon in its name, or a line break or NUL",
          Describe(req), name.substr(0, name.find_first_of(kLineBreaks))));
    }
  }
  if (req.cancel != nullptr && req.cancel->load()) {
    return Status::Cancelled(fmt::format("{}: cancelled before it was sent", Describe(req)));
  }
  GlobalInitOnce();
  CurlHandle curl(curl_easy_init());
  if (!curl) return Status::IOError("cannot create a curl handle");
  CURL* c = curl.get();
  Transfer t;
  t.request = &req;
  char error[CURL_ERROR_SIZE] = {0};

  Slist headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const auto& [name, value] : req.headers) {
    // "Name;" sends a header with an empty value; "Name:" would remove it.
    add_header(value.empty() ? name + ";" : name + ": " + value);
  }
  // "Expect:" (empty) stops curl from asking for 100-continue, a round trip per request. Not
  // on a signed request: curl 7.88's SigV4 signer signs every header of this list, the empty
  // one included ("expect" in SignedHeaders), although curl never sends it, and a strict
  // service refuses the request ("'expect' is named as a SignedHeader, but it does not
  // exist"). A signed body over 1 KiB then goes with "Expect: 100-continue", which curl adds
  // itself, unsigned, and which AWS and dynalite answer at once.
  if (!req.body.empty() && !req.sigv4) add_header("Expect:");
  if (req.sigv4 && !req.sigv4->session_token.empty()) {
    add_header("x-amz-security-token: " + req.sigv4->session_token);
  }

  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, req.verify_tls ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, req.verify_tls ? 2L : 0L);
  if (!req.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, req.ca_file.c_str());
  // Only http and https, also after a redirect (which is not followed: a rollback step
  // says exactly where it goes).
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");

  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method != "GET" || !req.body.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" ||
        req.method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }

  std::string sigv4_provider;
  if (req.sigv4) {
    sigv4_provider = fmt::format("aws:amz:{}:{}", req.sigv4->region, req.sigv4->service);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4_provider.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, req.sigv4->access_key_id.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, req.sigv4->secret_access_key.c_str());
  }

  const CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) return TransportError(req, code, error, t);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  curl_off_t micros = 0;
  curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &micros);
  t.response.elapsed = std::chrono::microseconds(micros);
  return std::move(t.response);
}

}  // namespace backout::adapters::net
