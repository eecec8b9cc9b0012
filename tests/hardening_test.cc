// End-to-end tests of three promises of issue 12 (docs/reliability.md), on the real `backout`
// binary with real SQLite files, real shells and real symlinks:
//   - the journal key never reaches a step (not even through /proc/PID/environ);
//   - no file backout writes is written through a planted link, and plan paths into the
//     journal are refused before a run exists;
//   - `${sql:...}` and `${sh:...}` keep a hostile value one literal.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;

const std::string kKey = "jk-7f3a91c2-never-in-a-child";

// Every byte of every regular file under `dir`.
std::string AllBytesUnder(const fs::path& dir) {
  std::string bytes;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) bytes += ReadFile(e.path());
  }
  return bytes;
}

std::vector<std::string> RunDirsIn(const fs::path& journal) {
  std::vector<std::string> runs;
  if (!fs::exists(journal)) return runs;
  for (const auto& entry : fs::directory_iterator(journal)) {
    if (entry.is_directory()) runs.push_back(entry.path().filename().string());
  }
  return runs;
}

std::string Sqlite(const fs::path& db, const std::string& sql) {
  const ProcessResult r = RunProcess({.argv = {"/usr/bin/sqlite3", db.string(), sql}});
  EXPECT_EQ(r.exit_code, 0) << "sqlite3 " << sql << ": " << r.err;
  return r.out;
}

// A folder with a plan, its journal under `journal/`, and `backout` run in it.
class Workspace {
 public:
  fs::path dir() const { return tmp_.path(); }
  fs::path journal() const { return dir() / "journal"; }
  void Plan(const std::string& name, const std::string& yaml) const { WriteFile(dir() / name, yaml); }
  ProcessResult Backout(const std::vector<std::string>& args,
                        std::map<std::string, std::string> env = {}) const {
    std::vector<std::string> argv = {BackoutBinary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    env.emplace("BACKOUT_JOURNAL", journal().string());
    env.emplace("BACKOUT_OPERATOR", "tester");
    return RunProcess({.argv = argv, .env = env, .cwd = dir()});
  }

 private:
  TempDir tmp_;
};

// ---------------------------------------------------------------------------------------
// Item 5: the journal key stays out of children.
// ---------------------------------------------------------------------------------------

// The step records what it can find: its own environment, its parent's (/proc/$PPID: the
// shell's parent is the runner itself, which the step also records), and prints both, so
// that they reach the journaled output tail and the log if the key is there.
const char* kSnoopPlan = R"(version: 1
name: snoop
targets:
  sh: { type: command, cwd: . }
steps:
  - id: snoop
    command:
      target: sh
      shell: |
        readlink /proc/$PPID/exe > parent-exe
        tr '\0' '\n' < /proc/$PPID/environ > parent-env
        tr '\0' '\n' < /proc/self/environ > own-env
        cat parent-env own-env
        env
)";

