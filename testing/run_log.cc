#include "testing/run_log.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "adapters/common/run_log.h"

namespace backout::testing {

std::optional<std::string> ReadAttemptLog(const std::filesystem::path& log_dir,
                                          std::string_view name) {
  std::optional<std::string> out;
  if (std::ifstream file(log_dir / name, std::ios::binary); file) {
    std::ostringstream bytes;
    bytes << file.rdbuf();
    out = bytes.str();
  }
  Result<adapters::RunLogContents> run_log =
      adapters::ReadRunLog(log_dir / adapters::kRunLogFileName);
  if (!run_log.ok()) {
    if (run_log.status().code() == Code::kNotFound) return out;
    throw std::runtime_error(run_log.status().ToString());
  }
  for (const adapters::RunLogSection& section : run_log->sections) {
    if (section.name == name) out = out.value_or("") + section.content;
  }
  return out;
}

}  // namespace backout::testing
