#include "plan/interpolate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <optional>

namespace backout::plan {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

TEST(FindReferencesTest, FindsBothForms) {
  Result<std::vector<Reference>> refs =
      FindReferences("cp ${SRC_DIR}/x ${steps.backup.outputs.tables.images.rows} $${LITERAL}");
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].kind, Reference::Kind::kVariable);
  EXPECT_EQ((*refs)[0].name, "SRC_DIR");
  EXPECT_EQ((*refs)[0].offset, 3u);
  EXPECT_EQ((*refs)[1].kind, Reference::Kind::kStepOutput);
  EXPECT_EQ((*refs)[1].name, "backup");
  EXPECT_EQ((*refs)[1].output_path, "tables.images.rows");
  EXPECT_EQ((*refs)[1].offset, 16u);
}

TEST(FindReferencesTest, PlainTextHasNone) {
  for (std::string_view text : {"", "no refs", "$HOME", "$ {X}", "$${X}", "{X}", "$$"}) {
    Result<std::vector<Reference>> refs = FindReferences(text);
    ASSERT_TRUE(refs.ok()) << text;
    EXPECT_TRUE(refs->empty()) << text;
  }
}

struct MalformedCase {
  std::string text;
  std::string phrase;
};

class MalformedReferenceTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedReferenceTest, IsInvalidArgumentNamingOffsetAndText) {
  Result<std::vector<Reference>> refs = FindReferences(GetParam().text);
  ASSERT_FALSE(refs.ok());
  EXPECT_EQ(refs.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refs.status().message(), HasSubstr(GetParam().phrase));
}

INSTANTIATE_TEST_SUITE_P(
    Texts, MalformedReferenceTest,
    ::testing::Values(
        MalformedCase{"abc ${HOME", "'${HOME' at offset 4: missing '}'"},
        MalformedCase{"${}", "'${}' at offset 0: empty name"},
        MalformedCase{"x ${steps.backup}", "'${steps.backup}' at offset 2: expected"},
        MalformedCase{"${steps}", "expected ${steps.ID.outputs.NAME}"},
        MalformedCase{"${steps.a.outputs.}", "expected ${steps.ID.outputs.NAME}"},
        MalformedCase{"${steps.a.outputs.x..y}", "expected ${steps.ID.outputs.NAME}"},
        MalformedCase{"${steps..outputs.x}", "expected ${steps.ID.outputs.NAME}"},
        MalformedCase{"${1ABC}", "'${1ABC}' at offset 0: a variable name"},
        MalformedCase{"${DATABASE-URL}", "'${DATABASE-URL}'"},
        MalformedCase{"${A B}", "'${A B}'"},
        MalformedCase{"ok ${A} then ${", "at offset 13: missing '}'"},
        MalformedCase{"${url:A}", "unknown quoting 'url:'"},
        MalformedCase{"${sql:}", "empty name"},
        MalformedCase{"${sh:1A}", "a variable name"},
        MalformedCase{"${sql:steps.x}", "expected ${steps.ID.outputs.NAME}"}));

TEST(FindReferencesTest, QuotingPrefixIsKeptApartFromTheName) {
  Result<std::vector<Reference>> refs =
      FindReferences("${sql:NAME} ${sh:steps.b.outputs.path} ${PLAIN}");
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_EQ(refs->size(), 3u);
  EXPECT_EQ((*refs)[0].name, "NAME");
  EXPECT_EQ((*refs)[0].quoting, Reference::Quoting::kSql);
  EXPECT_EQ((*refs)[1].kind, Reference::Kind::kStepOutput);
  EXPECT_EQ((*refs)[1].name, "b");
  EXPECT_EQ((*refs)[1].quoting, Reference::Quoting::kShell);
  EXPECT_EQ((*refs)[2].quoting, Reference::Quoting::kNone);
}

// What an SQL string literal means: the inverse of QuoteSqlLiteral, as an SQL lexer reads it.
// nullopt when `text` is not exactly one literal (the literal ends early: injection).
std::optional<std::string> ReadSqlLiteral(std::string_view text) {
  if (text.size() < 2 || text.front() != '\'' || text.back() != '\'') return std::nullopt;
  std::string out;
  for (std::size_t i = 1; i + 1 < text.size(); ++i) {
    if (text[i] == '\'') {
      if (i + 2 >= text.size() || text[i + 1] != '\'') return std::nullopt;
      ++i;
    }
    out += text[i];
  }
  return out;
}

