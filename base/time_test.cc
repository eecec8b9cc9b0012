#include "base/time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <ctime>
#include <limits>
#include <optional>
#include <random>
#include <vector>

namespace backout {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

struct DurationCase {
  std::string text;
  std::int64_t ms;
};

class ParseDurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationTest, Parses) {
  Result<milliseconds> parsed = ParseDuration(GetParam().text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->count(), GetParam().ms);
}

INSTANTIATE_TEST_SUITE_P(Durations, ParseDurationTest,
                         ::testing::Values(DurationCase{"90s", 90'000},
                                           DurationCase{"2m", 120'000},
                                           DurationCase{"1h30m", 5'400'000},
                                           DurationCase{"500ms", 500},
                                           DurationCase{"0s", 0},
                                           DurationCase{"1h2m3s4ms", 3'723'004},
                                           DurationCase{"1m30s", 90'000},
                                           DurationCase{"48h", 172'800'000}));

struct BadDurationCase {
  std::string text;
  std::string phrase;
};

class ParseDurationErrorTest : public ::testing::TestWithParam<BadDurationCase> {};

TEST_P(ParseDurationErrorTest, IsInvalidArgument) {
  Result<milliseconds> parsed = ParseDuration(GetParam().text);
  ASSERT_FALSE(parsed.ok()) << GetParam().text;
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("invalid duration '" + GetParam().text + "'"));
  EXPECT_THAT(parsed.status().message(), HasSubstr(GetParam().phrase));
}

INSTANTIATE_TEST_SUITE_P(
    Durations, ParseDurationErrorTest,
    ::testing::Values(BadDurationCase{"", "empty"},
                      BadDurationCase{"5", "expected a unit"},
                      BadDurationCase{"m5", "expected a number"},
                      BadDurationCase{"5x", "expected a unit"},
                      BadDurationCase{"1m1h", "larger to smaller"},
                      BadDurationCase{"5s5s", "larger to smaller"},
                      BadDurationCase{"1.5s", "expected a unit"},
                      BadDurationCase{"-1s", "expected a number"},
                      BadDurationCase{"5 s", "expected a unit"},
                      BadDurationCase{"99999999999h", "too large"}));

// Every duration under a minute, against the format it was written with before.
TEST(FormatDurationTest, SecondsAreRoundedAsFmtRoundsThem) {
  for (std::int64_t ms = 0; ms < 60'000; ++ms) {
    const std::string expected =
        ms < 1000 ? fmt::format("{}ms", ms) : fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
    ASSERT_EQ(FormatDuration(milliseconds(ms)), expected) << ms;
  }
}

TEST(FormatDurationTest, Examples) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0ms");
  EXPECT_EQ(FormatDuration(milliseconds(850)), "850ms");
  EXPECT_EQ(FormatDuration(milliseconds(1'000)), "1.0s");
  EXPECT_EQ(FormatDuration(milliseconds(12'400)), "12.4s");
  EXPECT_EQ(FormatDuration(milliseconds(185'000)), "3m05s");
  EXPECT_EQ(FormatDuration(milliseconds(3'720'000)), "1h02m");
  EXPECT_EQ(FormatDuration(milliseconds(90'061'000)), "25h01m");
}

TEST(FormatDurationTest, AppendKeepsWhatIsBefore) {
  std::string text = "+";
  for (const std::int64_t ms : {850, 12'400, 185'000, 3'720'000}) AppendDuration(milliseconds(ms), &text);
  EXPECT_EQ(text, "+850ms12.4s3m05s1h02m");
}

TEST(FormatUtcTest, Examples) {
  EXPECT_EQ(FormatUtcMicros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatUtcMicros(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatUtcMicros(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatUtcCompact(1'700'000'000'123'456), "20231114T221320Z");
}

// gmtime_r, as the formatting was done before it became arithmetic: the oracle.
std::string FormatWithGmtime(std::int64_t micros) {
  std::time_t secs = static_cast<std::time_t>(micros / 1'000'000);
  std::int64_t frac = micros % 1'000'000;
  if (frac < 0) {
    frac += 1'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900LL,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

TEST(FormatUtcTest, GivesGmtimesFieldsForAnyMicroseconds) {
  std::vector<std::int64_t> times = {std::numeric_limits<std::int64_t>::min(),
                                     std::numeric_limits<std::int64_t>::max(),
                                     -62'167'219'200'000'000,  // 0000-01-01
                                     -62'167'219'200'000'001,  // the microsecond before
                                     253'402'300'799'999'999,  // 9999-12-31T23:59:59.999999
                                     253'402'300'800'000'000,  // 10000-01-01
                                     951'782'400'000'000,      // 2000-02-29
                                     4'107'542'400'000'000};   // 2100-03-01
  std::mt19937_64 random(17);
  for (int i = 0; i < 20'000; ++i) {
    // Most near now (days, leap years, month ends), some anywhere in int64.
    const std::int64_t t = i % 4 == 0 ? static_cast<std::int64_t>(random())
                                      : static_cast<std::int64_t>(random() % 8'000'000'000'000'000) -
                                            1'000'000'000'000'000;
    times.push_back(t);
  }
  for (const std::int64_t t : times) {
    ASSERT_EQ(FormatUtcMicros(t), FormatWithGmtime(t)) << t;
    std::string appended = "x";
    AppendUtcMicros(t, &appended);
    ASSERT_EQ(appended, "x" + FormatWithGmtime(t)) << t;
  }
}

TEST(ParseUtcTest, ReadsBackWhatFormatUtcWroteForFourDigitYears) {
  std::mt19937_64 random(29);
  std::vector<std::int64_t> times = {0, -1, -62'167'219'200'000'000, 253'402'300'799'999'999,
                                     951'782'400'000'000, 4'107'542'400'000'000};
  for (int i = 0; i < 20'000; ++i) {
    times.push_back(static_cast<std::int64_t>(random() % 315'569'520'000'000'000ULL) -
                    62'167'219'200'000'000);  // anywhere in 0000-01-01 .. 9999-12-31
  }
  for (const std::int64_t t : times) {
    ASSERT_EQ(ParseUtcMicros(FormatUtcMicros(t)), std::optional<std::int64_t>(t)) << t;
  }
}

TEST(ParseUtcTest, AnythingButThatFormIsNoTime) {
  for (const std::string_view text :
       {"", "2026-12-07T15:09:05.053874", "2026-12-07T15:09:05.053874Zx",
        "2026-12-07 15:09:05.053874Z", "2026-12-07T15:09:05Z", "2026-02-30T00:00:00.000000Z",
        "2026-13-01T00:00:00.000000Z", "2026-12-07T24:00:00.000000Z",
        "2026-12-07T23:60:00.000000Z", "2026-12-07T23:59:60.000000Z",
        "+026-12-07T15:09:05.053874Z", "2026-12-07T15:09:05.05387aZ",
        "10000-01-01T00:00:00.000000Z", "-001-01-01T00:00:00.000000Z"}) {
    EXPECT_EQ(ParseUtcMicros(text), std::nullopt) << text;
  }
  EXPECT_EQ(ParseUtcMicros("2000-02-29T00:00:00.000000Z"),
            std::optional<std::int64_t>(951'782'400'000'000));
}

// AppendUtcMicros keeps the calendar part of the last second it formatted: times in the same
// second, the next, the one before, on both sides of 1970 and of a day, all in turn.
TEST(FormatUtcTest, TimesInTheSameSecondAndAroundItAreEachTheirOwn) {
  for (const std::int64_t base : {std::int64_t{1'700'000'000'000'000}, std::int64_t{0},
                                  std::int64_t{-1}, std::int64_t{-86'400'000'000},
                                  std::int64_t{951'868'799'999'999}}) {
    for (const std::int64_t step : std::initializer_list<std::int64_t>{0, 1, 999'999, -1, 1'000'000, -1'000'000, 86'400'000'000,
                                    0, 2, -999'999}) {
      const std::int64_t t = base + step;
      std::string appended;
      AppendUtcMicros(t, &appended);
      ASSERT_EQ(appended, FormatWithGmtime(t)) << base << " " << step;
    }
  }
}

TEST(ElapsedMs, IsNeverNegativeWhenTheClockSteppedBack) {
  EXPECT_EQ(ElapsedMs(1'000'000, 3'500'000), 2'500);
  EXPECT_EQ(ElapsedMs(3'500'000, 1'000'000), 0);
  EXPECT_EQ(ElapsedMs(7, 7), 0);
}

TEST(ParseRetentionWindowTest, DaysWeeksOrADuration) {
  EXPECT_EQ(ParseRetentionWindow("30d")->count(), 30 * 86'400'000LL);
  EXPECT_EQ(ParseRetentionWindow("2w")->count(), 14 * 86'400'000LL);
  EXPECT_EQ(ParseRetentionWindow("36h")->count(), 36 * 3'600'000LL);
  for (const char* bad : {"", "d", "30days", "1d2h", "-1d", "9999999d"}) {
    EXPECT_EQ(ParseRetentionWindow(bad).status().code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace backout
