#include "base/time.h"

#include <fmt/format.h>

#include <ctime>

namespace backout {

namespace {
std::tm UtcTm(std::int64_t micros) {
  std::time_t secs = static_cast<std::time_t>(micros / 1'000'000);
  if (micros < 0 && micros % 1'000'000 != 0) --secs;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
}  // namespace

std::string FormatUtcMicros(std::int64_t micros) {
  const std::tm tm = UtcTm(micros);
  std::int64_t frac = micros % 1'000'000;
  if (frac < 0) frac += 1'000'000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

std::string FormatUtcCompact(std::int64_t micros) {
  const std::tm tm = UtcTm(micros);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::int64_t ElapsedMs(std::int64_t from_us, std::int64_t to_us) {
  return to_us > from_us ? (to_us - from_us) / 1000 : 0;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  const std::int64_t secs = ms / 1000;
  if (secs < 3600) return fmt::format("{}m{:02}s", secs / 60, secs % 60);
  return fmt::format("{}h{:02}m", secs / 3600, (secs % 3600) / 60);
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format(
        "invalid duration '{}': {} (write e.g. 90s, 2m, 1h30m, 500ms)", text, why));
  };
  if (text.empty()) return bad("empty");
  std::int64_t total_ms = 0;
  int last_rank = 4;  // h=3, m=2, s=1, ms=0; each part must be smaller than the one before
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] < '0' || text[i] > '9') return bad("expected a number");
    std::int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 1'000'000'000) return bad("number too large");
      ++i;
    }
    std::int64_t unit_ms = 0;
    int rank = 0;
    if (text.substr(i, 2) == "ms") {
      unit_ms = 1, rank = 0, i += 2;
    } else if (i < text.size() && text[i] == 'h') {
      unit_ms = 3'600'000, rank = 3, ++i;
    } else if (i < text.size() && text[i] == 'm') {
      unit_ms = 60'000, rank = 2, ++i;
    } else if (i < text.size() && text[i] == 's') {
      unit_ms = 1000, rank = 1, ++i;
    } else {
      return bad("expected a unit (ms, s, m or h) after the number");
    }
    if (rank >= last_rank) return bad("units must go from larger to smaller, each once");
    last_rank = rank;
    total_ms += n * unit_ms;
  }
  return std::chrono::milliseconds(total_ms);
}

Result<std::chrono::milliseconds> ParseRetentionWindow(std::string_view text) {
  const std::size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos || digits + 1 != text.size() ||
      (text.back() != 'd' && text.back() != 'w')) {
    Result<std::chrono::milliseconds> shorter = ParseDuration(text);
    if (shorter.ok()) return shorter;
    return Status::InvalidArgument(fmt::format(
        "invalid retention window '{}': write a number of days or weeks (30d, 2w) or a "
        "duration (36h)",
        text));
  }
  if (digits > 6) {
    return Status::InvalidArgument(fmt::format("invalid retention window '{}': too large", text));
  }
  const std::int64_t n = std::stoll(std::string(text.substr(0, digits)));
  const std::int64_t day_ms = 86'400'000;
  return std::chrono::milliseconds(n * (text.back() == 'w' ? 7 * day_ms : day_ms));
}

}  // namespace backout
