#include "adapters/file/fs_util.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace backout::adapters::file {

namespace fs = std::filesystem;

bool IsWithin(const fs::path& inner, const fs::path& outer) {
  auto in = inner.begin();
  for (auto out = outer.begin(); out != outer.end(); ++out, ++in) {
    if (out->empty()) continue;  // the empty last element of a path ending in '/'
    if (in == inner.end() || *in != *out) return false;
  }
  return true;
}

Result<Entry> Inspect(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Entry{};
    return Status::IOError(fmt::format("{}: cannot stat: {}", path.string(), std::strerror(errno)));
  }
  Entry entry;
  entry.mode = info.st_mode & 07777;
  entry.kind = S_ISREG(info.st_mode)   ? Entry::Kind::kFile
               : S_ISDIR(info.st_mode) ? Entry::Kind::kDirectory
                                       : Entry::Kind::kOther;
  return entry;
}

std::string FormatMode(unsigned int mode) { return fmt::format("{:04o}", mode); }

}  // namespace backout::adapters::file
