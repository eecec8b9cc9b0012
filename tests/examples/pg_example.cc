#include "tests/examples/pg_example.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace backout::testing {
namespace fs = std::filesystem;

std::string TestDatabase() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string(info->test_suite_name()) + "_" + info->name();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return std::isalnum(c) != 0 ? static_cast<char>(std::tolower(c)) : '_';
  });
  return "t_" + name.substr(0, 55);
}

std::map<std::string, std::string> PgExampleEnv(const std::string& db) {
  PgServer::Shared().CreateDatabase(db);
  return {{"DATABASE_URL", PgServer::Shared().dsn(db)}, {"BACKOUT", BackoutBinary().string()}};
}

std::string PreMigrationSnapshot(const std::string& example, int rows) {
  static std::map<std::pair<std::string, int>, std::string> made;
  auto [it, inserted] = made.try_emplace({example, rows});
  if (inserted) {
    std::string db = "pre_" + example + "_" + std::to_string(rows);
    std::replace(db.begin(), db.end(), '-', '_');
    std::map<std::string, std::string> env = PgExampleEnv(db);
    env["SKIP_MIGRATION"] = "1";
    const Example pre(example, rows, env);
    it->second = PgServer::Shared().Snapshot(db);
  }
  return it->second;
}

SnapshotParts SplitSnapshot(const std::string& snapshot) {
  SnapshotParts parts;
  std::istringstream lines(snapshot);
  for (std::string line; std::getline(lines, line);) {
    // "table public.NAME rows N md5 X"
    if (line.starts_with("table ")) {
      const std::size_t dot = line.find('.');
      parts.tables[line.substr(dot + 1, line.find(' ', dot) - dot - 1)] = line;
    } else {
      parts.schema.push_back(line);
    }
  }
  return parts;
}

std::string JoinSnapshot(const SnapshotParts& parts) {
  std::vector<std::string> lines = parts.schema;
  for (const auto& [table, line] : parts.tables) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

std::string Databases() {
  return PgServer::Shared().Psql(
      "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database");
}

bool BackoutWaitsForALock(const std::string& db) {
  return PgServer::Shared().Psql(
             "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
             "WHERE NOT l.granted AND a.application_name LIKE 'backout run %' AND a.datname = '" +
             db + "'") != "0\n";
}

namespace {
constexpr const char* kHolderApp = "backout-test-lock-holder";
}  // namespace

LockHolder::LockHolder(const std::string& db, const std::string& lock_sql,
                       const std::string& table) {
  const PgServer& pg = PgServer::Shared();
  session_ = std::make_unique<BackgroundProcess>(ProcessSpec{
      .argv = {(pg.bin_dir() / "psql").string(), "-XAtq", "-v", "ON_ERROR_STOP=1", "-d",
               pg.dsn(db), "-c", "BEGIN; " + lock_sql + "; SELECT pg_sleep(3600);"},
      .env = {{"PGAPPNAME", kHolderApp}}});
  const bool held = WaitFor(
      [&] {
        return pg.Psql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = "
                       "l.pid WHERE l.granted AND a.application_name = '" +
                           std::string(kHolderApp) + "' AND l.relation = '" + table +
                           "'::regclass",
                       db) != "0\n" ||
               !session_->Running();
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(held && session_->Running()) << "the lock holder did not get its lock";
}

LockHolder::~LockHolder() {
  // pg_sleep does not notice a dead client: end the session on the server too.
  PgServer::Shared().Psql(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '" +
      std::string(kHolderApp) + "'");
  session_->Signal(SIGKILL);
  session_->Wait();
}

void ExpectVerifiedAndReported(const Example& ex, const std::string& run_id,
                               const std::string& outcome) {
  const ProcessResult verify = ex.Backout({"verify", run_id});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  EXPECT_TRUE(Contains(verify.out, "hash chain intact")) << verify.out;
  EXPECT_EQ(ReportJson(ex, run_id)["summary"]["outcome"], outcome);
  const ProcessResult md = ex.Backout({"report", run_id, "--format", "md"});
  EXPECT_EQ(md.exit_code, 0) << Show(md);
  EXPECT_TRUE(Contains(md.out, run_id)) << md.out;
}

void ReplaceInFile(const fs::path& path, const std::string& from, const std::string& to) {
  std::string text = ReadFile(path);
  const std::size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << path << " no longer has: " << from;
  text.replace(at, from.size(), to);
  WriteFile(path, text);
}

void ExpectNoSecretIn(const Example& ex, const std::vector<std::string>& outputs,
                      const std::vector<std::string>& secrets, const std::string& journaled) {
  std::vector<std::pair<std::string, std::string>> texts;
  for (const std::string& output : outputs) texts.emplace_back("output", output);
  bool journal_has_journaled = false;
  for (const auto& entry : fs::recursive_directory_iterator(ex.dir())) {
    if (!entry.is_regular_file()) continue;
    std::string content = ReadFile(entry.path());
    const bool in_journal = entry.path().string().starts_with(ex.journal().string());
    if (in_journal && Contains(content, journaled)) journal_has_journaled = true;
    texts.emplace_back(entry.path().string(), std::move(content));
  }
  EXPECT_TRUE(journal_has_journaled) << "the journal's files should hold: " << journaled;
  for (const auto& [where, text] : texts) {
    for (const std::string& secret : secrets) {
      EXPECT_FALSE(Contains(text, secret)) << where << " holds a password";
    }
  }
}

}  // namespace backout::testing
