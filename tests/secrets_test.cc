// Secrets end to end (design section 3, issue 7): each example runs with known secret values
// in the environment, used by its plan through ${VAR}s, and none of them may appear in the
// journal directory (RocksDB files and step logs included: `strings` would find them there),
// in what any command prints, in the reports (md, html, json) or in an export. The journal's
// directories must be 0700 and the step logs, reports and exports 0600.
//
// One row per example. The examples that arrive with the PostgreSQL, DynamoDB and HTTP
// adapters are meant to be added as rows: a row names the example, the edits that make its
// plan take secrets through ${VAR}s (none once the plan has its own, e.g. ${DATABASE_URL}),
// the secret values, and how to run it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

struct SecretCase {
  std::string label;
  std::string example;  // examples/NAME
  // Text replacements in the copy's plan.yaml, each of which must match exactly once.
  std::vector<std::pair<std::string, std::string>> plan_edits;
  std::map<std::string, std::string> secrets;   // variable -> its secret value
  std::function<void(const Example&)> prepare;  // puts the data where the secrets say
  std::vector<std::string> run_args;
};

std::vector<SecretCase> Cases() {
  return {
      {.label = "media_rollback",
       .example = "media-rollback",
       // The database file's name and a token in a command's environment become secrets.
       .plan_edits = {{"appdb: { type: sqlite, path: data/app.db }",
                       "appdb: { type: sqlite, path: \"data/${MEDIA_DB_NAME}\" }"},
                      {"argv: [./app-ctl, stop], timeout: 2m }",
                       "argv: [./app-ctl, stop], timeout: 2m, env: { APP_TOKEN: \"${APP_TOKEN}\" } }"}},
       .secrets = {{"MEDIA_DB_NAME", "k7Q-dbname-s3cr3t.db"}, {"APP_TOKEN", "tok-9f8e7d-S3CR3T"}},
       .prepare = [](const Example& ex) {
         fs::rename(ex.dir() / "data/app.db", ex.dir() / "data/k7Q-dbname-s3cr3t.db");
       },
       .run_args = {"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"}},
  };
}

class Secrets : public ::testing::TestWithParam<SecretCase> {};

unsigned Mode(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST_P(Secrets, NeverWrittenAnywhereAndFilesArePrivate) {
  const SecretCase& c = GetParam();
  Example ex(c.example, 300);
  std::string plan = ReadFile(ex.plan());
  for (const auto& [from, to] : c.plan_edits) {
    const std::size_t at = plan.find(from);
    ASSERT_NE(at, std::string::npos) << "the example changed; update this row: " << from;
    ASSERT_EQ(plan.find(from, at + 1), std::string::npos) << from;
    plan.replace(at, from.size(), to);
  }
  WriteFile(ex.plan(), plan);
  if (c.prepare) c.prepare(ex);

  const fs::path out = ex.dir() / "out";  // reports and exports, beside the journal
  fs::create_directories(out);
  const ProcessResult run = ex.Backout(c.run_args, c.secrets);
  ASSERT_EQ(run.exit_code, 0) << Show(run);  // so the secrets were expanded and used
  const std::string run_id = RunIdFrom(run);

  // Everything the commands print, and every file they write.
  std::vector<std::pair<std::string, std::string>> texts = {{"run", run.out + run.err}};
  const std::vector<std::vector<std::string>> commands = {
      {"status", run_id}, {"status", run_id, "--json"}, {"status"}, {"events", run_id},
      {"events", run_id, "--json"}, {"verify", run_id}, {"report", run_id},
      {"report", run_id, "--format", "html"}, {"report", run_id, "--format", "json"},
      {"report", run_id, "-o", (out / "report.md").string()},
      {"report", run_id, "--format", "html", "-o", (out / "report.html").string()},
      {"report", run_id, "--format", "json", "-o", (out / "report.json").string()},
      {"export", run_id, "-o", (out / "run.jsonl").string()},
      {"replay", run_id}};
  for (const std::vector<std::string>& args : commands) {
    const ProcessResult r = ex.Backout(args, c.secrets);
    EXPECT_EQ(r.exit_code, 0) << args[0] << "\n" << Show(r);
    texts.emplace_back(args[0] + " " + args.back(), r.out + r.err);
  }
  int files = 0;
  for (const fs::path& root : {ex.journal(), out}) {
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file()) continue;
      texts.emplace_back(e.path().string(), ReadFile(e.path()));
      ++files;
    }
  }
  EXPECT_GT(files, 8);
  for (const auto& [where, text] : texts) {
    for (const auto& [var, value] : c.secrets) {
      EXPECT_EQ(text.find(value), std::string::npos) << where << " holds the value of " << var;
    }
  }
  // The scan reads the stored bytes: the run id, in every record, is found in the RocksDB
  // files as it is.
  EXPECT_TRUE(std::any_of(texts.begin(), texts.end(), [&](const auto& t) {
    return t.first.ends_with(".log") && t.first.find("/db/") != std::string::npos &&
           Contains(t.second, run_id);
  })) << "the WAL should hold the run id in clear";

  // Private files: every directory of the journal 0700; step logs, reports, exports 0600.
  EXPECT_EQ(Mode(ex.journal()), 0700u);
  for (const auto& e : fs::recursive_directory_iterator(ex.journal())) {
    if (e.is_directory()) {
      EXPECT_EQ(Mode(e.path()), 0700u) << e.path();
    }
  }
  int logs = 0;
  for (const auto& e : fs::directory_iterator(ex.journal() / run_id / "logs")) {
    EXPECT_EQ(Mode(e.path()), 0600u) << e.path();
    ++logs;
  }
  EXPECT_GT(logs, 0);
  for (const auto& e : fs::directory_iterator(out)) EXPECT_EQ(Mode(e.path()), 0600u) << e.path();
}

INSTANTIATE_TEST_SUITE_P(Examples, Secrets, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<SecretCase>& row) {
                           return row.param.label;
                         });

}  // namespace
}  // namespace backout::testing
