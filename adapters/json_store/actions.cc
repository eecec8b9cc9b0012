// The `json_store` target: a folder of JSON files, one per collection (NAME.json holding an
// array of records or an object of id -> record). backup, restore, baseline, verify.
#include <fmt/format.h>
#include <fcntl.h>  // AT_FDCWD
#include <stdio.h>  // renameat2, RENAME_EXCHANGE
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/common/files.h"
#include "adapters/common/run.h"
#include "adapters/common/stop.h"
#include "adapters/common/verify.h"
#include "adapters/file/fs_util.h"
#include "adapters/json_store/actions.h"
#include "adapters/json_store/params.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "base/utf8.h"

namespace backout::adapters::json_store {
namespace {

using common::AsCount;
using file::Entry;
using file::Inspect;
using file::IsWithin;

namespace fs = std::filesystem;
using common::FromResult;
using nlohmann::json;
using common::CheckResult;
using common::CheckResults;
using common::ErrnoError;
using common::StopCondition;

constexpr std::string_view kCollectionSuffix = ".json";

fs::path CollectionFile(const fs::path& store, const std::string& name) {
  return store / (name + std::string(kCollectionSuffix));
}

// "line 3, column 7" of the 1-based byte offset `byte` in `text`.
std::string Position(std::string_view text, std::size_t byte) {
  const std::size_t end = std::min(byte == 0 ? 0 : byte - 1, text.size());
  const std::string_view before = text.substr(0, end);
  const std::size_t line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t last_newline = before.rfind('\n');
  const std::size_t column = last_newline == std::string_view::npos ? end + 1 : end - last_newline;
  return fmt::format("line {}, column {}", line + 1, column);
}

// nlohmann's reason without its "last read: '...'" quote of the data, which may be private.
std::string ParseReason(const std::string& what) {
  std::string reason = what;
  if (const std::size_t colon = reason.find(": "); colon != std::string::npos) {
    reason = reason.substr(colon + 2);
  }
  if (const std::size_t quote = reason.find("; last read"); quote != std::string::npos) {
    reason.resize(quote);
  }
  return reason;
}

// A collection's figures: how many records, and a checksum of their contents that does not
// depend on their order (nor on the order of keys inside a record: a record's fields compare
// by name already).
struct Collection {
  std::int64_t records = 0;
  std::string checksum;  // empty when not asked for
};

// Reads and parses one collection file, with its checksum when `with_checksum`. A file that
// is not JSON, or not an array or object, is an IOError naming the file and the position.
Result<Collection> LoadCollection(const fs::path& file, bool with_checksum) {
  Result<std::string> text = ReadFileToString(file);
  if (!text.ok()) return text.status();
  json data;
  try {
    data = json::parse(*text);
  } catch (const json::parse_error& error) {
    return Status::IOError(fmt::format("{}: invalid JSON at {} (byte {}): {}", file.string(),
                                       Position(*text, error.byte), error.byte,
                                       ParseReason(error.what())));
  }
  if (!data.is_array() && !data.is_object()) {
    return Status::IOError(fmt::format("{}: not a collection: expected an array of records or an "
                                       "object of id -> record, found {}",
                                       file.string(), data.type_name()));
  }
  if (!with_checksum) return Collection{static_cast<std::int64_t>(data.size()), ""};
  // Each record's digest over its canonical text (object keys sorted, no spaces), an id's
  // record as [id, record]; the checksum hashes the sorted digests, so order does not matter
  // but every record counts, duplicates included.
  std::vector<Digest> digests;
  digests.reserve(data.size());
  for (const auto& [id, record] : data.items()) {
    const json canonical = data.is_object() ? json::array({id, record}) : record;
    digests.push_back(Sha256(canonical.dump(-1, ' ', false, json::error_handler_t::replace)));
  }
  std::sort(digests.begin(), digests.end());
  Sha256Stream stream;
  for (const Digest& digest : digests) {
    stream.Update(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  }
  return Collection{static_cast<std::int64_t>(data.size()), ToHex(stream.Finish())};
}

json Figures(const Collection& collection) {
  if (collection.checksum.empty()) return {{"records", collection.records}};
  return {{"records", collection.records}, {"checksum", collection.checksum}};
}

Status RequireStore(const fs::path& store) {
  Result<Entry> entry = Inspect(store);
  if (!entry.ok()) return entry.status();
  if (entry->kind != Entry::Kind::kDirectory) {
    return Status::NotFound(fmt::format("json_store {} is not a directory", store.string()));
  }
  return Status::Ok();
}

// Sorted names of the collections: regular files NAME.json directly in `store`, not hidden.
Result<std::vector<std::string>> CollectionNames(const fs::path& store) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(store, error), end; !error && it != end; it.increment(error)) {
    const std::string file = it->path().filename().string();
    std::error_code type_error;
    if (file.starts_with('.') || !file.ends_with(kCollectionSuffix) ||
        !it->is_regular_file(type_error)) {
      continue;
    }
    names.push_back(file.substr(0, file.size() - kCollectionSuffix.size()));
  }
  if (error) {
    return Status::IOError(fmt::format("cannot list {}: {}", store.string(), error.message()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// For DescribeCollections: a backup or restore describes every collection in full.
bool EveryChecksum(const std::string&) { return true; }

// {NAME: {records, checksum}} for every collection of `store` (the checksum of those
// `with_checksum` is true for).
Result<json> DescribeCollections(const fs::path& store, const StopCondition& stop,
                                 const std::function<bool(const std::string&)>& with_checksum) {
  Result<std::vector<std::string>> names = CollectionNames(store);
  if (!names.ok()) return names.status();
  json collections = json::object();
  for (const std::string& name : *names) {
    BACKOUT_RETURN_IF_ERROR(stop.Check());
    Result<Collection> collection = LoadCollection(CollectionFile(store, name), with_checksum(name));
    if (!collection.ok()) return collection.status();
    collections[name] = Figures(*collection);
  }
  return collections;
}

// The files and directories of a tree, relative to its root, parents before children.
struct TreeEntry {
  fs::path relative;
  bool directory = false;
};

Result<std::vector<TreeEntry>> ListTree(const fs::path& root) {
  std::vector<TreeEntry> entries;
  std::error_code error;
  for (fs::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code type_error;
    const fs::file_status status = it->symlink_status(type_error);
    if (type_error) {
      return Status::IOError(fmt::format("{}: {}", it->path().string(), type_error.message()));
    }
    if (!fs::is_regular_file(status) && !fs::is_directory(status)) {
      return Status::InvalidArgument(
          fmt::format("{} is neither a regular file nor a directory (a json_store holds only "
                      "those; symbolic links are not followed)",
                      it->path().string()));
    }
    entries.push_back({it->path().lexically_relative(root), fs::is_directory(status)});
  }
  if (error) {
    return Status::IOError(fmt::format("cannot list {}: {}", root.string(), error.message()));
  }
  // By the path as text (as `LC_ALL=C sort` orders it), which also puts parents first.
  std::sort(entries.begin(), entries.end(), [](const TreeEntry& a, const TreeEntry& b) {
    return a.relative.generic_string() < b.relative.generic_string();
  });
  return entries;
}

// A whole folder's digest: SHA-256 of its `sha256sum`-style listing ("<hex>  <path>\n" per
// regular file, sorted by relative path), and the total size of its files.
struct TreeDigest {
  std::uint64_t bytes = 0;
  std::int64_t files = 0;
  std::string sha256;
};

Result<TreeDigest> DigestTree(const fs::path& root, const StopCondition& stop) {
  Result<std::vector<TreeEntry>> entries = ListTree(root);
  if (!entries.ok()) return entries.status();
  TreeDigest tree;
  Sha256Stream listing;
  for (const TreeEntry& entry : *entries) {
    if (entry.directory) continue;
    BACKOUT_RETURN_IF_ERROR(stop.Check());
    Result<FileDigest> digest = Sha256File(root / entry.relative);
    if (!digest.ok()) return digest.status();
    listing.Update(fmt::format("{}  {}\n", digest->sha256_hex, entry.relative.generic_string()));
    tree.bytes += digest->bytes;
    ++tree.files;
  }
  tree.sha256 = ToHex(listing.Finish());
  return tree;
}

Status MakeDirectory(const fs::path& dir, unsigned int mode) {
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("cannot create directory", dir);
  if (::chmod(dir.c_str(), static_cast<mode_t>(mode)) != 0) return ErrnoError("chmod", dir);
  return Status::Ok();
}

// Copies the tree at `from` to `to` (which must not exist), keeping every mode; every file
// and directory is synced before it returns, so a later rename publishes a durable copy.
Status CopyTree(const fs::path& from, const fs::path& to, const StopCondition& stop) {
  Result<Entry> root = Inspect(from);
  if (!root.ok()) return root.status();
  Result<std::vector<TreeEntry>> entries = ListTree(from);
  if (!entries.ok()) return entries.status();
  BACKOUT_RETURN_IF_ERROR(MakeDirectory(to, root->mode));
  std::vector<fs::path> directories = {to};
  for (const TreeEntry& entry : *entries) {
    BACKOUT_RETURN_IF_ERROR(stop.Check());
    Result<Entry> source = Inspect(from / entry.relative);
    if (!source.ok()) return source.status();
    if (entry.directory) {
      BACKOUT_RETURN_IF_ERROR(MakeDirectory(to / entry.relative, source->mode));
      directories.push_back(to / entry.relative);
      continue;
    }
    Result<std::string> contents = ReadFileToString(from / entry.relative);
    if (!contents.ok()) return contents.status();
    BACKOUT_RETURN_IF_ERROR(WriteFileAtomically(to / entry.relative, *contents, source->mode));
  }
  for (const fs::path& dir : directories) BACKOUT_RETURN_IF_ERROR(SyncPath(dir));
  return Status::Ok();
}

// Removes what a failed or crashed attempt left at `path`; nothing there is the usual case.
void RemoveLeftover(const fs::path& path) {
  std::error_code ignored;
  fs::remove_all(path, ignored);
}

// Puts the complete tree at `staging` in place of `store` and returns where the old store
// went (empty when there was none). With renameat2(RENAME_EXCHANGE) `store` never stops
// existing; file systems without it get two renames, between which `store` is missing.
Result<fs::path> SwapIntoPlace(const fs::path& staging, const fs::path& store, bool store_exists,
                               const fs::path& aside) {
  if (!store_exists) {
    if (::rename(staging.c_str(), store.c_str()) != 0) return ErrnoError("cannot rename to", store);
    return fs::path();
  }
  if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, store.c_str(), RENAME_EXCHANGE) == 0) {
    return staging;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    return ErrnoError("cannot exchange the restored copy with", store);
  }
  if (::rename(store.c_str(), aside.c_str()) != 0) return ErrnoError("cannot move aside", store);
  if (::rename(staging.c_str(), store.c_str()) != 0) return ErrnoError("cannot rename to", store);
  return aside;
}

// What every action works with.
struct StoreContext {
  explicit StoreContext(const Invocation& invocation_in)
      : invocation(invocation_in),
        params(invocation_in.params),
        store(common::ResolvePath(invocation_in.base_dir, Text(invocation_in.target.at("path")))),
        stop(invocation_in.cancel, invocation_in.timeout, common::kPlainStopWording,
             invocation_in.env) {}

  fs::path Resolve(const json& path) const { return common::ResolvePath(invocation.base_dir, Text(path)); }

  const Invocation& invocation;
  const json& params;
  fs::path store;
  StopCondition stop;
};

Result<json> Backup(const StoreContext& context) {
  BACKOUT_RETURN_IF_ERROR(RequireStore(context.store));
  const fs::path to = context.Resolve(context.params.at("to"));
  std::error_code ignored;  // a path that cannot be resolved is compared as written
  const fs::path real_to = fs::weakly_canonical(to, ignored);
  if (IsWithin(real_to.empty() ? to : real_to, fs::canonical(context.store, ignored))) {
    return Status::InvalidArgument(fmt::format(
        "backup: {} is inside the store {}; put backups elsewhere", to.string(),
        context.store.string()));
  }
  // Figures first, from the store itself, so errors name its files (the store must not be
  // written meanwhile: stop the application first).
  Result<json> collections = DescribeCollections(context.store, context.stop, EveryChecksum);
  if (!collections.ok()) return collections.status().WithContext("backup");
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(to));
  const fs::path final_path =
      to / common::BackupName(context.store.filename().string(), context.invocation);
  const fs::path partial = final_path.string() + ".partial";
  RemoveLeftover(partial);
  Status copied = CopyTree(context.store, partial, context.stop);
  // A backup holds all the data: its folder is private whatever the store's mode.
  if (copied.ok() && ::chmod(partial.c_str(), 0700) != 0) copied = ErrnoError("chmod", partial);
  Result<TreeDigest> digest =
      copied.ok() ? DigestTree(partial, context.stop) : Result<TreeDigest>(copied);
  if (!digest.ok()) {
    RemoveLeftover(partial);
    return digest.status().WithContext("backup");
  }
  if (Status renamed = RenameDurably(partial, final_path); !renamed.ok()) {
    RemoveLeftover(partial);
    return renamed.WithContext("backup");
  }
  return json{{"path", final_path.string()},  {"bytes", digest->bytes},
              {"sha256", digest->sha256},     {"files", digest->files},
              {"source", context.store.string()}, {"collections", *collections}};
}

Result<json> Restore(const StoreContext& context) {
  const fs::path from = context.Resolve(context.params.at("from"));
  Result<Entry> source = Inspect(from);
  if (!source.ok()) return source.status();
  if (source->kind != Entry::Kind::kDirectory) {
    return Status::NotFound(
        fmt::format("restore: backup folder {} does not exist", from.string()));
  }
  std::error_code ignored;  // a store that does not exist is another folder
  if (fs::equivalent(from, context.store, ignored)) {
    return Status::InvalidArgument(
        fmt::format("restore: {} is the store itself", from.string()));
  }
  Result<TreeDigest> digest = DigestTree(from, context.stop);
  if (!digest.ok()) return digest.status().WithContext("restore");
  BACKOUT_RETURN_IF_ERROR(common::CheckRecordedDigest(
      context.params, fmt::format("restore: backup folder {}", from.string()), digest->sha256));
  // The backup must be a sound store before it replaces the live one.
  Result<json> collections = DescribeCollections(from, context.stop, EveryChecksum);
  if (!collections.ok()) {
    if (collections.status().code() != Code::kIOError) return collections.status();
    return Status::ExpectationFailed(fmt::format("restore: backup folder {} is not a sound "
                                                 "json_store: {}",
                                                 from.string(), collections.status().message()));
  }
  Result<Entry> store = Inspect(context.store);
  if (!store.ok()) return store.status();
  const bool store_exists = store->kind == Entry::Kind::kDirectory;
  if (store->kind != Entry::Kind::kAbsent && !store_exists) {
    return Status::InvalidArgument(
        fmt::format("restore: {} exists and is not a directory", context.store.string()));
  }
  json before = "absent";
  if (store_exists) {
    Result<TreeDigest> old = DigestTree(context.store, context.stop);
    if (!old.ok()) return old.status().WithContext("restore");
    before = old->sha256;
  }
  // Built beside the store (same file system, so the swap is a rename), under fixed names: an
  // earlier attempt that crashed left at most these behind, and they are garbage.
  const fs::path staging = context.store.string() + ".restore-backout";
  const fs::path aside = context.store.string() + ".replaced-backout";
  RemoveLeftover(staging);
  RemoveLeftover(aside);
  Status copied = CopyTree(from, staging, context.stop);
  // The store keeps its own permissions; a new one gets the backup folder's.
  if (copied.ok() && store_exists && ::chmod(staging.c_str(), store->mode) != 0) {
    copied = ErrnoError("chmod", staging);
  }
  if (!copied.ok()) {
    RemoveLeftover(staging);
    return copied.WithContext("restore");
  }
  Result<fs::path> old_store = SwapIntoPlace(staging, context.store, store_exists, aside);
  if (!old_store.ok()) {
    RemoveLeftover(staging);
    return old_store.status().WithContext("restore");
  }
  BACKOUT_RETURN_IF_ERROR(SyncPath(context.store.parent_path()));
  // The replaced data is no longer the store; a crash before this line leaves it under a
  // fixed name that the next restore removes.
  if (!old_store->empty()) RemoveLeftover(*old_store);
  return json{{"from", from.string()},          {"path", context.store.string()},
              {"bytes", digest->bytes},          {"sha256", digest->sha256},
              {"files", digest->files},          {"before_sha256", before},
              {"replaced", store_exists},        {"collections", *collections}};
}

Result<json> Baseline(const StoreContext& context) {
  BACKOUT_RETURN_IF_ERROR(RequireStore(context.store));
  const auto with_checksum = [&](const std::string& name) {
    return common::BaselineTakesChecksumOf(context.params, name);
  };
  if (!context.params.contains("collections")) {
    Result<json> all = DescribeCollections(context.store, context.stop, with_checksum);
    if (!all.ok()) return all.status().WithContext("baseline");
    return json{{"collections", *all}};
  }
  json collections = json::object();
  for (const json& name : context.params.at("collections")) {
    BACKOUT_RETURN_IF_ERROR(context.stop.Check());
    const fs::path file = CollectionFile(context.store, Text(name));
    Result<Entry> entry = Inspect(file);
    if (!entry.ok()) return entry.status();
    if (entry->kind != Entry::Kind::kFile) {
      return Status::NotFound(fmt::format("baseline: collection '{}' ({}) does not exist",
                                          Text(name), file.string()));
    }
    Result<Collection> collection = LoadCollection(file, with_checksum(Text(name)));
    if (!collection.ok()) return collection.status().WithContext("baseline");
    collections[Text(name)] = Figures(*collection);
  }
  return json{{"collections", std::move(collections)}};
}

// ---- verify -------------------------------------------------------------------------------

// Loads each collection once for all checks.
class CollectionCache {
 public:
  explicit CollectionCache(fs::path store) : store_(std::move(store)) {}

