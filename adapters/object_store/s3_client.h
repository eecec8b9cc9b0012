// An S3 client over adapters/net (curl, SigV4 signed by curl with service "s3"): the few
// calls object storage backups need, for AWS S3 and any S3-compatible store (MinIO, s3rver,
// Ceph), with path-style or virtual-host addressing.
//
// Errors: transport failures keep adapters/net's codes (kUnavailable, kTimeout, kCancelled);
// an S3 error answer becomes kNotFound (404, NoSuchKey, NoSuchBucket, NoSuchUpload),
// kFailedPrecondition (403: credentials or permissions), kUnavailable (5xx, 429, throttling),
// else kIOError; each message names the call, the s3:// URL and S3's error code and message.
// Requests are not retried here (the step's retries and the resumable upload do that).
//
// Secrets: credentials go to curl for signing only; no message holds one.
//
// Thread safety: a client is immutable after construction; calls may run on any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/aws/credentials.h"
#include "adapters/net/http_client.h"
#include "base/status.h"

namespace backout::adapters::object_store {

// "s3://BUCKET/KEY". KEY may be empty (a bucket's root) or end with '/' (a prefix).
struct ObjectUrl {
  std::string bucket;
  std::string key;

  std::string ToString() const { return "s3://" + bucket + "/" + key; }
};

// Whether `text` starts with a URL scheme ("s3://", "gs://", "https://"): what a backup
// destination must not be unless it is s3://.
bool HasUrlScheme(std::string_view text);

// Parses "s3://BUCKET[/KEY]". kInvalidArgument unless the scheme is s3 and BUCKET is a valid
// S3 bucket name (3 to 63 of [a-z0-9.-], starting and ending with a letter or digit).
Result<ObjectUrl> ParseObjectUrl(std::string_view text);

// How to reach a store, and the headers every object written gets.
struct StoreConfig {
  std::string endpoint;  // "https://s3.REGION.amazonaws.com", "http://127.0.0.1:4568"
  std::string region;
  bool path_style = false;  // ENDPOINT/BUCKET/KEY rather than BUCKET.HOST/KEY
  aws::Credentials credentials;
  // Server-side encryption: "" (the bucket's default), "AES256" or "aws:kms" (with
  // kms_key_id, optional: the account's default key otherwise).
  std::string sse;
  std::string kms_key_id;
  // Object lock: "" (none), "GOVERNANCE" or "COMPLIANCE", until `object_lock_until` (an
  // ISO 8601 UTC time, "2026-12-31T00:00:00Z").
  std::string object_lock_mode;
  std::string object_lock_until;
  std::string ca_file;  // a CA bundle to trust instead of the system's
  std::chrono::milliseconds request_timeout{300'000};
  const std::atomic<bool>* cancel = nullptr;
};

struct ObjectHead {
  std::uint64_t bytes = 0;
  std::string etag;
  // The sha256 (hex) backout stored as the object's metadata (x-amz-meta-sha256) when it
  // uploaded it; "" for an object written by someone else.
  std::string sha256;
};

struct UploadedPart {
  int number = 0;
  std::string etag;
  std::uint64_t bytes = 0;
};

class S3Client {
 public:
  explicit S3Client(StoreConfig config) : config_(std::move(config)) {}

  const StoreConfig& config() const { return config_; }

  // HEAD of the bucket: OK when it exists and the credentials may use it.
  Status CheckBucket(const std::string& bucket) const;
  // HEAD of an object; kNotFound when there is none.
  Result<ObjectHead> Head(const ObjectUrl& url) const;
  // Bytes [offset, offset + length) of an object (fewer at its end).
  Result<std::string> GetRange(const ObjectUrl& url, std::uint64_t offset,
                               std::uint64_t length) const;
  // Writes `body` as the whole object, with metadata sha256 = `sha256_hex` (the body's) and
  // the configured encryption and lock headers. The store checks the body against the signed
  // payload hash.
  Status Put(const ObjectUrl& url, std::string_view body, const std::string& sha256_hex) const;
  Status Delete(const ObjectUrl& url) const;

  // Multipart upload. Create returns the upload id; the whole object's sha256 (known before
  // the first part, from the staged file) goes into its metadata as with Put.
  Result<std::string> CreateMultipartUpload(const ObjectUrl& url,
                                            const std::string& sha256_hex) const;
  // One part (1..10000); returns its ETag. kNotFound when the upload is gone (completed or
  // aborted). The acknowledged parts are the caller's to remember (not every S3-compatible
  // store offers ListParts; s3rver does not).
  Result<std::string> UploadPart(const ObjectUrl& url, const std::string& upload_id,
                                 int part_number, std::string_view body) const;
  Status CompleteMultipartUpload(const ObjectUrl& url, const std::string& upload_id,
                                 const std::vector<UploadedPart>& parts) const;
  Status AbortMultipartUpload(const ObjectUrl& url, const std::string& upload_id) const;

  // The request URL of an object (query string appended as given): for tests and messages.
  std::string RequestUrl(const ObjectUrl& url, std::string_view query = "") const;

 private:
  Result<net::HttpResponse> Call(std::string_view what, const ObjectUrl& url,
                                 std::string method, std::string_view query,
                                 net::Headers headers, std::string_view body) const;
  net::Headers ObjectWriteHeaders(const std::string& sha256_hex) const;

  StoreConfig config_;
};

}  // namespace backout::adapters::object_store
