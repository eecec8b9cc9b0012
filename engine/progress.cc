#include "engine/progress.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "base/time.h"

namespace backout::engine {

void Progress::EndActivityLine() {
  if (activity_line_open_) {
    out_ << "\r\033[K";
    activity_line_open_ = false;
  }
}

void Progress::StepStarted(int index, int total, std::string_view id, std::string_view title,
                           int attempt) {
  EndActivityLine();
  const std::string again = attempt > 1 ? fmt::format(" (attempt {})", attempt) : "";
  if (terminal_) {
    fmt::print(out_, "[{}/{}] {}: {}{}\n", index, total, id, title, again);
  } else {
    fmt::print(out_, "step {}/{} {}: started{}\n", index, total, id, again);
  }
  out_.flush();
}

void Progress::StepEnded(int index, int total, std::string_view id, std::string_view result,
                         std::chrono::milliseconds elapsed, std::string_view detail) {
  EndActivityLine();
  const std::string tail = detail.empty() ? "" : fmt::format(": {}", detail);
  if (terminal_) {
    fmt::print(out_, "      {} in {}{}\n", result, FormatDuration(elapsed), tail);
  } else {
    fmt::print(out_, "step {}/{} {}: {} in {}{}\n", index, total, id, result,
               FormatDuration(elapsed), tail);
  }
  out_.flush();
}

void Progress::Activity(std::string_view text) {
  // Throttled: adapters may report far more often than a person can read.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_activity_ < std::chrono::milliseconds(terminal_ ? 100 : 2000)) return;
  last_activity_ = now;
  if (terminal_) {
    fmt::print(out_, "\r\033[K      {}", text);
    activity_line_open_ = true;
  } else {
    fmt::print(out_, "      {}\n", text);
  }
  out_.flush();
}

void Progress::Note(std::string_view text) {
  EndActivityLine();
  fmt::print(out_, "{}\n", text);
  out_.flush();
}

}  // namespace backout::engine
