// The query comparison and messages the SQL adapters share, without a database.
#include "adapters/common/query_check.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace backout::adapters::common {
namespace {

using nlohmann::json;

TEST(QueryValueMatchesTest, Table) {
  struct Case {
    json observed;  // as the database typed it
    json expected;  // as the plan wrote it (or ${VAR} expanded it)
    bool match;
  };
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::vector<Case> cases = {
      // Numbers compare by value, whatever their JSON type.
      {2, 2, true},
      {2, 2.0, true},
      {2.5, 2.5, true},
      {2, 3, false},
      {2.5, 2, false},
      {json(std::uint64_t{7}), 7, true},
      {kMax, kMax, true},
      {kMax, kMax - 1, false},  // exact beyond a double's 53 bits
      {-1, -1.0, true},
      // Booleans count as 1 and 0.
      {1, true, true},
      {0, false, true},
      {true, 1, true},
      {true, true, true},
      {true, false, false},
      {2, true, false},
      // An expectation written as text that is all of a number (what ${VAR} gives) counts as
      // that number.
      {400, "400", true},
      {400, "400.0", true},
      {-3, "-3", true},
      {1000, "1e3", true},
      {0.5, ".5", true},
      {kMax, std::to_string(kMax), true},
      {true, "1", true},
      {400, "401", false},
      {400, " 400", false},
      {400, "400 ", false},
      {400, "+400", false},
      {400, "0x190", false},
      {400, "", false},
      {0, "nan", false},
      // ... but a value the database returned as text stays text.
      {"2", 2, false},
      {"2", 2.0, false},
      {"1", true, false},
      // Strings compare byte for byte.
      {"abc", "abc", true},
      {"abc", "ABC", false},
      {"400", "400", true},
      {"400", "400.0", false},
      {"", "", true},
      // Null matches only null.
      {nullptr, nullptr, true},
      {0, nullptr, false},
      {nullptr, 0, false},
      {"", nullptr, false},
      {nullptr, "", false},
      {false, nullptr, false},
      // Anything else does not match.
      {json::array({1}), json::array({1}), false},
      {json::object(), json::object(), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(QueryValueMatches(c.observed, c.expected), c.match)
        << "observed " << c.observed.dump() << ", expected " << c.expected.dump();
  }
}

TEST(QueryCheckTest, DescribeMismatchShowsBothValuesAsJson) {
  EXPECT_EQ(DescribeMismatch(3, 0), "returned 3, expected 0");
  EXPECT_EQ(DescribeMismatch("2", 2), "returned \"2\", expected 2");
  EXPECT_EQ(DescribeMismatch(nullptr, "x"), "returned null, expected \"x\"");
}

TEST(QueryCheckTest, AbbreviateSqlShowsTheFirstStatement) {
  struct Case {
    std::string sql;
    std::size_t max_chars;
    std::string shown;
  };
  const std::vector<Case> cases = {
      {"SELECT 1", 60, "SELECT 1"},
      {"  SELECT\n\tcount(*)\r\n  FROM t  ", 60, "SELECT count(*) FROM t"},
      {"SELECT 1; -- a comment", 60, "SELECT 1"},
      {" COMMIT; DELETE FROM docs;", 80, "COMMIT"},
      {"SELECT 'a;b' FROM t; SELECT 2", 60, "SELECT 'a;b' FROM t"},
      {"SELECT 'it''s; fine'; x", 60, "SELECT 'it''s; fine'"},
      {"SELECT \"odd;name\" FROM t", 60, "SELECT \"odd;name\" FROM t"},
      {"SELECT \"it's\"; x", 60, "SELECT \"it's\""},
      {"SELECT 12345", 6, "SELECT..."},
      {"SELECT 'é'", 9, "SELECT '..."},  // 'é' is two bytes: never cut inside it
      {"", 10, ""},
      {";", 10, ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AbbreviateSql(c.sql, c.max_chars), c.shown) << c.sql;
  }
}

TEST(QueryCheckTest, RunQueryCheckLabelsExpectsAndObserves) {
  const json spec = {{"sql", "SELECT count(*)\n  FROM orders;"}, {"expect", "3"}};
  std::string asked;
  CheckResult passed = RunQueryCheck(spec, [&](const std::string& sql) -> Result<json> {
    asked = sql;
    return json(3);
  });
  EXPECT_EQ(asked, "SELECT count(*)\n  FROM orders;");
  EXPECT_EQ(passed.label, "query SELECT count(*) FROM orders");
  EXPECT_EQ(passed.expected, "3");
  EXPECT_EQ(passed.observed, 3);
  EXPECT_TRUE(passed.status.ok()) << passed.status.ToString();

  CheckResult failed = RunQueryCheck(spec, [](const std::string&) -> Result<json> {
    return json(2);
  });
  EXPECT_EQ(failed.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(failed.status.message(), "returned 2, expected \"3\"");
  EXPECT_EQ(failed.observed, 2);

  CheckResult broken = RunQueryCheck(spec, [](const std::string&) -> Result<json> {
    return Status::IOError("failed: no such table");
  });
  EXPECT_EQ(broken.status.code(), Code::kIOError);
  EXPECT_TRUE(broken.observed.is_null());
}

TEST(QueryCheckTest, QueryActionOutcome) {
  Outcome plain = QueryActionOutcome(json(5), json{{"sql", "SELECT 5"}});
  EXPECT_TRUE(plain.status.ok());
  EXPECT_EQ(plain.outputs, json({{"value", 5}}));

  Outcome met = QueryActionOutcome(json(5), json{{"sql", "SELECT 5"}, {"expect", 5.0}});
  EXPECT_TRUE(met.status.ok());

  Outcome missed = QueryActionOutcome(json(3), json{{"sql", "SELECT 3"}, {"expect", 0}});
  EXPECT_EQ(missed.status.code(), Code::kExpectationFailed);
  EXPECT_EQ(missed.status.message(), "query returned 3, expected 0");
  EXPECT_EQ(missed.outputs, json({{"value", 3}}));

  Outcome error = QueryActionOutcome(Status::IOError("query: syntax error"), json::object());
  EXPECT_EQ(error.status.code(), Code::kIOError);
  EXPECT_EQ(error.outputs, json::object());
}

}  // namespace
}  // namespace backout::adapters::common