const std::vector<std::string> kHostileValues = {
    "plain",
    "it's",
    "'; DROP TABLE users; --",
    "a\nb;\nDELETE FROM t;",
    "''''",
    "'",
    "$(touch /tmp/pwned) `id` ${HOME} \\ \" ; ' \n",
    "",
};

TEST(QuoteTest, SqlLiteralHoldsAnyValueAsOneLiteral) {
  for (const std::string& value : kHostileValues) {
    Result<std::string> quoted = QuoteSqlLiteral(value);
    ASSERT_TRUE(quoted.ok()) << value;
    EXPECT_EQ(ReadSqlLiteral(*quoted), value) << *quoted;
  }
  EXPECT_EQ(*QuoteSqlLiteral("it's"), "'it''s'");
}

TEST(QuoteTest, ShellWordHoldsAnyValueAsOneWord) {
  EXPECT_EQ(*QuoteShellWord("it's"), "'it'\\''s'");
  // The real shell is the judge: printf gets exactly one argument, byte for byte the value.
  for (const std::string& value : kHostileValues) {
    Result<std::string> quoted = QuoteShellWord(value);
    ASSERT_TRUE(quoted.ok()) << value;
    const std::string script = "set -- " + *quoted + "; printf '%s|%d' \"$1\" $#";
    Result<std::string> sh_quoted = QuoteShellWord(script);
    FILE* pipe = ::popen(("/bin/sh -c " + *sh_quoted).c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string out;
    char buffer[256];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ASSERT_EQ(::pclose(pipe), 0) << script;
    EXPECT_EQ(out, value + "|1") << script;
  }
}

TEST(QuoteTest, NulByteIsRefused) {
  const std::string nul("a\0b", 3);
  EXPECT_EQ(QuoteSqlLiteral(nul).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(QuoteShellWord(nul).status().code(), Code::kInvalidArgument);
}

TEST(MalformedReferenceTest, LongTextIsCutInTheMessage) {
  const std::string text = "${" + std::string(500, 'A');
  Result<std::vector<Reference>> refs = FindReferences(text);
  ASSERT_FALSE(refs.ok());
  EXPECT_LT(refs.status().message().size(), 200u);
  EXPECT_THAT(refs.status().message(), HasSubstr("...' at offset 0"));
}

// Lookups over fixed tables, recording which step outputs were asked for.
class ExpandTest : public ::testing::Test {
 protected:
  Lookups MakeLookups() {
    Lookups lookups;
    lookups.variable = [this](const std::string& name) -> std::optional<std::string> {
      auto it = variables_.find(name);
      if (it == variables_.end()) return std::nullopt;
      return it->second;
    };
    lookups.step_output = [this](const std::string& step,
                                 const std::string& path) -> std::optional<json> {
      asked_.push_back(step + ":" + path);
      auto it = outputs_.find(step + ":" + path);
      if (it == outputs_.end()) return std::nullopt;
      return it->second;
    };
    return lookups;
  }

  Result<json> Run(std::string_view text) { return Expand(text, MakeLookups(), &secrets_); }

  std::map<std::string, std::string> variables_ = {
      {"DATABASE_URL", "postgres://u:hunter2@db"}, {"EMPTY", ""}, {"USER", "ann"}};
  std::map<std::string, json> outputs_ = {
      {"backup:path", "/backups/app.db"},
      {"backup:bytes", 4096},
      {"backup:ok", true},
      {"baseline:tables.images.rows", 12},
      {"baseline:tables", json({{"images", {{"rows", 12}}}})},
      {"baseline:names", json({"a", "b"})},
      {"backup:nothing", nullptr}};
  std::vector<std::string> secrets_;
  std::vector<std::string> asked_;
};

TEST_F(ExpandTest, TextWithoutReferencesIsUnchanged) {
  Result<json> out = Run("SELECT 1");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "SELECT 1");
  EXPECT_TRUE(secrets_.empty());
}

TEST_F(ExpandTest, VariableValuesAreRecordedAsSecrets) {
  Result<json> out = Run("dsn=${DATABASE_URL} user=${USER} again=${USER}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "dsn=postgres://u:hunter2@db user=ann again=ann");
  EXPECT_EQ(secrets_, (std::vector<std::string>{"postgres://u:hunter2@db", "ann"}));
}

TEST_F(ExpandTest, QuotedVariableIsOneLiteralAndBothFormsAreSecrets) {
  variables_["PW"] = "pa'ss;\nDROP TABLE t;--";
  Result<json> out = Run("SELECT ${sql:PW}; echo ${sh:PW}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "SELECT 'pa''ss;\nDROP TABLE t;--'; echo 'pa'\\''ss;\nDROP TABLE t;--'");
  EXPECT_EQ(secrets_, (std::vector<std::string>{"pa'ss;\nDROP TABLE t;--",
                                                "'pa''ss;\nDROP TABLE t;--'",
                                                "'pa'\\''ss;\nDROP TABLE t;--'"}));
}

TEST_F(ExpandTest, QuotedStepOutputIsAlwaysText) {
  outputs_["backup:path"] = "/b/it's.db";
  Result<json> out = Run("${sql:steps.backup.outputs.path}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "'/b/it''s.db'");
  out = Run("${sh:steps.backup.outputs.bytes}");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "'4096'");  // a number quoted is a string, not a number
  EXPECT_TRUE(secrets_.empty());  // step outputs are journaled already: no secrets
}

TEST_F(ExpandTest, QuotingANulIsAnErrorNamingTheVariable) {
  variables_["BIN"] = std::string("a\0b", 3);
  Result<json> out = Run("${sql:BIN}");
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(out.status().message(), HasSubstr("environment variable BIN: "));
}

TEST_F(ExpandTest, EmptyVariableExpandsButIsNoSecret) {
  Result<json> out = Run("[${EMPTY}]");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "[]");
  EXPECT_TRUE(secrets_.empty());
}

TEST_F(ExpandTest, SecretsOutMayBeNull) {
  Result<json> out = Expand("${USER}", MakeLookups(), nullptr);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "ann");
}

TEST_F(ExpandTest, SingleStepReferenceKeepsItsType) {
  Result<json> bytes = Run("${steps.backup.outputs.bytes}");
  ASSERT_TRUE(bytes.ok());
  EXPECT_TRUE(bytes->is_number_integer());
  EXPECT_EQ(*bytes, 4096);

  Result<json> tables = Run("${steps.baseline.outputs.tables}");
  ASSERT_TRUE(tables.ok());
  EXPECT_EQ(*tables, json({{"images", {{"rows", 12}}}}));

  Result<json> nothing = Run("${steps.backup.outputs.nothing}");
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->is_null());
}

