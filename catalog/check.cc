#include "catalog/check.h"

#include <fmt/format.h>

#include <filesystem>
#include <system_error>

#include "base/sha256.h"

namespace backout::catalog {
namespace {

namespace fs = std::filesystem;

Finding NoStore(const Backup& backup) {
  return {Condition::kUnknown,
          fmt::format("{} is in object storage, and no object store is configured here",
                      backup.location)};
}

Finding SizeFinding(const Backup& backup, std::uint64_t bytes) {
  if (bytes == backup.bytes) return {Condition::kPresent, ""};
  return {Condition::kChanged,
          fmt::format("{} bytes there, {} journaled", bytes, backup.bytes)};
}

Finding DigestFinding(const Backup& backup, std::uint64_t bytes, const std::string& sha256) {
  if (bytes == backup.bytes && sha256 == backup.sha256) return {Condition::kIntact, ""};
  return {Condition::kChanged, fmt::format("{} bytes with sha256 {} there, {} bytes with {} "
                                           "journaled",
                                           bytes, sha256, backup.bytes, backup.sha256)};
}

Finding LookLocal(const Backup& backup) {
  std::error_code ec;
  const fs::file_status status = fs::status(backup.location, ec);
  if (status.type() == fs::file_type::not_found) return {Condition::kMissing, ""};
  if (ec) return {Condition::kUnknown, fmt::format("{}: {}", backup.location, ec.message())};
  if (backup.folder) {
    if (fs::is_directory(status)) return {Condition::kPresent, "a folder: not re-hashed"};
    return {Condition::kChanged, "not a folder"};
  }
  if (!fs::is_regular_file(status)) return {Condition::kChanged, "not a regular file"};
  const std::uintmax_t bytes = fs::file_size(backup.location, ec);
  if (ec) return {Condition::kUnknown, fmt::format("{}: {}", backup.location, ec.message())};
  return SizeFinding(backup, bytes);
}

Finding VerifyLocal(const Backup& backup) {
  Finding looked = LookLocal(backup);
  if (looked.condition != Condition::kPresent || backup.folder) return looked;
  Result<FileDigest> digest = Sha256File(backup.location);
  if (!digest.ok()) return {Condition::kUnknown, digest.status().message()};
  return DigestFinding(backup, digest->bytes, digest->sha256_hex);
}

}  // namespace

std::string_view ToString(Condition condition) {
  switch (condition) {
    case Condition::kPresent: return "present";
    case Condition::kIntact: return "intact";
    case Condition::kMissing: return "missing";
    case Condition::kChanged: return "changed";
    case Condition::kDeleted: return "deleted";
    case Condition::kUnknown: return "unknown";
  }
  return "unknown";
}

Finding Look(const Backup& backup, ObjectStore* store) {
  if (backup.deleted) return {Condition::kDeleted, ""};
  if (!backup.IsObject()) return LookLocal(backup);
  if (store == nullptr) return NoStore(backup);
  Result<std::optional<std::uint64_t>> head = store->Head(backup.location, backup.store_settings);
  if (!head.ok()) return {Condition::kUnknown, head.status().message()};
  if (!head->has_value()) return {Condition::kMissing, ""};
  return SizeFinding(backup, **head);
}

Finding Verify(const Backup& backup, ObjectStore* store) {
  if (backup.deleted) return {Condition::kDeleted, ""};
  if (!backup.IsObject()) return VerifyLocal(backup);
  if (store == nullptr) return NoStore(backup);
  Result<ObjectDigest> digest = store->Hash(backup.location, backup.store_settings);
  if (digest.status().code() == Code::kNotFound) return {Condition::kMissing, ""};
  if (!digest.ok()) return {Condition::kUnknown, digest.status().message()};
  return DigestFinding(backup, digest->bytes, digest->sha256);
}

Result<std::string> Delete(const Backup& backup, ObjectStore* store) {
  if (backup.folder) {
    return Status::FailedPrecondition(
        fmt::format("{} is a folder (json_store backup): prune does not delete folders; remove "
                    "it by hand if it is no longer needed",
                    backup.location));
  }
  if (backup.IsObject() && store == nullptr) {
    return Status::Unavailable(NoStore(backup).detail);
  }
  const Finding found = Verify(backup, store);
  if (found.condition == Condition::kMissing) return std::string("already_absent");
  if (found.condition != Condition::kIntact) {
    return Status::FailedPrecondition(fmt::format(
        "{} was not deleted: it is {}{}{}", backup.location, ToString(found.condition),
        found.detail.empty() ? "" : ": ", found.detail));
  }
  if (backup.IsObject()) {
    if (Status deleted = store->Delete(backup.location, backup.store_settings); !deleted.ok()) return deleted;
    return std::string("deleted");
  }
  std::error_code ec;
  if (!fs::remove(backup.location, ec) && ec) {
    return Status::IOError(fmt::format("delete {}: {}", backup.location, ec.message()));
  }
  return std::string("deleted");
}

}  // namespace backout::catalog