void ExpectNoKeyAnywhere(const Workspace& ws, const std::string& run_id,
                         const std::map<std::string, std::string>& env,
                         const std::vector<ProcessResult>& printed) {
  // The step really read its parent, the runner, and found its environment.
  EXPECT_EQ(fs::path(ReadFile(ws.dir() / "parent-exe")).filename().string().substr(0, 7),
            "backout");
  const std::string parent_env = ReadFile(ws.dir() / "parent-env");
  EXPECT_TRUE(Contains(parent_env, "BACKOUT_JOURNAL=")) << parent_env;
  EXPECT_FALSE(Contains(parent_env, kKey)) << "the runner's /proc/PID/environ shows the key";
  EXPECT_FALSE(Contains(parent_env, "BACKOUT_JOURNAL_KEY")) << parent_env;
  EXPECT_FALSE(Contains(ReadFile(ws.dir() / "own-env"), "BACKOUT_JOURNAL_KEY"));
  // Journal (RocksDB files, logs), reports and exports.
  for (const std::string format : {"md", "html", "json"}) {
    const ProcessResult report =
        ws.Backout({"report", run_id, "--format", format, "-o", "report." + format}, env);
    EXPECT_EQ(report.exit_code, 0) << Show(report);
    EXPECT_FALSE(Contains(ReadFile(ws.dir() / ("report." + format)), kKey));
  }
  const ProcessResult exported = ws.Backout({"export", run_id, "-o", "run.jsonl"}, env);
  EXPECT_EQ(exported.exit_code, 0) << Show(exported);
  EXPECT_FALSE(Contains(ReadFile(ws.dir() / "run.jsonl"), kKey));
  EXPECT_FALSE(Contains(AllBytesUnder(ws.journal()), kKey));
  for (const ProcessResult& r : printed) EXPECT_FALSE(Contains(r.out + r.err, kKey)) << Show(r);
  // And the key did its job: the run is keyed and verifies with it only.
  const ProcessResult verify = ws.Backout({"verify", run_id}, env);
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  EXPECT_TRUE(Contains(verify.out, "keyed")) << Show(verify);
  EXPECT_EQ(ws.Backout({"verify", run_id}).exit_code, 4);
}

TEST(JournalKeyIsolation, StepReadingItsOwnAndItsParentsEnvironmentFindsNoKey) {
  Workspace ws;
  ws.Plan("plan.yaml", kSnoopPlan);
  const std::map<std::string, std::string> env = {{"BACKOUT_JOURNAL_KEY", kKey}};
  const ProcessResult run = ws.Backout({"run", "plan.yaml"}, env);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  ExpectNoKeyAnywhere(ws, RunIdFrom(run), env, {run});
}

TEST(JournalKeyIsolation, KeyFileWorksLikeTheVariableAndItsPathIsNotPassedOn) {
  Workspace ws;
  ws.Plan("plan.yaml", kSnoopPlan);
  const fs::path key_file = ws.dir() / "journal.key";
  WriteFile(key_file, kKey + "\n");
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
  const ProcessResult run =
      ws.Backout({"run", "plan.yaml"}, {{"BACKOUT_JOURNAL_KEY_FILE", key_file.string()}});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  // The same key given either way: the variable reads what the file wrote.
  ExpectNoKeyAnywhere(ws, RunIdFrom(run), {{"BACKOUT_JOURNAL_KEY", kKey}}, {run});
  const ProcessResult by_file =
      ws.Backout({"verify", RunIdFrom(run)}, {{"BACKOUT_JOURNAL_KEY_FILE", key_file.string()}});
  EXPECT_EQ(by_file.exit_code, 0) << Show(by_file);
  EXPECT_FALSE(Contains(ReadFile(ws.dir() / "own-env"), "journal.key"));
}

TEST(JournalKeyIsolation, KeyFileReadableByGroupOrOthersIsRefused) {
  Workspace ws;
  ws.Plan("plan.yaml", kSnoopPlan);
  const fs::path key_file = ws.dir() / "journal.key";
  WriteFile(key_file, kKey);
  for (mode_t mode : {0644, 0640, 0604}) {
    ASSERT_EQ(::chmod(key_file.c_str(), mode), 0);
    const ProcessResult run =
        ws.Backout({"run", "plan.yaml"}, {{"BACKOUT_JOURNAL_KEY_FILE", key_file.string()}});
    EXPECT_EQ(run.exit_code, 2) << Show(run);
    EXPECT_TRUE(Contains(run.err, "BACKOUT_JOURNAL_KEY_FILE: " + key_file.string() +
                                      ": permissions"))
        << Show(run);
    EXPECT_TRUE(Contains(run.err, "too open")) << Show(run);
    EXPECT_FALSE(Contains(run.out + run.err, kKey));
  }
  EXPECT_TRUE(RunDirsIn(ws.journal()).empty());
  EXPECT_FALSE(fs::exists(ws.dir() / "parent-env"));  // no step ran
  ASSERT_EQ(::chmod(key_file.c_str(), 0600), 0);
  const ProcessResult both = ws.Backout(
      {"run", "plan.yaml"},
      {{"BACKOUT_JOURNAL_KEY_FILE", key_file.string()}, {"BACKOUT_JOURNAL_KEY", kKey}});
  EXPECT_EQ(both.exit_code, 2) << Show(both);
  EXPECT_TRUE(Contains(both.err, "set one")) << Show(both);
}

