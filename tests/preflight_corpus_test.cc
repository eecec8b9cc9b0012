// The corpus of issue 14 ("Deliver 3"): plans that used to fail after an effect. Each plan
// first changes a target (an INSERT into app.db), then has a step that cannot succeed for a
// reason knowable before the run. `run` must now refuse each with exit 2 and one clear
// message, create no run, and leave every file of the plan's folder byte-identical; with
// --skip-preflight the run starts, and the journal says who skipped.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>

#include <fmt/format.h>

#include "base/sha256.h"
#include "tests/support/example.h"
#include "tests/support/process.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::seconds kLimit{60};  // a bound on waiting, never a measurement

Example::FromDir Folder() { return {SourceDir() / "tests" / "data" / "preflight"}; }

// A plan whose first step changes app.db (so a run that got anywhere shows), with more
// `targets` lines and then `steps`.
std::string PlanText(std::string_view targets, std::string_view steps) {
  return fmt::format(R"(version: 1
name: preflight-corpus
targets:
  appdb: {{ type: sqlite, path: app.db }}
{}
steps:
  - id: mark
    sql: {{ target: appdb, script: "INSERT INTO marks VALUES ('mark');" }}
{}
)",
                     targets, steps);
}

// SHA-256 of every file below the example's folder but the journal, by relative path.
std::map<std::string, std::string> Snapshot(const Example& ex) {
  std::map<std::string, std::string> digests;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(ex.dir())) {
    const fs::path relative = fs::relative(entry.path(), ex.dir());
    if (*relative.begin() == "journal") continue;
    if (!entry.is_regular_file()) {
      digests[relative.string()] = entry.is_directory() ? "dir" : "other";
      continue;
    }
    Result<FileDigest> digest = Sha256File(entry.path());
    digests[relative.string()] = digest.ok() ? digest->sha256_hex : digest.status().message();
  }
  return digests;
}

int RunsInJournal(const Example& ex) {
  if (!fs::exists(ex.journal())) return 0;
  int runs = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(ex.journal())) {
    if (entry.is_directory()) ++runs;
  }
  return runs;
}

// `run` refuses the plan with exit 2 and one message holding `expected`; no run exists and
// no file changed.
void ExpectRefused(const Example& ex, const std::string& expected) {
  const std::map<std::string, std::string> before = Snapshot(ex);
  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  EXPECT_EQ(run.exit_code, 2) << Show(run);
  EXPECT_EQ(Occurrences(run.err, "preflight failed:"), 1) << Show(run);
  EXPECT_TRUE(Contains(run.err, expected)) << Show(run);
  EXPECT_TRUE(Contains(run.err, "run refused: 1 preflight check failed; nothing was changed"))
      << Show(run);
  EXPECT_TRUE(run.out.empty()) << "a run id was printed: " << Show(run);
  EXPECT_EQ(RunsInJournal(ex), 0);
  EXPECT_EQ(Snapshot(ex), before);
  EXPECT_EQ(DumpDatabase(ex.dir() / "app.db").find("'mark'"), std::string::npos);
}

// A TCP port on 127.0.0.1 that nothing listens on (bound, then closed).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), size), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(PreflightCorpus, MissingRestoreSourceIsRefusedBeforeTheFirstStep) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("", R"(  - id: restore
    restore: { target: appdb, from: backups/missing.db })"));
  ExpectRefused(ex, "step restore (target appdb): restore source backups/missing.db does not exist");
}

TEST(PreflightCorpus, MissingDatabaseIsRefused) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("  gone: { type: sqlite, path: data/no-such.db }", R"(  - id: count
    query: { target: gone, sql: "SELECT count(*) FROM items" })"));
  ExpectRefused(ex, "step count (target gone): sqlite database");
  EXPECT_FALSE(fs::exists(ex.dir() / "data" / "no-such.db"));
}

