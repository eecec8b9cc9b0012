// TempDir: a fresh directory for one test, removed with everything in it at the end.
//
// Part of the unit-level testing library (testing/): it depends on base/ and adapters/ only,
// never on the `backout` binary or the test servers of tests/support.
//
// Thread safety: path() may be read from any thread; the object is destroyed by its owner.
#pragma once

#include <filesystem>

namespace backout::testing {

class TempDir {
 public:
  // Makes a new directory (mkdtemp) under the system temp dir ($TMPDIR or /tmp). Throws
  // std::runtime_error when it cannot: a test cannot set up without one.
  TempDir();
  // Removes the directory and everything in it, ignoring errors; keeps it when the
  // environment variable BACKOUT_KEEP_TEST_DIRS is set (to look at what a failed test left).
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace backout::testing
