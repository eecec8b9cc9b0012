#include "base/redactor.h"

#include <gtest/gtest.h>

namespace backout {
namespace {

TEST(Redactor, ScrubsEveryOccurrenceLongestFirst) {
  Redactor r;
  r.Add("hunter2-secret");
  r.Add("hunter2");
  EXPECT_EQ(r.Scrub("a hunter2-secret b hunter2 c"), "a *** b *** c");
}

TEST(Redactor, IgnoresValuesTooShortToBeSecrets) {
  Redactor r;
  r.Add("1");
  r.Add("abc");
  EXPECT_EQ(r.Scrub("1 abc"), "1 abc");
}

TEST(Redactor, ScrubsJsonStringsAndKeysButNotNumbers) {
  Redactor r;
  r.Add("postgres://u:pw@db/x");
  const nlohmann::json in = {{"dsn", "postgres://u:pw@db/x"},
                             {"postgres://u:pw@db/x", 1},
                             {"list", {"x postgres://u:pw@db/x y", 42}}};
  const nlohmann::json out = r.ScrubJson(in);
  EXPECT_EQ(out["dsn"], "***");
  EXPECT_TRUE(out.contains("***"));
  EXPECT_EQ(out["list"][0], "x *** y");
  EXPECT_EQ(out["list"][1], 42);
  EXPECT_EQ(out.dump().find("pw@"), std::string::npos);
}

TEST(Redactor, ReplacementCannotRecreateTheSecret) {
  Redactor r;
  r.Add("****");  // a secret made of the mask itself must not loop forever
  EXPECT_EQ(r.Scrub("x****y"), "x***y");
}

}  // namespace
}  // namespace backout