TEST(PreflightCorpus, RestoreSourceWithAnotherSha256IsRefused) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("", fmt::format(R"(  - id: restore
    restore: {{ target: appdb, from: backups/good.db, sha256: {} }})",
                                                std::string(64, 'a'))));
  ExpectRefused(ex, fmt::format("restore source backups/good.db has sha256"));
}

TEST(PreflightCorpus, UnwritableBackupFolderIsRefused) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into a 0500 folder";
  Example ex(Folder(), 0);
  fs::create_directory(ex.dir() / "readonly");
  ASSERT_EQ(::chmod((ex.dir() / "readonly").c_str(), 0500), 0);
  WriteFile(ex.plan(), PlanText("", R"(  - id: backup
    backup: { target: appdb, to: readonly/ })"));
  ExpectRefused(ex, "step backup (target appdb): backup destination");
  ASSERT_EQ(::chmod((ex.dir() / "readonly").c_str(), 0700), 0);  // so the folder can go
}

TEST(PreflightCorpus, SqliteDatabaseLockedByAnotherProcessIsRefused) {
  Example ex(Folder(), 0);
  // Another process holds locked.db in an exclusive transaction (a second connection, not
  // backout's own runner lock) until it is killed.
  BackgroundProcess holder(
      {.argv = {"/usr/bin/python3", "-c",
                "import sqlite3, sys, time\n"
                "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "db.execute('BEGIN EXCLUSIVE')\n"
                "open(sys.argv[2], 'w').close()\n"
                "time.sleep(600)\n",
                (ex.dir() / "locked.db").string(), (ex.dir() / "held").string()}});
  ASSERT_TRUE(WaitFor([&] { return fs::exists(ex.dir() / "held"); }, kLimit));
  WriteFile(ex.plan(), PlanText("  lockeddb: { type: sqlite, path: locked.db }",
                                R"(  - id: purge
    sql: { target: lockeddb, script: "DELETE FROM items;" })"));
  ExpectRefused(ex, "step purge (target lockeddb): lock check: sqlite database");
}

TEST(PreflightCorpus, MissingProgramIsRefused) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("  app: { type: command }", R"(  - id: restart
    command: { target: app, argv: [backout-no-such-program, restart] })"));
  ExpectRefused(ex, "step restart (target app): program backout-no-such-program is not found");
}

TEST(PreflightCorpus, MissingWorkingDirectoryIsRefused) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("  app: { type: command, cwd: no-such-folder }", R"(  - id: restart
    command: { target: app, argv: [ls] })"));
  ExpectRefused(ex, "step restart (target app): working directory no-such-folder does not exist");
}

TEST(PreflightCorpus, UnreachableHttpHostIsRefused) {
  Example ex(Folder(), 0);
  const int port = ClosedPort();
  WriteFile(ex.plan(),
            PlanText(fmt::format("  api: {{ type: http, base_url: \"http://127.0.0.1:{}\" }}", port),
                     R"(  - id: maintenance-off
    http: { target: api, method: POST, path: /maintenance/off })"));
  ExpectRefused(ex, fmt::format("step maintenance-off (target api): cannot connect to "
                                "http://127.0.0.1:{}",
                                port));
}

TEST(PreflightCorpus, SkipPreflightStartsTheRunAndJournalsWhoSkipped) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("", R"(  - id: restore
    restore: { target: appdb, from: backups/missing.db })"));
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--skip-preflight"});
  EXPECT_EQ(run.exit_code, 1) << Show(run);  // the restore fails, as it did before preflight
  EXPECT_TRUE(Contains(run.err, "preflight skipped (--skip-preflight")) << Show(run);
  const std::vector<nlohmann::json> events = Events(ex, RunIdFrom(run));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front()["type"], "RunStarted");
  EXPECT_EQ(events.front()["operator"], "tester");
  EXPECT_EQ(events.front()["payload"]["preflight"]["mode"], "skipped");
  EXPECT_NE(DumpDatabase(ex.dir() / "app.db").find("'mark'"), std::string::npos);
}

