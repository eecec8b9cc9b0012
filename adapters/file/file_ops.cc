// The `file` target: copy, restore, set_env and unset_env on files inside the target's root.
#include <fmt/format.h>

#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "adapters/common/files.h"
#include "adapters/file/env_file.h"
#include "adapters/file/file_actions.h"
#include "adapters/file/fs_util.h"
#include "adapters/file/params.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "base/utf8.h"

namespace backout::adapters::file {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::string_view kAbsent = "absent";

// The target's root directory, with symbolic links resolved.
class Root {
 public:
  static Result<Root> Open(const Invocation& invocation) {
    const std::string root = invocation.target.value("root", std::string("."));
    const fs::path dir = common::ResolvePath(invocation.base_dir, root);
    std::error_code error;
    fs::path real = fs::canonical(dir, error);
    if (error || !fs::is_directory(real, error)) {
      return Status::NotFound(fmt::format("file target root {} is not a directory", dir.string()));
    }
    return Root(std::move(real));
  }

  // Where `relative` (checked: relative, no leading "..") leads, with symbolic links resolved
  // as far as the path exists. Refuses paths that a link takes outside the root: the plan
  // names files inside the root only.
  Result<fs::path> Locate(const std::string& relative) const {
    std::error_code error;
    fs::path real = fs::weakly_canonical(dir_ / relative, error);
    if (error) {
      return Status::IOError(fmt::format("{}: cannot resolve in {}: {}", relative, dir_.string(),
                                         error.message()));
    }
    if (!IsWithin(real, dir_)) {
      return Status::InvalidArgument(fmt::format(
          "{}: a symbolic link leads outside the target's root {}", relative, dir_.string()));
    }
    return real;
  }

  const fs::path& dir() const { return dir_; }

 private:
  explicit Root(fs::path dir) : dir_(std::move(dir)) {}
  fs::path dir_;
};

// An existing regular file's contents and mode.
struct Source {
  std::string contents;
  unsigned int mode = 0;
};

Result<Source> ReadRegularFile(const fs::path& path, const std::string& relative,
                               std::string_view what) {
  Result<Entry> entry = Inspect(path);
  if (!entry.ok()) return entry.status();
  if (entry->kind == Entry::Kind::kAbsent) {
    return Status::NotFound(fmt::format("{}: {} does not exist ({})", what, relative, path.string()));
  }
  if (entry->kind != Entry::Kind::kFile) {
    return Status::InvalidArgument(
        fmt::format("{}: {} is not a regular file ({})", what, relative, path.string()));
  }
  Result<std::string> contents = ReadFileToString(path);
  if (!contents.ok()) return contents.status();
  return Source{std::move(contents).value(), entry->mode};
}

// The destination as it is before the write: absent, or a regular file.
struct Destination {
  bool exists = false;
  unsigned int mode = 0;
  FileDigest digest;
};

Result<Destination> InspectDestination(const fs::path& path, const std::string& relative,
                                       std::string_view what) {
  Result<Entry> entry = Inspect(path);
  if (!entry.ok()) return entry.status();
  if (entry->kind == Entry::Kind::kAbsent) return Destination{};
  if (entry->kind != Entry::Kind::kFile) {
    return Status::InvalidArgument(
        fmt::format("{}: {} is not a regular file ({})", what, relative, path.string()));
  }
  Result<FileDigest> digest = Sha256File(path);
  if (!digest.ok()) return digest.status();
  return Destination{true, entry->mode, std::move(digest).value()};
}

Result<FileDigest> WriteAndDigest(const fs::path& path, std::string_view contents,
                                  unsigned int mode) {
  BACKOUT_RETURN_IF_ERROR(WriteFileAtomically(path, contents, mode));
  return Sha256File(path);  // what is on disk now, read back
}

// copy and restore: one code path; they differ in what they accept (see file.md).
Result<json> CopyFile(const Root& root, const json& spec, Operation operation) {
  const std::string_view what = OperationName(operation);
  const std::string& from_rel = Text(spec.at("from"));
  const std::string& to_rel = Text(spec.at("to"));
  Result<fs::path> from = root.Locate(from_rel);
  if (!from.ok()) return from.status();
  Result<fs::path> to = root.Locate(to_rel);
  if (!to.ok()) return to.status();
  if (*from == *to) {
    return Status::InvalidArgument(
        fmt::format("{}: {} and {} are the same file ({})", what, from_rel, to_rel, to->string()));
  }
  Result<Source> source = ReadRegularFile(*from, from_rel, what);
  if (!source.ok()) return source.status();
  const std::string sha256 = Sha256Hex(source->contents);
  BACKOUT_RETURN_IF_ERROR(
      common::CheckRecordedDigest(spec, fmt::format("{}: {}", what, from_rel), sha256));
  Result<Destination> before = InspectDestination(*to, to_rel, what);
  if (!before.ok()) return before.status();
  const bool changed = !before->exists || before->digest.sha256_hex != sha256;
  if (operation == Operation::kCopy && before->exists && changed &&
      !spec.value("overwrite", false)) {
    return Status::FailedPrecondition(
        fmt::format("copy: {} exists with other content (sha256 {}); it is left alone (set "
                    "overwrite: true to replace it, or use restore)",
                    to_rel, before->digest.sha256_hex));
  }
  // Never loosen the permissions of a file being replaced; a new file gets the source's.
  const unsigned int mode = before->exists ? before->mode : source->mode;
  FileDigest after = before->digest;
  if (changed) {
    BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(to->parent_path()));
    Result<FileDigest> written = WriteAndDigest(*to, source->contents, mode);
    if (!written.ok()) return written.status();
    after = std::move(written).value();
  }
  return json{{"operation", what},
              {"from", from_rel},
              {"to", to_rel},
              {"root", root.dir().string()},
              {"bytes", source->contents.size()},
              {"sha256", sha256},
              {"before_sha256", before->exists ? before->digest.sha256_hex : kAbsent},
              {"before_bytes", before->digest.bytes},
              {"after_sha256", after.sha256_hex},
              {"changed", changed},
              {"replaced", before->exists && changed},
              {"mode", FormatMode(mode)}};
}

