// Small durable-file helpers built on POSIX calls.
//
// Crash semantics: WriteFileAtomically either leaves the old file in place or the complete
// new one, never a mix: it writes a temp file beside the target, fsyncs it, renames it over
// the target and fsyncs the directory.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backout {

Result<std::string> ReadFileToString(const std::filesystem::path& path);

// The new file gets exactly `mode` (umask does not apply), so a caller can keep the mode of
// the file it replaces. The temp file is `path` + ".tmp-backout"; one left by a crash is
// replaced by the next write to the same path.
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned int mode = 0600);

// fsync of a file or directory by path.
Status SyncPath(const std::filesystem::path& path);

// mkdir -p with mode 0700 for every directory it creates.
Status CreatePrivateDirectories(const std::filesystem::path& dir);

}  // namespace backout