// ---------------------------------------------------------------------------------------
// Item 6: no write follows a planted link; no plan path into the journal.
// ---------------------------------------------------------------------------------------

const char* kBackupPlan = R"(version: 1
name: backup-only
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: backup
    backup: { target: db, to: backups/app-copy.db }
)";

// A file someone wants overwritten, with its mode, for the before/after comparison.
struct Victim {
  explicit Victim(fs::path p) : path(std::move(p)) {
    WriteFile(path, "victim: must never change\n");
    ::chmod(path.c_str(), 0644);
  }
  void ExpectUnchanged() const {
    EXPECT_EQ(ReadFile(path), "victim: must never change\n") << path;
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0644u) << path;
  }
  fs::path path;
};

// Links at the old fixed temp name and at names an attacker might guess for the new ones.
void PlantLinks(const fs::path& target, const fs::path& victim) {
  for (const std::string suffix :
       {".tmp-backout", ".partial", ".tmp", ".0000000000000000.tmp-backout",
        ".0000000000000000.partial", ".ffffffffffffffff.tmp-backout"}) {
    fs::create_symlink(victim, target.string() + suffix);
  }
}

void ExpectLinksStillThere(const fs::path& target, const fs::path& victim) {
  for (const std::string suffix : {".tmp-backout", ".partial", ".0000000000000000.tmp-backout"}) {
    const fs::path link = target.string() + suffix;
    EXPECT_TRUE(fs::is_symlink(link)) << link;
    EXPECT_EQ(fs::read_symlink(link), victim) << link;
  }
}

