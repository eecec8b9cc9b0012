#include "base/json_text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace backout {
namespace {

using json = nlohmann::json;
using namespace std::string_literals;

// Whether `a` and `b` are the same value of the same types, but that a zero integer may be
// signed in one and unsigned in the other (the "-0" difference, json_text.h).
bool SameValue(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer() && a == 0 && b == 0) return true;
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      if (other == b.end() || !SameValue(*it, *other)) return false;
    }
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!SameValue(a[i], b[i])) return false;
    }
    return true;
  }
  return a == b && a.dump() == b.dump();
}

// ParseJsonText gives nlohmann's verdict and nlohmann's value for `text`; returns whether
// the text was accepted.
bool ExpectNlohmannsVerdict(const std::string& text) {
  const json ours = ParseJsonText(text);
  const json theirs = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_EQ(ours.is_discarded(), theirs.is_discarded()) << testing::PrintToString(text);
  if (ours.is_discarded() || theirs.is_discarded()) return false;
  EXPECT_TRUE(SameValue(ours, theirs))
      << testing::PrintToString(text) << "\nours:   " << ours.dump()
      << "\ntheirs: " << theirs.dump();
  return true;
}

TEST(JsonText, ParsesJournalPayloadsToTheValuesNlohmannGives) {
  const json payload = {{"step", "backup"},
                        {"attempt", 2},
                        {"outputs", {{"bytes", 18446744073709551615ull},
                                     {"delta", -42},
                                     {"ratio", 0.1},
                                     {"ok", true},
                                     {"none", nullptr},
                                     {"rows", {1, 2, 3}},
                                     {"text", "caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\" \\ \n\t\x01"}}},
                        {"log", {{"file", "backup.2.log"}, {"bytes", 12}, {"sha256", "ab"}}}};
  const json parsed = ParseJsonText(payload.dump());
  EXPECT_EQ(parsed, payload);
  ExpectNlohmannsVerdict(payload.dump());
  EXPECT_TRUE(parsed["outputs"]["bytes"].is_number_unsigned());
  EXPECT_TRUE(parsed["outputs"]["delta"].is_number_integer());
  EXPECT_TRUE(parsed["attempt"].is_number_unsigned());
}

// Where the two parsers part (json_text.h), the verdict is nlohmann's.
TEST(JsonText, WhatSimdjsonRefusesNlohmannDecides) {
  const std::vector<std::string> cases = {
      // Accepted by nlohmann only.
      "\xEF\xBB\xBF{\"a\":1}",            // a byte order mark
      R"({"a":18446744073709551616})",    // beyond 64 bits: a float
      R"({"a":-9223372036854775809})",
      "{\"a\":1}\0trailing"s,             // nlohmann stops at a NUL
      std::string(2000, '[') + std::string(2000, ']'),  // deeper than simdjson's 1024
      // Over the 1 MiB that simdjson is given: nlohmann's alone, valid or not.
      R"({"plan_text":")" + std::string(std::size_t{2} << 20, 'x') + R"("})",
      R"({"plan_text":")" + std::string(std::size_t{2} << 20, 'x') + R"(})",
      // Refused by both.
      R"({"t":"\ud800"})", R"({"t":"\udc00x"})", "{\"t\":\"\xFF\"}", R"({"a":01})",
      R"({"a":1.})", R"({"a":1e400})", R"({"a":1} x)", "", " ", "{", R"({"a":})",
      "{\"t\":\"a\x01\"}", R"({'a':1})", R"([1,])", "nul", "\xC3\xA9",
      // Accepted by both.
      R"({"a":1,"a":2})",  // a repeated key keeps its last value
      R"({"a":-0})", R"({"a":-0.0})", R"({"a":1E5})", R"({"a":9223372036854775808})",
      R"({"t":"\ud83d\ude00"})", R"({"t":"\u0000"})", " {\"a\" : [ ] }\n\t", "[]", "7",
      R"("x")", "null", "true", "-1.5e-3"};
  for (const std::string& text : cases) ExpectNlohmannsVerdict(text);
}

// Random damage to real payloads: every variant parses to nlohmann's verdict and value.
TEST(JsonText, DamagedPayloadsGetNlohmannsVerdict) {
  const std::vector<std::string> seeds = {
      R"({"text":"replica lag back under 5 s","queue_id":"q-17"})",
      R"({"step":"restore","attempt":3,"error":"exit 1","outputs":{"exit_code":1,"rows":[1,-2,3.5e2]}})",
      R"({"plan_name":"p","step_ids":["a","b"],"rehearsal":false,"captures":[{"name":"x","value":null}]})",
      "{\"text\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 \\u00e9\\n\\\"\"}"};
  const std::string interesting = "\"\\{}[],:0123456789-+eE.utfnrl \x00\xFF\xC3\xA9\x80\xEF\xBB\xBF"s;
  std::mt19937 random(20261206);
  int accepted = 0;
  constexpr int kRounds = 20000;
  for (int round = 0; round < kRounds; ++round) {
    std::string text = seeds[random() % seeds.size()];
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = random() % text.size();
      const char byte = random() % 4 == 0 ? static_cast<char>(random() % 256)
                                          : interesting[random() % interesting.size()];
      switch (random() % 3) {
        case 0: text[at] = byte; break;
        case 1: text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), byte); break;
        default: text.erase(at, 1); break;
      }
    }
    SCOPED_TRACE(round);
    if (ExpectNlohmannsVerdict(text)) ++accepted;
    if (HasFailure()) return;
  }
  // Both verdicts are well represented, so neither path goes untested.
  EXPECT_GT(accepted, kRounds / 10);
  EXPECT_LT(accepted, kRounds - kRounds / 10);
}

}  // namespace
}  // namespace backout