TEST(PreflightCorpus, APassingPreflightIsJournaledInRunStarted) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("", R"(  - id: backup
    backup: { target: appdb, to: backups/ })"));
  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::vector<nlohmann::json> events = Events(ex, RunIdFrom(run));
  ASSERT_FALSE(events.empty());
  const nlohmann::json& preflight = events.front()["payload"]["preflight"];
  EXPECT_EQ(preflight["mode"], "checked");
  // The database as `mark` writes it and as `backup` reads it, and the backup's folder.
  ASSERT_EQ(preflight["checks"].size(), 3u) << preflight.dump();
  EXPECT_EQ(preflight["checks"][0]["steps"], nlohmann::json({"mark"})) << preflight.dump();
  EXPECT_EQ(preflight["checks"][0]["target"], "appdb") << preflight.dump();
  EXPECT_TRUE(Contains(preflight["checks"][2]["check"], "backup destination backups/"))
      << preflight.dump();
}

TEST(PreflightCorpus, ResumeBeforeAnyStepStartedIsPreflightedAgain) {
  Example ex(Folder(), 0);
  fs::copy_file(ex.dir() / "backups" / "good.db", ex.dir() / "backups" / "pre.db");
  WriteFile(ex.plan(), R"(version: 1
name: preflight-resume
targets:
  appdb: { type: sqlite, path: app.db }
steps:
  - id: confirm
    approval: { prompt: "Restore?", phrase: RESTORE }
  - id: mark
    sql: { target: appdb, script: "INSERT INTO marks VALUES ('mark');" }
  - id: restore
    restore: { target: appdb, from: backups/pre.db }
)");
  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 3) << Show(run);  // paused at the approval, no step started
  const std::string run_id = RunIdFrom(run);
  ASSERT_EQ(ex.Backout({"approve", run_id, "confirm", "--phrase", "RESTORE"}).exit_code, 0);
  fs::remove(ex.dir() / "backups" / "pre.db");  // gone while the run waited
  const std::map<std::string, std::string> before = Snapshot(ex);
  const ProcessResult refused = ex.Backout({"resume", run_id});
  EXPECT_EQ(refused.exit_code, 2) << Show(refused);
  EXPECT_TRUE(Contains(refused.err, "restore source backups/pre.db does not exist"))
      << Show(refused);
  EXPECT_TRUE(Contains(refused.err, "resume refused")) << Show(refused);
  EXPECT_EQ(Snapshot(ex), before);
  const std::vector<nlohmann::json> events = Events(ex, run_id);
  EXPECT_TRUE(EventsOfType(events, "StepStarted").empty());
  EXPECT_TRUE(EventsOfType(events, "RunResumed").empty());
}

TEST(PreflightCorpus, ValidateConnectListsEveryFinding) {
  Example ex(Folder(), 0);
  WriteFile(ex.plan(), PlanText("  app: { type: command }", R"(  - id: restart
    command: { target: app, argv: [backout-no-such-program] })"));
  const ProcessResult plain = ex.Backout({"validate", "plan.yaml"});
  EXPECT_EQ(plain.exit_code, 0) << Show(plain);  // static checks only
  const ProcessResult text = ex.Backout({"validate", "--connect", "plan.yaml"});
  EXPECT_EQ(text.exit_code, 2) << Show(text);
  EXPECT_TRUE(Contains(text.out, "step mark (target appdb): ok: sqlite database app.db"))
      << Show(text);
  EXPECT_TRUE(Contains(text.out, "1 of 3 preflight checks failed")) << Show(text);
  const ProcessResult json = ex.Backout({"validate", "--connect", "--json", "plan.yaml"});
  EXPECT_EQ(json.exit_code, 2) << Show(json);
  const nlohmann::json parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["ok"], false);
  ASSERT_EQ(parsed["findings"].size(), 3u) << json.out;
  EXPECT_EQ(parsed["findings"][2]["steps"], nlohmann::json({"restart"}));
  EXPECT_EQ(parsed["findings"][2]["ok"], false);
  EXPECT_EQ(RunsInJournal(ex), 0);
}

}  // namespace
}  // namespace backout::testing
