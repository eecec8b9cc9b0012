#include "base/time.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <iterator>

namespace backout {

namespace {

// A UTC time's calendar fields.
struct UtcFields {
  std::int64_t year;
  int month, day, hour, minute, second;
  int micros;
};

// The proleptic Gregorian calendar by arithmetic alone (the days-to-civil conversion of
// H. Hinnant's "chrono-compatible low-level date algorithms"), the same fields gmtime_r gives
// for every int64 of microseconds, without its lock and time-zone work: a report formats a
// time per event.
UtcFields UtcOf(std::int64_t micros) {
  std::int64_t secs = micros / 1'000'000;
  std::int64_t frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::int64_t days = secs / 86'400;
  std::int64_t of_day = secs % 86'400;
  if (of_day < 0) {
    of_day += 86'400;
    --days;
  }
  days += 719'468;  // from 1970-01-01 to 0000-03-01, where the 400-year eras start
  const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const std::int64_t day_of_era = days - era * 146'097;
  const std::int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
  const std::int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t month_from_march = (5 * day_of_year + 2) / 153;
  const auto day = static_cast<int>(day_of_year - (153 * month_from_march + 2) / 5 + 1);
  const auto month = static_cast<int>(month_from_march < 10 ? month_from_march + 3
                                                            : month_from_march - 9);
  return UtcFields{.year = year_of_era + era * 400 + (month <= 2 ? 1 : 0),
                   .month = month,
                   .day = day,
                   .hour = static_cast<int>(of_day / 3600),
                   .minute = static_cast<int>(of_day / 60 % 60),
                   .second = static_cast<int>(of_day % 60),
                   .micros = static_cast<int>(frac)};
}

// Writes `value`'s last `digits` decimal digits, zero-padded, then `after`; returns the
// position after them.
char* PutDigits(std::int64_t value, int digits, char after, char* at) {
  for (int i = digits - 1; i >= 0; --i) {
    at[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  at[digits] = after;
  return at + digits + 1;
}

}  // namespace

void AppendUtcMicros(std::int64_t micros, std::string* out) {
  constexpr std::size_t kSize = std::size("2026-01-31T12:00:00.000000Z") - 1;
  constexpr std::size_t kSecondSize = std::size("2026-01-31T12:00:00.") - 1;
  // The calendar part of the last second formatted on this thread: a report formats a time
  // per entry, and the entries of a busy run share their seconds.
  thread_local std::int64_t last_second = 0;
  thread_local char last_text[kSecondSize] = {};
  std::int64_t second = micros / 1'000'000;
  std::int64_t frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --second;
  }
  char text[kSize];
  if (second != last_second || last_text[0] == '\0') {
    const UtcFields t = UtcOf(micros);
    if (t.year < 0 || t.year > 9999) {
      fmt::format_to(std::back_inserter(*out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
                     t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros);
      return;
    }
    char* at = PutDigits(t.year, 4, '-', last_text);
    at = PutDigits(t.month, 2, '-', at);
    at = PutDigits(t.day, 2, 'T', at);
    at = PutDigits(t.hour, 2, ':', at);
    at = PutDigits(t.minute, 2, ':', at);
    PutDigits(t.second, 2, '.', at);
    last_second = second;
  }
  std::memcpy(text, last_text, kSecondSize);
  PutDigits(frac, 6, 'Z', text + kSecondSize);
  out->append(text, kSize);
}

std::string FormatUtcMicros(std::int64_t micros) {
  std::string text;
  AppendUtcMicros(micros, &text);
  return text;
}

std::optional<std::int64_t> ParseUtcMicros(std::string_view text) {
  // "YYYY-MM-DDTHH:MM:SS.ffffffZ": each field its digits, then the separator that follows it.
  constexpr std::size_t kLength = 27;
  if (text.size() != kLength) return std::nullopt;
  struct Field {
    std::size_t at, digits;
    char after;
  };
  constexpr Field kFields[] = {{0, 4, '-'},  {5, 2, '-'},  {8, 2, 'T'},  {11, 2, ':'},
                               {14, 2, ':'}, {17, 2, '.'}, {20, 6, 'Z'}};
  int values[7] = {};
  for (std::size_t i = 0; i < 7; ++i) {
    const Field& f = kFields[i];
    const char* begin = text.data() + f.at;
    const char* end = begin + f.digits;
    for (const char* c = begin; c != end; ++c) {
      if (*c < '0' || *c > '9') return std::nullopt;
    }
    std::from_chars(begin, end, values[i]);
    if (*end != f.after) return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(values[0]),
                                         std::chrono::month(static_cast<unsigned>(values[1])),
                                         std::chrono::day(static_cast<unsigned>(values[2]))};
  if (!date.ok() || values[3] > 23 || values[4] > 59 || values[5] > 59) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  return ((days * 24 + values[3]) * 60 + values[4]) * 60'000'000 +
         std::int64_t{values[5]} * 1'000'000 + values[6];
}

std::string FormatUtcCompact(std::int64_t micros) {
  const UtcFields t = UtcOf(micros);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hour,
                     t.minute, t.second);
}

std::int64_t ElapsedMs(std::int64_t from_us, std::int64_t to_us) {
  return to_us > from_us ? (to_us - from_us) / 1000 : 0;
}

void AppendDuration(std::chrono::milliseconds d, std::string* out) {
  // std::to_chars, not a parsed format, for the short ones: a report writes one per event.
  const std::int64_t ms = d.count();
  char text[24];  // an int64 of milliseconds, or "59.9"
  if (ms < 1000) {
    out->append(text, std::to_chars(text, std::end(text), ms).ptr).append("ms");
    return;
  }
  if (ms < 60'000) {
    // Rounded as fmt's "{:.1f}" rounds (correctly, from the double).
    out->append(text, std::to_chars(text, std::end(text), static_cast<double>(ms) / 1000.0,
                                    std::chars_format::fixed, 1)
                          .ptr);
    out->push_back('s');
    return;
  }
  const std::int64_t secs = ms / 1000;
  if (secs < 3600) {
    fmt::format_to(std::back_inserter(*out), "{}m{:02}s", secs / 60, secs % 60);
  } else {
    fmt::format_to(std::back_inserter(*out), "{}h{:02}m", secs / 3600, (secs % 3600) / 60);
  }
}

std::string FormatDuration(std::chrono::milliseconds d) {
  std::string out;
  AppendDuration(d, &out);
  return out;
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
