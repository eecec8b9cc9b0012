// Reading step logs in tests, whatever layout a run left them in.
//
// Thread safety: the functions may be called from any thread; they only read files.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace backout::testing {

// The full output log of one attempt, by its logical file name (STEP.ATTEMPT.log, a check's
// STEP.check.ATTEMPT.log), as the run left it in `log_dir` (RUN/logs/): its section of
// run.log (adapters/common/run_log.h), after the bytes of a file of that name (the layout of
// earlier versions); nullopt when there is neither. A last frame of run.log cut short (a
// runner still writing it) is left out. Throws std::runtime_error, naming the offset, when
// run.log is damaged, so the test using it fails.
std::optional<std::string> ReadAttemptLog(const std::filesystem::path& log_dir,
                                          std::string_view name);

}  // namespace backout::testing
