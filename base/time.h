// Time and duration formatting and parsing shared by plans, events and reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace backout {

// "2026-11-21T17:16:14.123456Z" from microseconds since the Unix epoch (UTC).
std::string FormatUtcMicros(std::int64_t micros_since_epoch);
// The same, appended to `out` (no allocation of its own).
void AppendUtcMicros(std::int64_t micros_since_epoch, std::string* out);

// The microseconds FormatUtcMicros wrote `text` from, for years 0000 to 9999 (the four-digit
// form); nullopt for any other text, a date that does not exist ("2026-02-30") included.
std::optional<std::int64_t> ParseUtcMicros(std::string_view text);

// "20261121T171614Z": for file names (sortable, no colons).
std::string FormatUtcCompact(std::int64_t micros_since_epoch);

// Milliseconds from `from_us` to `to_us` (wall-clock microseconds, as events carry them),
// never negative: the host clock can step back between two events (NTP, a restored VM), and
// a negative duration would be nonsense in a report or a status.
std::int64_t ElapsedMs(std::int64_t from_us, std::int64_t to_us);

// Human durations: "850ms", "12.4s", "3m05s", "1h02m".
std::string FormatDuration(std::chrono::milliseconds d);
// The same, appended to `out`.
void AppendDuration(std::chrono::milliseconds d, std::string* out);

// Plan durations: one or more <number><unit> parts, units ms, s, m, h, in that order of
// magnitude from large to small ("90s", "2m", "1h30m", "500ms"). Zero is allowed ("0s").
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Retention windows (`--keep-within 30d`, a plan's `retention: { keep_within: 2w }`): a whole
// number of days ("30d") or weeks ("2w"), or anything ParseDuration reads ("36h").
Result<std::chrono::milliseconds> ParseRetentionWindow(std::string_view text);

}  // namespace backout
