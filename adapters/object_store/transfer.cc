#include "adapters/object_store/transfer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "adapters/common/files.h"
#include "base/file_util.h"

namespace backout::adapters::object_store {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr std::uint64_t kDownloadChunk = 8ULL << 20;

// The multipart upload an upload goes on with: its id and the parts acknowledged so far.
struct MultipartProgress {
  std::string upload_id;  // "" : none started yet
  std::vector<UploadedPart> parts;
};

// The last multipart upload of `plan`'s file that the earlier attempts' checkpoints started,
// with the parts (from 1 on, in order) they journaled for it. Checkpoints of anything else
// (another file, key or part size; not an upload's) are ignored.
MultipartProgress ProgressFrom(const UploadPlan& plan) {
  MultipartProgress progress;
  if (!plan.earlier.is_array()) return progress;
  for (const json& checkpoint : plan.earlier) {
    if (!checkpoint.is_object()) continue;
    const std::string upload_id = checkpoint.value("upload_id", "");
    if (upload_id.empty()) continue;
    if (checkpoint.contains("upload")) {
      if (checkpoint.value("upload", "") == plan.url.ToString() &&
          checkpoint.value("sha256", "") == plan.digest.sha256_hex &&
          checkpoint.value("bytes", std::uint64_t{0}) == plan.digest.bytes &&
          checkpoint.value("part_size", std::uint64_t{0}) == plan.part_size) {
        progress = {upload_id, {}};
      }
    } else if (upload_id == progress.upload_id &&
               checkpoint.value("part", 0) == static_cast<int>(progress.parts.size()) + 1 &&
               checkpoint.value("etag", json()).is_string() &&
               checkpoint.value("bytes", json()).is_number_unsigned()) {
      progress.parts.push_back({checkpoint.at("part").get<int>(),
                                checkpoint.at("etag").get<std::string>(),
                                checkpoint.at("bytes").get<std::uint64_t>()});
    }
  }
  return progress;
}

Status Checkpoint(const UploadPlan& plan, const json& checkpoint) {
  return plan.checkpoint ? plan.checkpoint(checkpoint) : Status::Ok();
}

// Reads bytes [offset, offset + length) of the open file.
Result<std::string> ReadAt(int fd, const fs::path& path, std::uint64_t offset,
                           std::uint64_t length) {
  std::string bytes(length, '\0');
  std::uint64_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, bytes.data() + done, length - done,
                              static_cast<off_t>(offset + done));
    if (n < 0) return common::ErrnoError("read", path);
    if (n == 0) return Status::IOError(fmt::format("{}: shorter than expected", path.string()));
    done += static_cast<std::uint64_t>(n);
  }
  return bytes;
}

Status CheckStored(const S3Client& client, const UploadPlan& plan) {
  Result<ObjectHead> head = client.Head(plan.url);
  if (!head.ok()) return head.status().WithContext("checking the upload");
  if (head->bytes != plan.digest.bytes || head->sha256 != plan.digest.sha256_hex) {
    return Status::ExpectationFailed(fmt::format(
        "{} holds {} bytes with sha256 '{}' after the upload; sent {} bytes with sha256 {}",
        plan.url.ToString(), head->bytes, head->sha256, plan.digest.bytes,
        plan.digest.sha256_hex));
  }
  return Status::Ok();
}

Status CheckSentDigest(const UploadPlan& plan, Sha256Stream& sent) {
  const std::string hex = ToHex(sent.Finish());
  if (hex == plan.digest.sha256_hex) return Status::Ok();
  return Status::ExpectationFailed(fmt::format(
      "{} changed during the upload (sha256 {} sent, {} when it was staged)", plan.file.string(),
      hex, plan.digest.sha256_hex));
}

// Reads the object's `bytes` in ranges, in order, handing each to `sink`; stops at the first
// error, or early when the object turns out shorter (the caller compares sizes).
Status ForEachRange(const S3Client& client, const ObjectUrl& url, std::uint64_t bytes,
                    const std::function<Status(std::string_view)>& sink) {
  for (std::uint64_t offset = 0; offset < bytes; offset += kDownloadChunk) {
    Result<std::string> chunk =
        client.GetRange(url, offset, std::min(kDownloadChunk, bytes - offset));
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) break;
    BACKOUT_RETURN_IF_ERROR(sink(*chunk));
  }
  return Status::Ok();
}

}  // namespace

