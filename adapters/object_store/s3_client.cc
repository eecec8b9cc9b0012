#include "adapters/object_store/s3_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "base/sha256.h"

namespace backout::adapters::object_store {
namespace {

// RFC 3986 percent-encoding of everything but the unreserved characters (and '/' in a
// path): what SigV4's canonical request expects, so curl's signature and the store's agree.
std::string UriEncode(std::string_view text, bool keep_slash) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

// The text of the first <tag>...</tag> in an S3 XML answer ("" when there is none). S3's
// answers are flat enough that the elements read here never nest in themselves.
std::string XmlText(std::string_view xml, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag);
  const std::size_t at = xml.find(open);
  if (at == std::string_view::npos) return "";
  const std::size_t start = at + open.size();
  const std::size_t end = xml.find(fmt::format("</{}>", tag), start);
  if (end == std::string_view::npos) return "";
  return std::string(xml.substr(start, end - start));
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::optional<std::uint64_t> ParseCount(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

bool IsBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '-'; });
}

// The error of an S3 answer that is not 2xx, by its HTTP status and S3's error code.
Status ErrorOf(std::string_view what, const ObjectUrl& url, const net::HttpResponse& answer) {
  const std::string code = XmlText(answer.body, "Code");
  const std::string detail = XmlText(answer.body, "Message");
  std::string message =
      fmt::format("S3 {} {}: HTTP {}{}{}", what, url.ToString(), answer.status,
                  code.empty() ? "" : " " + code,
                  detail.empty() ? "" : ": " + net::TextExcerpt(detail, 200));
  if (answer.status == 404 || code == "NoSuchKey" || code == "NoSuchBucket" ||
      code == "NoSuchUpload") {
    return Status::NotFound(std::move(message));
  }
  if (answer.status == 403) return Status::FailedPrecondition(std::move(message));
  if (answer.status >= 500 || answer.status == 429 || code == "SlowDown") {
    return Status::Unavailable(std::move(message));
  }
  return Status::IOError(std::move(message));
}

}  // namespace

bool HasUrlScheme(std::string_view text) {
  const std::size_t colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  return std::all_of(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(colon), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '-' || c == '.';
  });
}

Result<ObjectUrl> ParseObjectUrl(std::string_view text) {
  constexpr std::string_view kScheme = "s3://";
  if (!text.starts_with(kScheme)) {
    const std::size_t scheme_end = text.find("://");
    return Status::InvalidArgument(fmt::format(
        "'{}' URLs are not supported: object storage is reached through s3://BUCKET/KEY (any "
        "S3-compatible store), a local path has no scheme",
        text.substr(0, scheme_end == std::string_view::npos ? text.size() : scheme_end + 3)));
  }
  const std::string_view rest = text.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  ObjectUrl url;
  url.bucket = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) url.key = std::string(rest.substr(slash + 1));
  if (!IsBucketName(url.bucket)) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a valid bucket name (3 to 63 of a-z, 0-9, '.', '-')", url.bucket));
  }
  return url;
}

std::string S3Client::RequestUrl(const ObjectUrl& url, std::string_view query) const {
  std::string endpoint = config_.endpoint;
  while (endpoint.ends_with('/')) endpoint.pop_back();
  std::string base;
  if (config_.path_style) {
    base = fmt::format("{}/{}", endpoint, url.bucket);
  } else {
    const std::size_t scheme_end = endpoint.find("://");
    const std::size_t host_at = scheme_end == std::string::npos ? 0 : scheme_end + 3;
    base = endpoint.substr(0, host_at) + url.bucket + "." + endpoint.substr(host_at);
  }
  std::string out = fmt::format("{}/{}", base, UriEncode(url.key, true));
  if (!query.empty()) out += fmt::format("?{}", query);
  return out;
}

Result<net::HttpResponse> S3Client::Call(std::string_view what, const ObjectUrl& url,
                                         std::string method, std::string_view query,
                                         net::Headers headers, std::string_view body) const {
  net::HttpRequest request;
  request.method = std::move(method);
  request.url = RequestUrl(url, query);
  request.url_for_messages = url.ToString();
  // The payload hash is signed, so the store refuses a body that changed on the way.
  headers.emplace_back("x-amz-content-sha256", Sha256Hex(body));
  request.headers = std::move(headers);
  request.body = std::string(body);
  request.timeout = config_.request_timeout;
  request.ca_file = config_.ca_file;
  request.cancel = config_.cancel;
  request.sigv4 = net::AwsSigV4{.region = config_.region,
                                .service = "s3",
                                .access_key_id = config_.credentials.access_key_id,
                                .secret_access_key = config_.credentials.secret_access_key,
                                .session_token = config_.credentials.session_token};
  Result<net::HttpResponse> answer = net::Send(request);
  if (!answer.ok()) {
    return answer.status().WithContext(fmt::format("S3 {} {}", what, url.ToString()));
  }
  if (answer->status < 200 || answer->status > 299) return ErrorOf(what, url, *answer);
  return answer;
}