TEST_F(ExpandTest, NestedPathIsPassedToTheLookup) {
  Result<json> rows = Run("${steps.baseline.outputs.tables.images.rows}");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 12);
  EXPECT_EQ(asked_, std::vector<std::string>{"baseline:tables.images.rows"});
}

TEST_F(ExpandTest, EmbeddedStepOutputsAreRenderedAsText) {
  Result<json> out = Run(
      "from '${steps.backup.outputs.path}' (${steps.backup.outputs.bytes} bytes, "
      "ok=${steps.backup.outputs.ok}, ${steps.backup.outputs.nothing})");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out, "from '/backups/app.db' (4096 bytes, ok=true, null)");
  EXPECT_TRUE(secrets_.empty());  // step outputs are journaled anyway
}

TEST_F(ExpandTest, DoubledDollarIsALiteral) {
  Result<json> out = Run("echo $${HOME} ${USER} $$");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "echo ${HOME} ann $$");
}

TEST_F(ExpandTest, EscapedReferenceAloneIsAString) {
  Result<json> out = Run("$${steps.backup.outputs.bytes}");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "${steps.backup.outputs.bytes}");
}

TEST_F(ExpandTest, UnknownStepOutputIsNotFound) {
  Result<json> out = Run("cp ${steps.backup.outputs.paht} x");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
  EXPECT_EQ(out.status().message(), "step 'backup' has no output 'paht'");
}