Result<UploadResult> UploadFile(const S3Client& client, const UploadPlan& plan,
                                const ProgressFn& progress) {
  const UniqueFd fd(::open(plan.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return common::ErrnoError("open", plan.file);
  const auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  UploadResult result;
  Sha256Stream sent;
  if (plan.digest.bytes <= plan.part_size) {
    Result<std::string> body = ReadAt(fd.get(), plan.file, 0, plan.digest.bytes);
    if (!body.ok()) return body.status();
    sent.Update(*body);
    BACKOUT_RETURN_IF_ERROR(CheckSentDigest(plan, sent));
    BACKOUT_RETURN_IF_ERROR(client.Put(plan.url, *body, plan.digest.sha256_hex));
    BACKOUT_RETURN_IF_ERROR(CheckStored(client, plan));
    return result;
  }

  MultipartProgress record = ProgressFrom(plan);
  if (record.upload_id.empty()) {
    Result<std::string> upload = client.CreateMultipartUpload(plan.url, plan.digest.sha256_hex);
    if (!upload.ok()) return upload.status();
    record.upload_id = std::move(upload).value();
    BACKOUT_RETURN_IF_ERROR(Checkpoint(plan, {{"upload", plan.url.ToString()},
                                              {"upload_id", record.upload_id},
                                              {"sha256", plan.digest.sha256_hex},
                                              {"bytes", plan.digest.bytes},
                                              {"part_size", plan.part_size}}));
  }
  const auto count = static_cast<int>((plan.digest.bytes + plan.part_size - 1) / plan.part_size);
  result.parts = count;
  for (int number = 1; number <= count; ++number) {
    const std::uint64_t offset = static_cast<std::uint64_t>(number - 1) * plan.part_size;
    const std::uint64_t length = std::min(plan.part_size, plan.digest.bytes - offset);
    Result<std::string> body = ReadAt(fd.get(), plan.file, offset, length);
    if (!body.ok()) return body.status();
    sent.Update(*body);
    if (static_cast<std::size_t>(number) <= record.parts.size()) {
      ++result.parts_resumed;  // acknowledged by an earlier attempt: hashed, not sent
      continue;
    }
    Result<std::string> etag = client.UploadPart(plan.url, record.upload_id, number, *body);
    if (!etag.ok()) return etag.status();
    record.parts.push_back({number, std::move(etag).value(), length});
    BACKOUT_RETURN_IF_ERROR(Checkpoint(plan, {{"upload_id", record.upload_id},
                                              {"part", number},
                                              {"etag", record.parts.back().etag},
                                              {"bytes", length}}));
    say(fmt::format("uploaded part {}/{} of {}", number, count, plan.url.ToString()));
  }
  BACKOUT_RETURN_IF_ERROR(CheckSentDigest(plan, sent));
  BACKOUT_RETURN_IF_ERROR(
      client.CompleteMultipartUpload(plan.url, record.upload_id, record.parts));
  BACKOUT_RETURN_IF_ERROR(CheckStored(client, plan));
  return result;
}

Result<FileDigest> DownloadFile(const S3Client& client, const ObjectUrl& url,
                                const fs::path& to, const std::string& expected_sha256,
                                const ProgressFn& progress) {
  Result<ObjectHead> head = client.Head(url);
  if (!head.ok()) return head.status();
  const std::string expected = expected_sha256.empty() ? head->sha256 : expected_sha256;
  if (expected.empty()) {
    return Status::FailedPrecondition(fmt::format(
        "{} records no sha256 (not uploaded by backout): give the restore a `sha256:` to "
        "check it against",
        url.ToString()));
  }
  if (!head->sha256.empty() && head->sha256 != expected) {
    return Status::ExpectationFailed(
        fmt::format("{} records sha256 {}, expected {}: not downloaded", url.ToString(),
                    head->sha256, expected));
  }
  common::StreamedFile file(to, ".download");
  BACKOUT_RETURN_IF_ERROR(file.Open());
  std::uint64_t received = 0;
  BACKOUT_RETURN_IF_ERROR(ForEachRange(client, url, head->bytes, [&](std::string_view chunk) {
    received += chunk.size();
    if (progress) {
      progress(fmt::format("downloaded {} of {} bytes of {}", received, head->bytes,
                           url.ToString()));
    }
    return file.Append(chunk);
  }));
  Result<FileDigest> digest = file.Commit();  // a short object is caught below
  if (!digest.ok()) return digest.status();
  if (digest->bytes != head->bytes || digest->sha256_hex != expected) {
    std::error_code ignored;
    fs::remove(to, ignored);
    return Status::ExpectationFailed(fmt::format(
        "{} downloaded as {} bytes with sha256 {}; expected {} bytes with sha256 {}",
        url.ToString(), digest->bytes, digest->sha256_hex, head->bytes, expected));
  }
  return digest;
}

Result<FileDigest> ReadBackDigest(const S3Client& client, const ObjectUrl& url) {
  Result<ObjectHead> head = client.Head(url);
  if (!head.ok()) return head.status();
  Sha256Stream hash;
  FileDigest digest;
  BACKOUT_RETURN_IF_ERROR(ForEachRange(client, url, head->bytes, [&](std::string_view chunk) {
    hash.Update(chunk);
    digest.bytes += chunk.size();
    return Status::Ok();
  }));
  digest.sha256_hex = ToHex(hash.Finish());
  return digest;
}

}  // namespace backout::adapters::object_store