  // A missing collection is an answer ("no"), not a failure to evaluate.
  const Result<Collection>& Get(const std::string& name) {
    auto it = loaded_.find(name);
    if (it != loaded_.end()) return it->second;
    const fs::path file = CollectionFile(store_, name);
    Result<Entry> entry = Inspect(file);
    Result<Collection> loaded =
        !entry.ok() ? Result<Collection>(entry.status())
        : entry->kind != Entry::Kind::kFile
            ? Result<Collection>(Status::ExpectationFailed(
                  fmt::format("collection '{}' does not exist", name)))
            : LoadCollection(file, true);
    return loaded_.emplace(name, std::move(loaded)).first->second;
  }

 private:
  fs::path store_;
  std::map<std::string, Result<Collection>> loaded_;
};

// record_count and checksum: a figure of the collection now against the expected one.
CheckResult CompareFigure(const json& spec, Check kind, const json& baseline,
                          CollectionCache& cache) {
  const bool count = kind == Check::kRecordCount;
  const std::string& name = Text(spec.at("collection"));
  const json& equals = spec.at("equals");
  const Result<json> expected =
      equals == "baseline" ? common::BaselineFigure(baseline, "collections", "collection", name,
                                                    count ? "records" : "checksum")
      : count              ? Result<json>(json(*AsCount(equals)))
                           : Result<json>(equals);
  const Result<Collection>& collection = cache.Get(name);
  const Result<json> observed = !collection.ok() ? Result<json>(collection.status())
                                : count          ? Result<json>(json(collection->records))
                                                 : Result<json>(json(collection->checksum));
  return common::CompareFigure(fmt::format("{} {}", count ? "record_count" : "checksum", name),
                               equals, expected, observed);
}

void CollectionPresence(const StoreContext& context, const json& names, Check kind,
                        CheckResults* out) {
  common::PresenceChecks(names, kind == Check::kCollectionPresent, "collection",
                         [&](const std::string& name) -> Result<bool> {
                           Result<Entry> entry = Inspect(CollectionFile(context.store, name));
                           if (!entry.ok()) return entry.status();
                           return entry->kind == Entry::Kind::kFile;
                         },
                         out);
}

CheckResult ValidJson(const StoreContext& context, CollectionCache& cache) {
  CheckResult result("valid_json", "every collection parses");
  Result<std::vector<std::string>> names = CollectionNames(context.store);
  if (!names.ok()) {
    result.status = names.status();
    return result;
  }
  std::vector<std::string> problems;
  for (const std::string& name : *names) {
    const Result<Collection>& collection = cache.Get(name);
    if (!collection.ok()) problems.push_back(collection.status().message());
  }
  result.observed = problems.empty() ? json(fmt::format("{} collections parse", names->size()))
                                     : json(problems);
  result.status = common::FailedExpectations(problems);
  return result;
}

Outcome Verify(const StoreContext& context) {
  if (Status present = RequireStore(context.store); !present.ok()) return Outcome{present};
  const json baseline = context.invocation.baseline.value_or(json());
  CollectionCache cache(context.store);
  return common::RunEachCheck(
      context.params.at("checks"), context.stop, [&](const json& item, CheckResults* out) {
        const Check kind = *ParseCheck(item.begin().key());
        const json& spec = item.begin().value();
        switch (kind) {
          case Check::kRecordCount:
          case Check::kChecksum:
            return out->push_back(CompareFigure(spec, kind, baseline, cache));
          case Check::kCollectionPresent:
          case Check::kCollectionAbsent:
            return CollectionPresence(context, spec, kind, out);
          case Check::kValidJson:
            return out->push_back(ValidJson(context, cache));
        }
      });
}

}  // namespace

Outcome RunAction(const Invocation& invocation) {
  const StoreContext context(invocation);
  switch (*ParseAction(invocation.action)) {
    case Action::kBackup:
      return FromResult(Backup(context));
    case Action::kRestore:
      return FromResult(Restore(context));
    case Action::kBaseline:
      return FromResult(Baseline(context));
    case Action::kVerify:
      return Verify(context);
  }
  return Outcome{Status::InvalidArgument("unknown json_store action")};  // unreachable: validated
}

}  // namespace backout::adapters::json_store