TEST_F(ExpandTest, UnknownStepOutputListsTheOutputsTheStepHas) {
  Lookups lookups = MakeLookups();
  lookups.output_names = [](const std::string& step) {
    return step == "backup" ? std::vector<std::string>{"path", "bytes", "ok"}
                            : std::vector<std::string>{};
  };
  Result<json> out = Expand("cp ${steps.backup.outputs.paht} x", lookups, nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
  EXPECT_EQ(out.status().message(),
            "step 'backup' has no output 'paht' (did you mean 'path'?); it has: path, bytes, ok");
  out = Expand("${steps.gate.outputs.who}", lookups, nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "step 'gate' has no output 'who'; it has no outputs");
}

TEST_F(ExpandTest, MissingVariableIsNotFound) {
  Result<json> out = Run("${NOPE}");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
  EXPECT_THAT(out.status().message(), HasSubstr("NOPE"));
}

TEST_F(ExpandTest, StructuredOutputInsideAStringIsInvalid) {
  for (std::string_view text :
       {"x ${steps.baseline.outputs.tables}", "${steps.baseline.outputs.names}!"}) {
    Result<json> out = Run(text);
    ASSERT_FALSE(out.ok()) << text;
    EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(out.status().message(), HasSubstr("cannot be placed inside a string"));
  }
}

TEST_F(ExpandTest, MalformedReferenceIsInvalid) {
  Result<json> out = Run("${oops");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kInvalidArgument);
}

TEST_F(ExpandTest, MissingLookupsFindNothing) {
  Result<json> out = Expand("${USER}", Lookups{}, nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
}

TEST_F(ExpandTest, TreeExpandsEveryStringAndLeavesKeys) {
  const json row_count = {{"equals", "${steps.baseline.outputs.tables.images.rows}"}};
  const json tree = {{"target", "appdb"},
                     {"${USER}", "key stays"},
                     {"from", "${steps.backup.outputs.path}"},
                     {"checks", {{{"row_count", row_count}}, {{"integrity", true}}}},
                     {"limit", 5}};
  Result<json> out = ExpandTree(tree, MakeLookups(), &secrets_);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const json expected = {{"target", "appdb"},
                         {"${USER}", "key stays"},
                         {"from", "/backups/app.db"},
                         {"checks", {{{"row_count", {{"equals", 12}}}}, {{"integrity", true}}}},
                         {"limit", 5}};
  EXPECT_EQ(*out, expected);
  EXPECT_TRUE(secrets_.empty());
}

TEST_F(ExpandTest, TreeErrorNamesThePointer) {
  const json tree = {{"checks", {{{"sql", "ok"}}, {{"sql", "${MISSING}"}}}}};
  Result<json> out = ExpandTree(tree, MakeLookups(), &secrets_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Code::kNotFound);
  EXPECT_THAT(out.status().message(), HasSubstr("/checks/1/sql: "));
  EXPECT_THAT(out.status().message(), HasSubstr("MISSING"));
}

TEST(OutputAtTest, FollowsDottedKeys) {
  const json outputs = {{"path", "/backups/app.db"},
                        {"tables", {{"images", {{"rows", 12}}}, {"a.b", 1}}},
                        {"list", {1, 2}},
                        {"", "empty key"}};
  EXPECT_EQ(OutputAt(outputs, "path"), json("/backups/app.db"));
  EXPECT_EQ(OutputAt(outputs, "tables.images.rows"), json(12));
  EXPECT_EQ(OutputAt(outputs, "tables.images"), json({{"rows", 12}}));
  EXPECT_EQ(OutputAt(outputs, ""), json("empty key"));
  EXPECT_EQ(OutputAt(outputs, "missing"), std::nullopt);
  EXPECT_EQ(OutputAt(outputs, "tables.images.rows.more"), std::nullopt);  // into a number
  EXPECT_EQ(OutputAt(outputs, "list.0"), std::nullopt);  // parts are keys, not indexes
  EXPECT_EQ(OutputAt(outputs, "tables.a.b"), std::nullopt);  // a dot always splits
  EXPECT_EQ(OutputAt(outputs, "path."), std::nullopt);
  EXPECT_EQ(OutputAt(json(5), "x"), std::nullopt);
}

}  // namespace
}  // namespace backout::plan
