#include "base/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace backout {
namespace {

using namespace std::string_literals;

TEST(Utf8, FindsTheFirstByteThatIsNotUtf8) {
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::string_view::npos);
  EXPECT_EQ(FindInvalidUtf8("x\xFFy"), 1u);
  EXPECT_EQ(FindInvalidUtf8("ab\xC3"), 2u);            // cut short
  EXPECT_EQ(FindInvalidUtf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);      // a surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("a\x80"), 1u);             // a lone continuation byte
}

TEST(Utf8, MarksEachBadByteAsReplacementCharacterAndHex) {
  EXPECT_EQ(MarkInvalidUtf8("x\xFFy"), "x\xEF\xBF\xBD" "FFy");
  EXPECT_EQ(MarkInvalidUtf8("\xC3"), "\xEF\xBF\xBD" "C3");
  EXPECT_EQ(MarkInvalidUtf8("caf\xC3\xA9"), "caf\xC3\xA9");  // valid text is unchanged
  // A U+FFFD of the original is marked too, so that unmarking cannot mistake it.
  EXPECT_EQ(MarkInvalidUtf8("\xEF\xBF\xBD" "AB"),
            "\xEF\xBF\xBD" "EF" "\xEF\xBF\xBD" "BF" "\xEF\xBF\xBD" "BDAB");
}

TEST(Utf8, MarkingIsLossless) {
  const std::string samples[] = {
      "", "x\xFFy", "\xEF\xBF\xBD" "FF", "\xEF\xBF\xBD", "a\0b\xFE"s, "\xC0\xAF\xED\xA0\x80",
      "caf\xC3\xA9", "\xEF\xBF", "tail \xE2\x82"};
  for (const std::string& s : samples) {
    const std::string marked = MarkInvalidUtf8(s);
    EXPECT_TRUE(IsValidUtf8(marked)) << marked;
    EXPECT_EQ(UnmarkInvalidUtf8(marked), s) << marked;
  }
  // Every single byte and every pair of bytes.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(UnmarkInvalidUtf8(MarkInvalidUtf8(s)), s) << a << " " << b;
    }
  }
}

TEST(Utf8, AReplacementCharacterWithoutHexStaysAsItIs) {
  // Journals written before marking existed may hold adapters' U+FFFD replacements.
  EXPECT_EQ(UnmarkInvalidUtf8("a\xEF\xBF\xBDz"), "a\xEF\xBF\xBDz");
  EXPECT_EQ(UnmarkInvalidUtf8("a\xEF\xBF\xBD" "F"), "a\xEF\xBF\xBD" "F");
}

TEST(Utf8, MarksStringsAndKeysOfJsonAndDumpNeverThrows) {
  nlohmann::json value = {{"path", "bk-x\xFFy/app.db"},
                          {"list", {"ok", "\xFE"}},
                          {"tables", {{"t\xFF", {{"rows", 1}}}}},
                          {"n", 3}};
  EXPECT_THROW((void)value.dump(), nlohmann::json::type_error);
  const std::string dumped = DumpJson(value);
  const nlohmann::json parsed = nlohmann::json::parse(dumped);
  EXPECT_EQ(parsed["path"], "bk-x\xEF\xBF\xBD" "FFy/app.db");
  EXPECT_EQ(parsed["list"][1], "\xEF\xBF\xBD" "FE");
  EXPECT_TRUE(parsed["tables"].contains("t\xEF\xBF\xBD" "FF"));
  EXPECT_EQ(UnmarkInvalidUtf8Json(parsed), value);

  nlohmann::json clean = {{"a", "b"}};
  EXPECT_FALSE(MarkInvalidUtf8InPlace(clean));
  EXPECT_TRUE(MarkInvalidUtf8InPlace(value));
  EXPECT_EQ(value.dump(), dumped);
  // Printing journaled (already marked) JSON leaves its marks alone.
  EXPECT_EQ(DumpJson(value), dumped);
}

