// Internal to the file adapters: file-system queries shared by the `file`
// and `json_store` targets. Nothing here throws; std::filesystem errors become Status values.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace backout::adapters::file {

// Whether `inner` is `outer` or below it, comparing whole components (both absolute, normal).
bool IsWithin(const std::filesystem::path& inner, const std::filesystem::path& outer);

// What is at a path, following symbolic links.
struct Entry {
  enum class Kind { kAbsent, kFile, kDirectory, kOther };
  Kind kind = Kind::kAbsent;
  unsigned int mode = 0;  // permission bits (07777)
};
Result<Entry> Inspect(const std::filesystem::path& path);

// "0644".
std::string FormatMode(unsigned int mode);

}  // namespace backout::adapters::file
