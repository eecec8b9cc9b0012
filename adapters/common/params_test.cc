// Tests of the one parameter checker every adapter reads through: one message per rule,
// `${...}` references at plan and at run time, and how an error is told (Where,
// NamedMessage, DescribeErrors).
#include "adapters/common/params.h"

#include <gtest/gtest.h>

namespace backout::adapters::common {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// The one error `read` reports on a params Checker, as "pointer: message" ("" when none).
template <typename Read>
std::string OneError(Read read, References references = References::kResolved) {
  Checker checker(references, /*in_target=*/false);
  read(checker);
  const std::vector<ParamError> errors = checker.TakeErrors();
  if (errors.empty()) return "";
  EXPECT_EQ(errors.size(), 1u);
  return errors[0].pointer + ": " + errors[0].message;
}

TEST(CheckerTest, MappingMustBeAMapping) {
  EXPECT_EQ(OneError([](Checker& c) { c.Mapping(json::array(), "/wait_until"); }),
            "/wait_until: must be a mapping");
  EXPECT_EQ(OneError([](Checker& c) { c.Mapping(json{{"a", 1}}, "/x", {"a"}); }), "");
}

TEST(CheckerTest, UnknownKeysListWhatIsExpected) {
  EXPECT_EQ(OneError([](Checker& c) { c.Mapping(json{{"verb", 1}}, "", {"method", "path"}); }),
            "/verb: unknown key 'verb' (expected one of: method, path)");
  EXPECT_EQ(OneError([](Checker& c) { c.Mapping(json{{"x", 1}}, "/json", {"path"}); }),
            "/json/x: unknown key 'x' (expected path)");
  // At the top of an action's params the engine's own keys are allowed.
  EXPECT_EQ(OneError([](Checker& c) {
              c.Mapping(json{{"target", "db"}, {"timeout", "5s"}}, "", {"method"});
            }),
            "");
}

TEST(CheckerTest, MissingRequiredFieldIsRequired) {
  EXPECT_EQ(OneError([](Checker& c) {
              c.Field(json::object(), "", "to", Presence::kRequired, NonEmptyString);
            }),
            "/to: is required");
  EXPECT_EQ(OneError([](Checker& c) {
              c.Field(json::object(), "", "to", Presence::kOptional, NonEmptyString);
            }),
            "");
}

TEST(CheckerTest, TextExpectsAStringWithoutNul) {
  EXPECT_EQ(OneError([](Checker& c) { c.Text(true, "/cwd"); }), "/cwd: expected a string");
  EXPECT_EQ(OneError([](Checker& c) { c.Text(10, "/cwd"); }),
            "/cwd: expected a string (quote the number)");
  EXPECT_EQ(OneError([](Checker& c) { c.Text(std::string("a\0b", 3), "/cwd"); }),
            "/cwd: must not contain a NUL character");
  Checker checker(References::kResolved, false);
  EXPECT_EQ(checker.Text("dir", "/cwd"), "dir");
}

TEST(CheckerTest, NonEmptyTextAndNonEmptyStringSayTheSame) {
  EXPECT_EQ(OneError([](Checker& c) { c.NonEmptyText("", "/to"); }), "/to: must not be empty");
  EXPECT_EQ(OneError([](Checker& c) { NonEmptyString(c, "", "/to"); }), "/to: must not be empty");
  EXPECT_EQ(OneError([](Checker& c) { NonEmptyString(c, 3, "/to"); }),
            "/to: expected a string (quote the number)");
}

TEST(CheckerTest, FlagIsTrueOrFalse) {
  EXPECT_EQ(OneError([](Checker& c) { c.Flag("yes", "/required"); }),
            "/required: expected true or false");
  Checker checker(References::kResolved, false);
  EXPECT_EQ(checker.Flag("false", "/required"), false);  // what `${VAR}` expands to
  EXPECT_EQ(checker.Flag(true, "/required"), true);
}

TEST(CheckerTest, IntegerAcceptsDigitsAsText) {
  EXPECT_EQ(OneError([](Checker& c) { c.Integer("2x", "/expect_status"); }),
            "/expect_status: expected an integer");
  Checker checker(References::kResolved, false);
  EXPECT_EQ(checker.Integer("204", "/expect_status"), 204);
}

TEST(CheckerTest, DurationIsGreaterThanZero) {
  EXPECT_EQ(OneError([](Checker& c) { c.Duration("0s", "/interval"); }),
            "/interval: expected a duration greater than zero, such as 2s, 500ms or 1m30s");
  Checker checker(References::kResolved, false);
  EXPECT_EQ(checker.Duration("1m30s", "/interval"), milliseconds(90'000));
}

TEST(CheckerTest, UrlIsHttpOrHttps) {
  EXPECT_EQ(OneError([](Checker& c) { c.Url("ftp://host/", "/url"); }),
            "/url: expected an http:// or https:// URL");
  EXPECT_EQ(OneError([](Checker& c) { c.Url("HTTPS://host/", "/url"); }), "");
}

TEST(CheckerTest, ReferencesWaitForRunTimeOnlyAtPlanTime) {
  const auto read = [](Checker& c) {
    EXPECT_EQ(c.Integer("${CODE}", "/expect_status"), std::nullopt);
  };
  EXPECT_EQ(OneError(read, References::kUnresolved), "");
  EXPECT_EQ(OneError(read, References::kResolved), "/expect_status: expected an integer");
}

TEST(CheckerTest, ErrorsSayWhetherTheyAreAboutTheTarget) {
  InvocationChecker checkers(References::kResolved);
  checkers.params().Fail("/to", "is required");
  checkers.target().Fail("/base_url", "expected an http:// or https:// URL");
  const std::vector<ParamError> errors = checkers.TakeErrors();
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_TRUE(errors[0].in_target);  // the target's come first
  EXPECT_FALSE(errors[1].in_target);
}

enum class Kind { kRowCount, kIntegrity };
constexpr std::string_view kKinds[] = {"row_count", "integrity"};
void IgnoreCheck(Checker&, Kind, const json&, const std::string&) {}

TEST(CheckerTest, UnknownCheckListsTheKnownOnes) {
  EXPECT_EQ(OneError([](Checker& c) {
              CheckList(c, json::array({json{{"rowcount", 1}}}), "/checks", kKinds, IgnoreCheck);
            }),
            "/checks/0/rowcount: unknown check 'rowcount' (expected one of: row_count, integrity)");
}

TEST(OneOfTest, NamesOneOrSeveral) {
  EXPECT_EQ(OneOf(std::initializer_list<std::string_view>{"GET"}), "GET");
  EXPECT_EQ(OneOf(std::initializer_list<std::string_view>{"GET", "HEAD"}), "one of: GET, HEAD");
}

TEST(NoSuchActionTest, OneActionOrSeveral) {
  const AdapterVocabulary one{.type = "command", .actions = {{.name = "command"}}};
  const AdapterVocabulary several{.type = "sqlite",
                                  .actions = {{.name = "sql"}, {.name = "backup"}}};
  EXPECT_EQ(NoSuchAction(one, "sql")[0].message,
            "command targets support only the 'command' action, not 'sql'");
  EXPECT_EQ(NoSuchAction(several, "http")[0].message,
            "sqlite targets offer no action 'http' (expected one of: sql, backup)");
}

TEST(DescribeTest, WhereNamesTheTargetOrTheParams) {
  EXPECT_EQ(Where(ParamError{"/checks/1/row_count", "x", false}), "params/checks/1/row_count");
  EXPECT_EQ(Where(ParamError{"/base_url", "x", true}), "target/base_url");
  EXPECT_EQ(Where(ParamError{"", "x", false}), "params");
}

TEST(DescribeTest, PlanMessageNamesTheParameterAfterTheProblem) {
  EXPECT_EQ(NamedMessage(ParamError{"/to", "is required", false}), "is required (params/to)");
  EXPECT_EQ(NamedMessage(ParamError{"/path", "must not be empty", true}),
            "must not be empty (target/path)");
}

TEST(CheckerTest, AnUnknownNameCloseToAKnownOneGetsAHint) {
  Checker checker(References::kResolved, /*in_target=*/false);
  checker.Mapping(json{{"pth", 1}, {"zzz", 2}}, "", {"method", "path"});
  CheckList(checker, json::array({json{{"rowcount", 1}}}), "/checks", kKinds, IgnoreCheck);
  const std::vector<ParamError> errors = checker.TakeErrors();
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].hint, " (did you mean 'path'?)");
  EXPECT_EQ(errors[1].hint, "");  // nothing close to 'zzz'
  EXPECT_EQ(errors[2].hint, " (did you mean 'row_count'?)");
  // Told after the message and its place, at plan time and at run time.
  EXPECT_EQ(NamedMessage(errors[0]),
            "unknown key 'pth' (expected one of: method, path) (params/pth) (did you mean "
            "'path'?)");
  EXPECT_EQ(DescribeErrors({errors[0]}),
            "invalid params/pth: unknown key 'pth' (expected one of: method, path) (did you "
            "mean 'path'?)");
}

TEST(DescribeTest, RunMessageListsEveryError) {
  const std::vector<ParamError> errors = {{"/root", "must not be empty", true},
                                          {"/expect_status", "expected an integer", false}};
  EXPECT_EQ(DescribeErrors(errors),
            "invalid target/root: must not be empty; params/expect_status: expected an integer");
  EXPECT_EQ(DescribeErrors(errors, ParamsNoun::kAction, "http"),
            "invalid http action: target/root: must not be empty; /expect_status: expected an "
            "integer");
  EXPECT_EQ(DescribeErrors({ParamError{"", "give either 'argv' or 'shell', not both", false}},
                           ParamsNoun::kAction, "command"),
            "invalid command action: give either 'argv' or 'shell', not both");
}

}  // namespace
}  // namespace backout::adapters::common