// set_env and unset_env: parse, edit, write only when the text changed. The outputs name keys,
// never values (env files hold secrets).
Result<json> EditEnvFile(const Root& root, const json& spec, Operation operation) {
  const std::string_view what = OperationName(operation);
  const std::string& relative = Text(spec.at("path"));
  Result<fs::path> path = root.Locate(relative);
  if (!path.ok()) return path.status();
  Result<Source> source = ReadRegularFile(*path, relative, what);
  if (!source.ok()) return source.status();
  Result<EnvFile> parsed = EnvFile::Parse(source->contents, path->string());
  if (!parsed.ok()) return parsed.status().WithContext(std::string(what));
  EnvFile& env = *parsed;
  json outputs = {{"operation", what}, {"path", relative}, {"root", root.dir().string()}};
  std::vector<std::string> changed;
  if (operation == Operation::kSetEnv) {
    // nlohmann::json keeps keys sorted: keys that are added are appended in that order.
    std::vector<std::string> added;
    std::vector<std::string> unchanged;
    for (const auto& [key, value] : spec.at("values").items()) {
      const EnvFile::Change change = env.Set(key, Text(value));
      if (change == EnvFile::Change::kUnchanged) {
        unchanged.push_back(key);
        continue;
      }
      changed.push_back(key);
      if (change == EnvFile::Change::kAdded) added.push_back(key);
    }
    outputs["added"] = added;
    outputs["unchanged"] = unchanged;
  } else {
    std::vector<std::string> absent;
    for (const json& key : spec.at("keys")) {
      if (env.Unset(Text(key))) {
        changed.push_back(Text(key));
      } else {
        absent.push_back(Text(key));
      }
    }
    outputs["absent"] = absent;
  }
  outputs["changed"] = changed;
  const std::string text = env.Render();
  const bool written = text != source->contents;
  FileDigest after{source->contents.size(), Sha256Hex(source->contents)};
  outputs["before_sha256"] = after.sha256_hex;
  if (written) {
    Result<FileDigest> digest = WriteAndDigest(*path, text, source->mode);
    if (!digest.ok()) return digest.status();
    after = std::move(digest).value();
  }
  outputs["after_sha256"] = after.sha256_hex;
  outputs["bytes"] = after.bytes;
  outputs["written"] = written;
  outputs["mode"] = FormatMode(source->mode);
  return outputs;
}

}  // namespace

Result<json> RunFileOperation(const Invocation& invocation) {
  Result<Root> root = Root::Open(invocation);
  if (!root.ok()) return root.status();
  const Operation operation = OperationOf(invocation.params);
  const json& spec = invocation.params.at(std::string(OperationName(operation)));
  switch (operation) {
    case Operation::kCopy:
    case Operation::kRestore:
      return CopyFile(*root, spec, operation);
    case Operation::kSetEnv:
    case Operation::kUnsetEnv:
      return EditEnvFile(*root, spec, operation);
  }
  return Status::InvalidArgument("unknown file operation");  // unreachable: validated
}

}  // namespace backout::adapters::file
