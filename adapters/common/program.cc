#include "adapters/common/program.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "adapters/common/files.h"

namespace backout::adapters::common {

bool IsExecutableFile(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         ::access(path.c_str(), X_OK) == 0;
}

Result<std::filesystem::path> SearchProgram(std::string_view what, std::string_view program,
                                            std::string_view search_path,
                                            const std::filesystem::path& cwd) {
  bool denied = false;  // as execvp: EACCES only when no entry had a program to run
  std::string_view rest = search_path;
  while (true) {
    const std::size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    const std::filesystem::path candidate =
        ResolvePath(cwd, dir.empty() ? "." : std::string(dir)) / program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      denied = true;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (denied) return Status::IOError(fmt::format("{}: {}", what, std::strerror(EACCES)));
  return Status::NotFound(fmt::format("{}: {}", what, std::strerror(ENOENT)));
}

}  // namespace backout::adapters::common
