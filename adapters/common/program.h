// Program lookup the way execvp() does it, done once by us before a child is started (and by
// the command preflight, which must find what the step would start): a name with a '/' is a
// path, relative to the child's working directory; a bare name is searched in a PATH.
//
// Thread safety: pure functions of their arguments and the file system.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backout::adapters::common {

// execvp's search path when PATH is unset (glibc's confstr(_CS_PATH)).
inline constexpr std::string_view kDefaultSearchPath = "/bin:/usr/bin";

// True when `path` is a regular file we may execute.
bool IsExecutableFile(const std::filesystem::path& path);

// Where a bare `program` name (no '/') is found in `search_path` (colon-separated; an empty
// entry is "."; relative entries are relative to `cwd`, which may be empty: ours). The first
// executable regular file wins, as with execvp.
//   kNotFound  "...: No such file or directory" when no entry holds such a file;
//   kIOError   "...: Permission denied" when an entry holds one we may not execute.
// The messages start with `what` ("cannot run 'true'").
Result<std::filesystem::path> SearchProgram(std::string_view what, std::string_view program,
                                            std::string_view search_path,
                                            const std::filesystem::path& cwd);

}  // namespace backout::adapters::common
