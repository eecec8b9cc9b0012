// Progress output of a run: what the operator watches. On a terminal, compact lines with
// live adapter progress rewritten in place; otherwise plain, greppable lines.
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>

namespace backout::engine {

class Progress {
 public:
  Progress(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

  void StepStarted(int index, int total, std::string_view id, std::string_view title,
                   int attempt);
  void StepEnded(int index, int total, std::string_view id, std::string_view result,
                 std::chrono::milliseconds elapsed, std::string_view detail);
  void Activity(std::string_view text);  // adapter progress inside a step
  void Note(std::string_view text);      // anything else the operator should read

 private:
  void EndActivityLine();

  std::ostream& out_;
  bool terminal_;
  bool activity_line_open_ = false;
  std::chrono::steady_clock::time_point last_activity_{};
};

}  // namespace backout::engine