// DumpJson dumps a value as it is unless nlohmann's strict dump refuses a string: every form
// that FindInvalidUtf8 calls ill-formed must be refused there too, and come out marked.
TEST(Utf8, DumpJsonMarksEveryIllFormedSequence) {
  for (const std::string bad : {"x\xFFy", "ab\xC3", "\xC0\xAF", "\xED\xA0\x80",
                                "\xF4\x90\x80\x80", "a\x80", "\xE2\x82", "\xF0\x9F\x98"}) {
    ASSERT_NE(FindInvalidUtf8(bad), std::string_view::npos);
    const nlohmann::json value = {{"text", bad}, {bad, 1}};
    const nlohmann::json marked = {{"text", MarkInvalidUtf8(bad)}, {MarkInvalidUtf8(bad), 1}};
    EXPECT_EQ(DumpJson(value, 2), marked.dump(2)) << nlohmann::json(MarkInvalidUtf8(bad));
  }
  const nlohmann::json good = {{"text", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"}};
  EXPECT_EQ(DumpJson(good, 2), good.dump(2));
}

// AppendJsonString gives DumpJson's bytes for every byte alone, between others, and for
// random byte strings (fixed seed), valid UTF-8 or not.
TEST(Utf8, AppendJsonStringWritesWhatDumpJsonWrites) {
  std::vector<std::string> texts = {"", "plain", "caf\xC3\xA9 \xE2\x82\xAC", "a\"b\\c/d",
                                    "\xEF\xBF\xBD" "FF", "x\xFFy"};
  for (int b = 0; b < 256; ++b) {
    texts.push_back(std::string(1, static_cast<char>(b)));
    texts.push_back("a" + std::string(1, static_cast<char>(b)) + "z");
  }
  std::mt19937 rng(17);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 24);
  for (int i = 0; i < 2000; ++i) {
    std::string random(static_cast<std::size_t>(length(rng)), '\0');
    for (char& c : random) c = static_cast<char>(byte(rng));
    texts.push_back(random);
  }
  for (const std::string& text : texts) {
    std::string appended = "prefix";
    AppendJsonString(text, &appended);
    EXPECT_EQ(appended, "prefix" + DumpJson(nlohmann::json(text)))
        << DumpJson(nlohmann::json(text));
  }
}

// Each byte that needs escaping, at every place of a text long enough for the eight-byte
// steps of the scan, alone and after another one.
TEST(Utf8, AppendJsonStringEscapesAtEveryPlaceOfALongText) {
  const std::string plain = "the quick brown fox jumps";
  for (const char special : {'"', '\\', '\0', '\n', '\x1F', '\x7F'}) {
    for (std::size_t at = 0; at < plain.size(); ++at) {
      for (std::size_t second : {at, plain.size() - 1}) {
        std::string text = plain;
        text[at] = special;
        text[second] = '"';
        std::string appended;
        AppendJsonString(text, &appended);
        ASSERT_EQ(appended, DumpJson(nlohmann::json(text))) << at << " " << second;
      }
    }
  }
}

// FindInvalidUtf8 calls a text valid exactly when nlohmann's strict dump takes it: every
// string of one and two bytes, and texts of well-formed and ill-formed sequences mixed
// (fixed seed), long enough for the validator's SIMD blocks.
TEST(Utf8, FindInvalidUtf8AgreesWithTheStrictDump) {
  const auto strict_dump_takes = [](const std::string& text) {
    try {
      (void)nlohmann::json(text).dump();
      return true;
    } catch (const nlohmann::json::type_error&) {
      return false;
    }
  };
  for (int a = 0; a < 256; ++a) {
    ASSERT_EQ(IsValidUtf8(std::string(1, static_cast<char>(a))),
              strict_dump_takes(std::string(1, static_cast<char>(a)))) << a;
    for (int b = 0; b < 256; ++b) {
      const std::string text{static_cast<char>(a), static_cast<char>(b)};
      ASSERT_EQ(IsValidUtf8(text), strict_dump_takes(text)) << a << " " << b;
    }
  }
  const std::vector<std::string> pieces = {
      "a", "plain words ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBD",
      "\xFF", "\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80", "\xE2\x82"};
  std::mt19937 rng(23);
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1), count(1, 40);
  std::bernoulli_distribution only_valid(0.5);
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const bool valid_only = only_valid(rng);
    for (std::size_t n = count(rng); n > 0; --n) {
      const std::size_t p = pick(rng);
      if (valid_only && p >= 6) continue;
      text += pieces[p];
    }
    const std::size_t bad = FindInvalidUtf8(text);
    ASSERT_EQ(bad == std::string_view::npos, strict_dump_takes(text)) << i;
    if (valid_only) {
      ASSERT_EQ(bad, std::string_view::npos) << i;
    }
    // The place given is where the text stops being well-formed: everything before it is.
    if (bad != std::string_view::npos) {
      ASSERT_TRUE(IsValidUtf8(text.substr(0, bad))) << i;
    }
  }
}

TEST(Text, IsTheStringHeldWithoutACopyAndThrowsForAnythingElse) {
  const nlohmann::json value = {{"name", "orders"}, {"count", 3}};
  EXPECT_EQ(Text(value.at("name")), "orders");
  EXPECT_EQ(&Text(value.at("name")), &value.at("name").get_ref<const std::string&>());
  EXPECT_THROW(Text(value.at("count")), nlohmann::json::type_error);
}

}  // namespace
}  // namespace backout
