#include "base/time.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

TEST(FormatDurationTest, Examples) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0ms");
  EXPECT_EQ(FormatDuration(milliseconds(850)), "850ms");
  EXPECT_EQ(FormatDuration(milliseconds(1'000)), "1.0s");
  EXPECT_EQ(FormatDuration(milliseconds(12'400)), "12.4s");
  EXPECT_EQ(FormatDuration(milliseconds(185'000)), "3m05s");
  EXPECT_EQ(FormatDuration(milliseconds(3'720'000)), "1h02m");
  EXPECT_EQ(FormatDuration(milliseconds(90'061'000)), "25h01m");
}

TEST(FormatUtcTest, Examples) {
  EXPECT_EQ(FormatUtcMicros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatUtcMicros(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  EXPECT_EQ(FormatUtcMicros(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatUtcCompact(1'700'000'000'123'456), "20231114T221320Z");
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
