#include "base/suggest.h"

#include <gtest/gtest.h>

namespace backout {
namespace {

const std::vector<std::string> kCommands = {"validate", "run", "resume", "status", "events",
                                            "approve", "resolve", "abort", "note", "plan"};

struct SuggestCase {
  const char* word;
  const char* expected;  // "" for no suggestion
};

TEST(ClosestMatch, SuggestsOnlyLikelyTypos) {
  const SuggestCase cases[] = {
      {"stauts", "status"},     // two neighbours swapped
      {"valdate", "validate"},  // one dropped
      {"resmue", "resume"},
      {"RUN", "run"},           // a candidate in another case
      {"rn", "run"},
      {"approval", "approve"},
      {"xyz", ""},              // nothing near
      {"report-html", ""},
      {"status", ""},           // a candidate itself
  };
  for (const SuggestCase& c : cases) {
    EXPECT_EQ(ClosestMatch(c.word, kCommands).value_or(""), c.expected) << c.word;
  }
}

TEST(DidYouMean, FormatsTheSuggestionOrNothing) {
  EXPECT_EQ(DidYouMean("stauts", kCommands), " (did you mean 'status'?)");
  EXPECT_EQ(DidYouMean("xyz", kCommands), "");
  EXPECT_EQ(DidYouMean("x", {}), "");
}

TEST(DidYouMeanIn, FindsTheHintDidYouMeanPutInAMessage) {
  EXPECT_EQ(DidYouMeanIn("unknown command 'stauts'" + DidYouMean("stauts", kCommands)),
            "did you mean 'status'?");
  EXPECT_EQ(DidYouMeanIn("step 'count' has no output 'valeu' (did you mean 'value'?); its "
                         "action 'query' has: value"),
            "did you mean 'value'?");
  EXPECT_EQ(DidYouMeanIn("environment variable X is not set"), std::nullopt);
  EXPECT_EQ(DidYouMeanIn("cut short (did you mean 'x"), std::nullopt);
}

}  // namespace
}  // namespace backout