net::Headers S3Client::ObjectWriteHeaders(const std::string& sha256_hex) const {
  net::Headers headers = {{"x-amz-meta-sha256", sha256_hex}};
  if (!config_.sse.empty()) {
    headers.emplace_back("x-amz-server-side-encryption", config_.sse);
    if (!config_.kms_key_id.empty()) {
      headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", config_.kms_key_id);
    }
  }
  if (!config_.object_lock_mode.empty()) {
    headers.emplace_back("x-amz-object-lock-mode", config_.object_lock_mode);
    headers.emplace_back("x-amz-object-lock-retain-until-date", config_.object_lock_until);
  }
  return headers;
}

Status S3Client::CheckBucket(const std::string& bucket) const {
  return Call("HEAD", {bucket, ""}, "HEAD", "", {}, "").status();
}

Result<ObjectHead> S3Client::Head(const ObjectUrl& url) const {
  Result<net::HttpResponse> answer = Call("HEAD", url, "HEAD", "", {}, "");
  if (!answer.ok()) return answer.status();
  ObjectHead head;
  const std::optional<std::uint64_t> bytes =
      ParseCount(answer->Header("content-length").value_or(""));
  if (!bytes) {
    return Status::IOError(fmt::format("S3 HEAD {}: no Content-Length", url.ToString()));
  }
  head.bytes = *bytes;
  head.etag = answer->Header("etag").value_or("");
  head.sha256 = answer->Header("x-amz-meta-sha256").value_or("");
  return head;
}

Result<std::string> S3Client::GetRange(const ObjectUrl& url, std::uint64_t offset,
                                       std::uint64_t length) const {
  if (length == 0) return std::string();
  Result<net::HttpResponse> answer =
      Call("GET", url, "GET", "",
           {{"range", fmt::format("bytes={}-{}", offset, offset + length - 1)}}, "");
  if (!answer.ok()) return answer.status();
  return std::move(answer->body);
}

Status S3Client::Put(const ObjectUrl& url, std::string_view body,
                     const std::string& sha256_hex) const {
  return Call("PUT", url, "PUT", "", ObjectWriteHeaders(sha256_hex), body).status();
}

Status S3Client::Delete(const ObjectUrl& url) const {
  return Call("DELETE", url, "DELETE", "", {}, "").status();
}

Result<std::string> S3Client::CreateMultipartUpload(const ObjectUrl& url,
                                                    const std::string& sha256_hex) const {
  Result<net::HttpResponse> answer = Call("CreateMultipartUpload", url, "POST", "uploads=",
                                          ObjectWriteHeaders(sha256_hex), "");
  if (!answer.ok()) return answer.status();
  std::string upload_id = XmlText(answer->body, "UploadId");
  if (upload_id.empty()) {
    return Status::IOError(
        fmt::format("S3 CreateMultipartUpload {}: no UploadId in the answer", url.ToString()));
  }
  return upload_id;
}

Result<std::string> S3Client::UploadPart(const ObjectUrl& url, const std::string& upload_id,
                                         int part_number, std::string_view body) const {
  Result<net::HttpResponse> answer =
      Call(fmt::format("UploadPart {}", part_number), url, "PUT",
           fmt::format("partNumber={}&uploadId={}", part_number, UriEncode(upload_id, false)),
           {}, body);
  if (!answer.ok()) return answer.status();
  std::optional<std::string> etag = answer->Header("etag");
  if (!etag || etag->empty()) {
    return Status::IOError(fmt::format("S3 UploadPart {} {}: no ETag in the answer",
                                       part_number, url.ToString()));
  }
  return *etag;
}

Status S3Client::CompleteMultipartUpload(const ObjectUrl& url, const std::string& upload_id,
                                         const std::vector<UploadedPart>& parts) const {
  std::string body = "<CompleteMultipartUpload>";
  for (const UploadedPart& part : parts) {
    body += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", part.number,
                        XmlEscape(part.etag));
  }
  body += "</CompleteMultipartUpload>";
  Result<net::HttpResponse> answer =
      Call("CompleteMultipartUpload", url, "POST",
           fmt::format("uploadId={}", UriEncode(upload_id, false)), {}, body);
  if (!answer.ok()) return answer.status();
  // S3 may answer 200 with an <Error> body when the completion failed after it started.
  if (answer->body.find("<Error>") != std::string::npos) {
    net::HttpResponse failed = std::move(answer).value();
    failed.status = 500;
    return ErrorOf("CompleteMultipartUpload", url, failed);
  }
  return Status::Ok();
}

Status S3Client::AbortMultipartUpload(const ObjectUrl& url, const std::string& upload_id) const {
  return Call("AbortMultipartUpload", url, "DELETE",
              fmt::format("uploadId={}", UriEncode(upload_id, false)), {}, "")
      .status();
}

}  // namespace backout::adapters::object_store