TEST(NoLinkFollowed, ReportExportBackupAndEnvEditDoNotWriteThroughPlantedLinks) {
  Workspace ws;
  const Victim victim(ws.dir() / "victim.txt");
  Sqlite(ws.dir() / "app.db", "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  fs::create_directories(ws.dir() / "backups");
  fs::create_directories(ws.dir() / "config");
  WriteFile(ws.dir() / "config" / ".env", "DATABASE_TYPE=sqlite\n");
  ws.Plan("plan.yaml", std::string(kBackupPlan) + R"(  - id: env-edit
    file: { target: config, set_env: { path: .env, values: { DATABASE_TYPE: file } } }
)");
  // The target list gets the file target (the plan above is valid YAML once it is added).
  std::string plan = ReadFile(ws.dir() / "plan.yaml");
  plan.replace(plan.find("steps:"), 0, "  config: { type: file, root: config }\n");
  ws.Plan("plan.yaml", plan);
  PlantLinks(ws.dir() / "backups" / "app-copy.db", victim.path);
  PlantLinks(ws.dir() / "config" / ".env", victim.path);

  const ProcessResult run = ws.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_EQ(Sqlite(ws.dir() / "backups" / "app-copy.db", "SELECT x FROM t"), "1\n");
  EXPECT_EQ(ReadFile(ws.dir() / "config" / ".env"), "DATABASE_TYPE=file\n");

  for (const std::string out : {"report.md", "run.jsonl"}) PlantLinks(ws.dir() / out, victim.path);
  // The -o file itself a link to the victim: replaced as a name, the victim left alone.
  fs::create_symlink(victim.path, ws.dir() / "linked.md");
  const ProcessResult report = ws.Backout({"report", run_id, "-o", "report.md"});
  EXPECT_EQ(report.exit_code, 0) << Show(report);
  const ProcessResult exported = ws.Backout({"export", run_id, "-o", "run.jsonl"});
  EXPECT_EQ(exported.exit_code, 0) << Show(exported);
  const ProcessResult linked = ws.Backout({"report", run_id, "-o", "linked.md"});
  EXPECT_EQ(linked.exit_code, 0) << Show(linked);

  victim.ExpectUnchanged();
  for (const std::string out : {"report.md", "run.jsonl", "linked.md"}) {
    EXPECT_FALSE(fs::is_symlink(ws.dir() / out)) << out;
    EXPECT_TRUE(Contains(ReadFile(ws.dir() / out), run_id)) << out;
  }
  ExpectLinksStillThere(ws.dir() / "report.md", victim.path);
  ExpectLinksStillThere(ws.dir() / "run.jsonl", victim.path);
  ExpectLinksStillThere(ws.dir() / "backups" / "app-copy.db", victim.path);
  ExpectLinksStillThere(ws.dir() / "config" / ".env", victim.path);
}

// A journal that already holds a finished run (`other`): the run a bad plan would damage.
class JournalPaths : public ::testing::Test {
 protected:
  void SetUp() override {
    Sqlite(ws.dir() / "app.db", "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    ws.Plan("plan.yaml", kBackupPlan);
    const ProcessResult first = ws.Backout({"run", "plan.yaml"});
    ASSERT_EQ(first.exit_code, 0) << Show(first);
    other = RunIdFrom(first);
    current = ReadFile(ws.journal() / other / "db" / "CURRENT");
  }
  // The other run's files are as they were, and it still verifies.
  void TearDown() override {
    EXPECT_EQ(ReadFile(ws.journal() / other / "db" / "CURRENT"), current);
    const ProcessResult verify = ws.Backout({"verify", other});
    EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  }

  Workspace ws;
  std::string other, current;
};

TEST_F(JournalPaths, BackupIntoTheJournalIsRefusedByValidateAndRunBeforeAnyRun) {

  // Straight into another run's RocksDB, and the same through a symlinked folder.
  fs::create_symlink(ws.journal(), ws.dir() / "innocent");
  for (const std::string& to : std::vector<std::string>{
           "journal/" + other + "/db/CURRENT", "innocent/" + other + "/db/CURRENT",
        "./backups/../journal/x.db"}) {
    ws.Plan("evil.yaml", R"(version: 1
name: evil
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: backup
    backup: { target: db, to: ")" + to + R"(" }
)");
    const ProcessResult validate = ws.Backout({"validate", "evil.yaml"});
    EXPECT_EQ(validate.exit_code, 2) << Show(validate);
    EXPECT_TRUE(Contains(validate.err, "evil.yaml:7:31: error: path '" + to + "'"))
        << Show(validate);
    EXPECT_TRUE(Contains(validate.err, "inside the journal directory")) << Show(validate);
    // --journal wins over $BACKOUT_JOURNAL, for validate as for run.
    const ProcessResult elsewhere =
        ws.Backout({"validate", "evil.yaml", "--journal", (ws.dir() / "j2").string()});
    EXPECT_EQ(elsewhere.exit_code, 0) << Show(elsewhere);

    const ProcessResult run = ws.Backout({"run", "evil.yaml"});
    EXPECT_EQ(run.exit_code, 2) << Show(run);
    EXPECT_TRUE(Contains(run.err, "evil.yaml:7:31: error: path '" + to + "'")) << Show(run);
    EXPECT_EQ(RunDirsIn(ws.journal()), std::vector<std::string>{other});
  }
}

TEST_F(JournalPaths, APathFromAStepOutputIntoTheJournalFailsTheStepWhenItRuns) {
  // Known only once `where` has run, so validation cannot see it.
  ws.Plan("evil.yaml", R"(version: 1
name: evil-later
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: where
    query: { target: db, sql: "SELECT 'journal/)" + other + R"(/db/CURRENT'" }
  - id: backup
    backup: { target: db, to: "${steps.where.outputs.value}" }
)");
  EXPECT_EQ(ws.Backout({"validate", "evil.yaml"}).exit_code, 0);
  const ProcessResult run = ws.Backout({"run", "evil.yaml"});
  EXPECT_EQ(run.exit_code, 1) << Show(run);
  EXPECT_TRUE(Contains(run.out + run.err, "inside the journal directory")) << Show(run);
}

// ---------------------------------------------------------------------------------------
// Item 12: quoting forms keep a value one literal.
// ---------------------------------------------------------------------------------------

// Quotes, semicolons, newlines, a comment, a command substitution: one value.
const std::string kHostile = "it's'); DROP TABLE notes; --\nline 2; $(touch pwned) `touch pwned2` \"q\"";

TEST(Quoting, SqlLiteralFormInsertsAHostileValueAsOneValue) {
  Workspace ws;
  Sqlite(ws.dir() / "app.db", "CREATE TABLE notes(body TEXT);");
  ws.Plan("plan.yaml", R"(version: 1
name: quoting-sql
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: insert
    sql: { target: db, script: "INSERT INTO notes(body) VALUES (${sql:NOTE});" }
    idempotent: true
)");
  const ProcessResult run = ws.Backout({"run", "plan.yaml"}, {{"NOTE", kHostile}});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  // One row, byte for byte the value; the table survived.
  EXPECT_EQ(Sqlite(ws.dir() / "app.db", "SELECT count(*) FROM notes"), "1\n");
  const ProcessResult hex = RunProcess(
      {.argv = {"/usr/bin/sqlite3", (ws.dir() / "app.db").string(), "SELECT hex(body) FROM notes"}});
  std::string expected;
  constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : kHostile) {
    expected += kHex[c >> 4];
    expected += kHex[c & 15];
  }
  EXPECT_EQ(hex.out, expected + "\n");
  // The value came from ${...}: masked as before, quoted or not.
  EXPECT_FALSE(Contains(AllBytesUnder(ws.journal()), "DROP TABLE notes"));
}

TEST(Quoting, ShellWordFormPassesAHostileValueAsOneWord) {
  Workspace ws;
  ws.Plan("plan.yaml", R"(version: 1
name: quoting-sh
targets:
  sh: { type: command, cwd: . }
steps:
  - id: echo
    command:
      target: sh
      shell: "set -- ${sh:NOTE}; printf '%s|%s' \"$#\" \"$1\" > got.txt; printf 'got %s' \"$1\""
)");
  const ProcessResult run = ws.Backout({"run", "plan.yaml"}, {{"NOTE", kHostile}});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  EXPECT_EQ(ReadFile(ws.dir() / "got.txt"), "1|" + kHostile);
  EXPECT_FALSE(fs::exists(ws.dir() / "pwned"));
  EXPECT_FALSE(fs::exists(ws.dir() / "pwned2"));
  // The value came from ${sh:NOTE}: the journaled output shows it masked, as with ${NOTE}.
  // Only the command's raw log (its own output, kept as written) holds it, which also shows
  // that this scan would find it.
  const std::string run_id = RunIdFrom(run);
  const ProcessResult events = ws.Backout({"events", run_id, "--json"});
  EXPECT_TRUE(Contains(events.out, "got ***")) << events.out;
  const fs::path logs = ws.journal() / run_id / "logs";
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(ws.journal())) {
    if (!e.is_regular_file() || e.path().parent_path() == logs) continue;
    EXPECT_FALSE(Contains(ReadFile(e.path()), "DROP TABLE notes")) << e.path();
  }
  EXPECT_TRUE(Contains(AllBytesUnder(logs), "got " + kHostile));
}

}  // namespace
}  // namespace backout::testing
