// A run's directory as files, end to end on the real binary (issue 12, items 8
// and 11):
//   - RocksDB's own tools (Debian's rocksdb-tools: ldb, sst_dump) open a run
//   read-only and
//     read-write, and the run still verifies afterwards;
//   - a run exists whole or not at all: what a runner killed while creating a
//   run leaves is
//     ignored by every command, and `run` prints no run id for a run it could
//     not create.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

const std::map<std::string, std::string> kEnv = {{"APP_DRAIN_SECONDS", "0.05"}};
constexpr char kLdb[] = "/usr/bin/ldb";
constexpr char kSstDump[] = "/usr/bin/sst_dump";

ProcessResult Tool(const std::vector<std::string>& argv) { return RunProcess({.argv = argv}); }

int CountLines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// A finished media-rollback run, paused once and resumed so that it has table
// files and a write-ahead log.
struct FinishedRun {
  FinishedRun() : ex("media-rollback", 50, kEnv) {
    const ProcessResult run = ex.Backout({"run", "plan.yaml"});
    EXPECT_EQ(run.exit_code, 3) << Show(run);
    id = RunIdFrom(run);
    const ProcessResult resume = ex.Backout({"resume", id, "--approve=confirm=ROLLBACK_MEDIA"});
    EXPECT_EQ(resume.exit_code, 0) << Show(resume);
    events = static_cast<int>(Events(ex, id).size());
  }
  fs::path db() const { return ex.journal() / id / "db"; }

  Example ex;
  std::string id;
  int events = 0;
};

TEST(JournalTools, LdbAndSstDumpOpenARunReadOnlyAndReadWrite) {
  ASSERT_TRUE(fs::exists(kLdb) && fs::exists(kSstDump))
      << "rocksdb-tools is missing: run scripts/setup.sh";
  FinishedRun run;
  ASSERT_GT(run.events, 10);
  const ProcessResult before = run.ex.Backout({"verify", run.id}, kEnv);
  ASSERT_EQ(before.exit_code, 0) << Show(before);

  // The stored options must not carry the creating open's error_if_exists, or
  // every tool that loads them refuses to open the run read-write.
  for (const fs::directory_entry& e : fs::directory_iterator(run.db())) {
    if (e.path().filename().string().starts_with("OPTIONS-")) {
      EXPECT_FALSE(Contains(ReadFile(e.path()), "error_if_exists=true")) << e.path();
    }
  }

  // scan opens the database read-only; by default ldb loads the run's stored
  // options.
  const ProcessResult scan = Tool({kLdb, "--db=" + run.db().string(), "scan"});
  ASSERT_EQ(scan.exit_code, 0) << Show(scan);
  EXPECT_EQ(CountLines(scan.out), run.events) << "one line per event\n" << Show(scan);

  // What the damaged-run message advises for reading what is left: RocksDB's
  // defaults.
  const ProcessResult defaults =
      Tool({kLdb, "--db=" + run.db().string(), "--try_load_options=false", "scan"});
  ASSERT_EQ(defaults.exit_code, 0) << Show(defaults);
  EXPECT_EQ(CountLines(defaults.out), run.events) << Show(defaults);

  int tables = 0;
  for (const fs::directory_entry& e : fs::directory_iterator(run.db())) {
    if (e.path().extension() != ".sst") continue;
    ++tables;
    const ProcessResult check =
        Tool({kSstDump, "--file=" + e.path().string(), "--command=check", "--verify_checksum"});
    EXPECT_EQ(check.exit_code, 0) << e.path() << "\n" << Show(check);
    EXPECT_FALSE(Contains(check.out + check.err, "Corruption")) << Show(check);
  }
  EXPECT_GT(tables, 0) << "a resumed run has table files";

  // Read-write, as the issue reported it: a checkpoint (the tool opens the
  // database read-write with the stored options), then the run still verifies,
  // unchanged.
  const fs::path checkpoint = run.ex.dir() / "ckpt";
  const ProcessResult ckpt = Tool({kLdb, "--db=" + run.db().string(), "--try_load_options",
                                   "checkpoint", "--checkpoint_dir=" + checkpoint.string()});
  ASSERT_EQ(ckpt.exit_code, 0) << Show(ckpt);
  const ProcessResult from_ckpt = Tool({kLdb, "--db=" + checkpoint.string(), "scan"});
  EXPECT_EQ(CountLines(from_ckpt.out), run.events) << Show(from_ckpt);
  const ProcessResult after = run.ex.Backout({"verify", run.id}, kEnv);
  EXPECT_EQ(after.exit_code, 0) << Show(after);
  EXPECT_EQ(after.out, before.out);
  // And a note can still be appended after the tool wrote to the database.
  EXPECT_EQ(run.ex.Backout({"note", run.id, "checked with ldb"}, kEnv).exit_code, 0);
  EXPECT_EQ(run.ex.Backout({"verify", run.id}, kEnv).exit_code, 0);
}

