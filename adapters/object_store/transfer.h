// Moving one backup file to and from object storage, resumably.
//
// Upload: a file of at most one part goes up with one PUT; a larger one in parts
// (multipart upload). The upload id and every part the store acknowledged are journaled as
// checkpoints of the step (UploadPlan::checkpoint: StepCheckpoint events, docs/events.md), so
// an upload stopped by a crash, a kill or a cancel resumes where it stopped when the step's
// next attempt hands them back (UploadPlan::earlier): the acknowledged parts are not sent
// again, only read and hashed. The file's sha256 is computed while its bytes are sent and
// must equal the one the upload started with (the file did not change under it); when the
// upload completes, the store's HEAD must report the same size and that sha256 (stored as the
// object's metadata, x-amz-meta-sha256).
//
// Download: the object is read in ranges into a new file (StreamedFile: complete or absent)
// and hashed on the way; it must have the size the store reported and the expected sha256,
// else kExpectationFailed and no file is left.
//
// Progress lines go to `progress` (may be empty): one per part.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/object_store/s3_client.h"
#include "base/sha256.h"
#include "base/status.h"

namespace backout::adapters::object_store {

using ProgressFn = std::function<void(std::string_view)>;

struct UploadPlan {
  ObjectUrl url;
  std::filesystem::path file;  // the staged file
  FileDigest digest;           // its size and sha256, computed before the upload started
  std::uint64_t part_size = 8ULL << 20;
  // The checkpoints earlier attempts journaled (adapters::Invocation::checkpoints): the last
  // multipart upload of this file (same key, sha256, size and part size) they started goes on
  // from the parts they name. Others are ignored: such an upload starts afresh.
  nlohmann::json earlier = nlohmann::json::array();
  // Journals a checkpoint (adapters::Invocation::checkpoint): {"upload": URL, "upload_id",
  // "sha256", "bytes", "part_size"} once the store gave the upload its id, then
  // {"upload_id", "part", "etag", "bytes"} for each part it acknowledged. Empty: nothing is
  // journaled, and a later attempt starts afresh. An error from it stops the upload.
  std::function<Status(const nlohmann::json&)> checkpoint;
};

struct UploadResult {
  int parts = 0;          // 0: one PUT
  int parts_resumed = 0;  // parts acknowledged by an earlier attempt and not sent again
};

// Uploads (or finishes uploading) `plan.file` to `plan.url`, then checks the store's HEAD.
Result<UploadResult> UploadFile(const S3Client& client, const UploadPlan& plan,
                                const ProgressFn& progress);

// Downloads `url` into the new file `to`. `expected_sha256` ("" = the object's
// x-amz-meta-sha256; kFailedPrecondition when that is missing too: a restore never runs on
// bytes it could not check).
Result<FileDigest> DownloadFile(const S3Client& client, const ObjectUrl& url,
                                const std::filesystem::path& to,
                                const std::string& expected_sha256,
                                const ProgressFn& progress);

// The size and sha256 of an object as read back from the store (ranged GETs, nothing
// written), whatever its metadata says: for re-hashing a remote backup (`backups verify`).
Result<FileDigest> ReadBackDigest(const S3Client& client, const ObjectUrl& url);

}  // namespace backout::adapters::object_store
