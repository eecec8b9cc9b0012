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

// What the record file holds: the upload it belongs to and the parts acknowledged so far.
struct UploadRecord {
  std::string url;
  std::string sha256;
  std::uint64_t bytes = 0;
  std::uint64_t part_size = 0;
  std::string upload_id;
  std::vector<UploadedPart> parts;
};

json ToJson(const UploadRecord& record) {
  json parts = json::array();
  for (const UploadedPart& part : record.parts) {
    parts.push_back({{"number", part.number}, {"etag", part.etag}, {"bytes", part.bytes}});
  }
  return {{"url", record.url},         {"sha256", record.sha256},
          {"bytes", record.bytes},     {"part_size", record.part_size},
          {"upload_id", record.upload_id}, {"parts", parts}};
}

// The record of an earlier attempt at the same upload of the same file, if any. A record
// that cannot be read, or is of another upload, is ignored: the upload starts afresh.
std::optional<UploadRecord> ReadRecord(const UploadPlan& plan) {
  Result<std::string> text = ReadFileToString(plan.record);
  if (!text.ok()) return std::nullopt;
  const json j = json::parse(*text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  UploadRecord record;
  try {
    record.url = j.at("url").get<std::string>();
    record.sha256 = j.at("sha256").get<std::string>();
    record.bytes = j.at("bytes").get<std::uint64_t>();
    record.part_size = j.at("part_size").get<std::uint64_t>();
    record.upload_id = j.at("upload_id").get<std::string>();
    for (const json& part : j.at("parts")) {
      record.parts.push_back({part.at("number").get<int>(), part.at("etag").get<std::string>(),
                              part.at("bytes").get<std::uint64_t>()});
    }
  } catch (const json::exception&) {
    return std::nullopt;
  }
  if (record.url != plan.url.ToString() || record.sha256 != plan.digest.sha256_hex ||
      record.bytes != plan.digest.bytes || record.part_size != plan.part_size) {
    return std::nullopt;
  }
  return record;
}

Status WriteRecord(const UploadPlan& plan, const UploadRecord& record) {
  return WriteFileAtomically(plan.record, ToJson(record).dump());
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

  UploadRecord record;
  if (std::optional<UploadRecord> earlier = ReadRecord(plan)) {
    record = std::move(*earlier);
  } else {
    record = {plan.url.ToString(), plan.digest.sha256_hex, plan.digest.bytes, plan.part_size,
              "", {}};
  }
  if (record.upload_id.empty()) {
    Result<std::string> upload = client.CreateMultipartUpload(plan.url, plan.digest.sha256_hex);
    if (!upload.ok()) return upload.status();
    record.upload_id = std::move(upload).value();
    BACKOUT_RETURN_IF_ERROR(WriteRecord(plan, record));
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
    BACKOUT_RETURN_IF_ERROR(WriteRecord(plan, record));
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