// A runner SIGKILLed while building a run leaves only a hidden directory:
// `status` of all runs, and every other command, ignore it, and the next run
// sweeps it away.
TEST(JournalTools, ARunKilledWhileBeingCreatedLeavesNoRun) {
  const Example ex("media-rollback", 20, kEnv);
  const ProcessResult first = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(first.exit_code, 3) << Show(first);
  // What CreateRun leaves at a SIGKILL before its first batch: the hidden build
  // directory with an empty database (pid 2^22 + 1 is above Linux's pid_max, so
  // never alive).
  const fs::path leftover = ex.journal() / ".creating.20261205T000000Z-dead.4194305";
  fs::create_directories(leftover / "db");
  fs::create_directories(leftover / "logs");
  WriteFile(leftover / "db" / "CURRENT", "MANIFEST-000001\n");
  const ProcessResult status = ex.Backout({"status"});
  EXPECT_NE(status.exit_code, 4) << Show(status);
  EXPECT_TRUE(Contains(status.out, RunIdFrom(first))) << Show(status);
  EXPECT_FALSE(Contains(status.out + status.err, "dead")) << Show(status);
  const ProcessResult second = ex.Backout({"run", "plan.yaml"});
  EXPECT_EQ(second.exit_code, 3) << Show(second);
  EXPECT_FALSE(fs::exists(leftover)) << "a leftover of a dead creator is swept by the next run";
}

// Killed for real: SIGKILL `run` at once, many times; each attempt leaves a
// whole run (one with at least RunStarted) or nothing that any command sees.
TEST(JournalTools, RunKilledAtOnceLeavesAWholeRunOrNothing) {
  const Example ex("media-rollback", 20, kEnv);
  int whole = 0;
  for (int i = 0; i < 8; ++i) {
    BackgroundProcess run(ex.BackoutSpec({"run", "plan.yaml"}));
    // Kill after a short, varying delay (no timing assertion: any moment is a
    // valid case).
    ::usleep(static_cast<useconds_t>(2000 * i));
    run.Signal(SIGKILL);
    run.Wait();
  }
  const ProcessResult status = ex.Backout({"status", "--json"});
  EXPECT_NE(status.exit_code, 4) << "no half-made run may be reported\n" << Show(status);
  std::error_code none;  // every run may have been killed before the journal was made
  for (const fs::directory_entry& e : fs::directory_iterator(ex.journal(), none)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(".")) continue;
    ++whole;
    const ProcessResult verify = ex.Backout({"verify", name});
    EXPECT_EQ(verify.exit_code, 0) << name << "\n" << Show(verify);
  }
  RecordProperty("whole_runs", whole);
}

// `run` prints the run id only once the run exists: when the journal cannot be
// created there, stdout stays empty.
TEST(JournalTools, RunPrintsNoIdForARunItCouldNotCreate) {
  const Example ex("media-rollback", 20, kEnv);
  WriteFile(ex.dir() / "not-a-dir", "x");
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml"}, {{"BACKOUT_JOURNAL", (ex.dir() / "not-a-dir").string()}});
  EXPECT_NE(run.exit_code, 0) << Show(run);
  EXPECT_NE(run.exit_code, 3) << Show(run);
  EXPECT_EQ(run.out, "") << "no run id for a run that was not created\n" << Show(run);
}

}  // namespace
}  // namespace backout::testing
