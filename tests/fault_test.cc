// Faults below the journal, on the real binary (issue 7, docs/reliability.md):
//  - the journal's disk fills up: injected at every append in turn (BACKOUT_JOURNAL_FAULT,
//    journal/fault_injection.h), and for real (a small tmpfs filled to the last byte);
//  - the journal is read-only (a real read-only mount: the tests run as root, so chmod would
//    not stop them);
//  - the last write is torn (the WAL cut short after a SIGKILL), and a table file damaged;
//  - the RocksDB directory is deleted under a running run.
// Each gives one clear error and exit 4, and above all no effect starts whose StepStarted
// could not be journaled: the database is byte-identical when that append fails.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/gate.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kRows = 300;
constexpr int kExitJournal = 4;
const std::string kApprove = "--approve=confirm=ROLLBACK_MEDIA";
const std::map<std::string, std::string> kFastDrain = {{"APP_DRAIN_SECONDS", "0"}};

std::map<std::string, std::string> With(std::map<std::string, std::string> env,
                                        const std::string& key, const std::string& value) {
  env[key] = value;
  return env;
}

std::string AppDb(const Example& ex) { return ReadFile(ex.dir() / "data/app.db"); }

std::string Sql(const Example& ex, const std::string& query) {
  return RunProcess({.argv = {"/usr/bin/sqlite3", (ex.dir() / "data/app.db").string(), query}})
      .out;
}

// "Type step" of each event of a run, in order (`events --json`).
std::vector<std::string> EventNames(const Example& ex, const std::string& run_id) {
  std::vector<std::string> names;
  for (const nlohmann::json& e : Events(ex, run_id)) {
    names.push_back(e.at("type").get<std::string>() + " " + e.at("payload").value("step", ""));
  }
  return names;
}

// A tmpfs mounted over `dir` for the test's lifetime (lazily unmounted, so a process still
// inside cannot keep it).
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& dir, const std::string& size) : dir_(dir) {
    fs::create_directories(dir);
    const ProcessResult r = RunProcess(
        {.argv = {"/usr/bin/mount", "-t", "tmpfs", "-o", "size=" + size + ",mode=0700", "tmpfs",
                  dir.string()}});
    if (r.exit_code != 0) {
      throw std::runtime_error("this test needs to mount a tmpfs (root, CAP_SYS_ADMIN): " + r.err);
    }
  }
  ~TmpfsMount() { RunProcess({.argv = {"/usr/bin/umount", "-l", dir_.string()}}); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  void Remount(const std::string& mode) const {
    const ProcessResult r = RunProcess(
        {.argv = {"/usr/bin/mount", "-o", "remount," + mode, dir_.string()}});
    if (r.exit_code != 0) throw std::runtime_error("remount " + mode + ": " + r.err);
  }
  // Writes zeros to a file until the file system has no byte left.
  void Fill() const {
    RunProcess({.argv = {"/usr/bin/dd", "if=/dev/zero", "of=" + (dir_ / "filler").string(),
                         "bs=4096"}});
  }
  void Unfill() const { fs::remove(dir_ / "filler"); }

 private:
  fs::path dir_;
};

// The reference: an uninterrupted run's events and final database.
struct Reference {
  std::vector<std::string> events;
  std::string dump;
};
const Reference& TheReference() {
  static const Reference* ref = [] {
    Example ex("media-rollback", kRows);
    const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove}, kFastDrain);
    if (run.exit_code != 0) throw std::runtime_error("reference run failed: " + Show(run));
    return new Reference{EventNames(ex, RunIdFrom(run)), DumpDatabase(ex.dir() / "data/app.db")};
  }();
  return *ref;
}

void ResumeToReference(const Example& ex, const std::string& run_id, const std::string& label) {
  const ProcessResult resumed = ex.Backout({"resume", run_id, kApprove}, kFastDrain);
  ASSERT_EQ(resumed.exit_code, 0) << label << "\n" << Show(resumed);
  EXPECT_EQ(DumpDatabase(ex.dir() / "data/app.db"), TheReference().dump) << label;
  EXPECT_EQ(Sql(ex, "SELECT count(*) FROM rollback_log"), "1\n")
      << label << ": the non-idempotent record-rollback must take effect exactly once";
  EXPECT_EQ(ex.Backout({"verify", run_id}).exit_code, 0) << label;
}

// The disk "fills up" at append N, for every N of the example run in turn: exit 4 with the
// cause, exactly appends 1..N-1 journaled, no effect of the event N would have started, and a
// resume on a sound disk reaches the reference end state.
TEST(JournalFault, DiskFullAtEveryAppendStartsNoUnjournaledEffect) {
  const Reference& ref = TheReference();
  bool saw_drop_media = false, saw_record_rollback = false;
  int points = 0;
  for (std::size_t n = 1; n <= ref.events.size(); ++n) {
    const std::string label = "ENOSPC at append " + std::to_string(n) + " (" + ref.events[n - 1] + ")";
    Example ex("media-rollback", kRows);
    const std::string before = AppDb(ex);
    const ProcessResult run = ex.Backout(
        {"run", "plan.yaml", kApprove},
        With(kFastDrain, "BACKOUT_JOURNAL_FAULT", "enospc-at-append:" + std::to_string(n)));
    ASSERT_EQ(run.exit_code, kExitJournal) << label << "\n" << Show(run);
    EXPECT_TRUE(Contains(run.err, "No space left on device")) << label << "\n" << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << label << ": one message\n" << run.err;
    ++points;
    if (n == 1) {
      // Not even RunStarted: the run does not exist (runs are published with their first
      // batch, and no id is printed for a run not created), and nothing was touched.
      EXPECT_EQ(AppDb(ex), before) << label;
      EXPECT_EQ(run.out, "") << label << ": no run id for a run that was not created";
      const ProcessResult status = ex.Backout({"status"});
      EXPECT_EQ(status.exit_code, 0) << label << "\n" << Show(status);
      continue;
    }
    const std::string run_id = RunIdFrom(run);
    const std::vector<std::string> journaled = EventNames(ex, run_id);
    ASSERT_EQ(journaled, std::vector<std::string>(ref.events.begin(), ref.events.begin() + n - 1))
        << label << ": the journal must hold exactly the appends before the failed one";
    // The effect whose StepStarted failed never started.
    if (ref.events[n - 1] == "StepStarted drop-media") {
      saw_drop_media = true;
      EXPECT_EQ(AppDb(ex), before) << label << ": the database must be byte-identical";
    }
    if (ref.events[n - 1] == "StepStarted record-rollback") {
      saw_record_rollback = true;
      EXPECT_EQ(Sql(ex, "SELECT count(*) FROM rollback_log"), "0\n") << label;
    }
    ResumeToReference(ex, run_id, label);
    if (HasFailure()) break;
  }
  EXPECT_TRUE(saw_drop_media && saw_record_rollback) << "the matrix must cover both SQL steps";
  std::printf("disk-full matrix: ENOSPC injected at %d appends, each exit 4, no unjournaled "
              "effect, all resumed to the reference end state\n", points);
  RecordProperty("enospc_points", points);
}

TEST(JournalFault, BadFaultSpecIsAUsageError) {
  Example ex("media-rollback", kRows);
  const ProcessResult run = ex.Backout({"run", "plan.yaml", kApprove},
                                       {{"BACKOUT_JOURNAL_FAULT", "enospc-at-append:0"}});
  EXPECT_EQ(run.exit_code, 2) << Show(run);
  EXPECT_TRUE(Contains(run.err, "BACKOUT_JOURNAL_FAULT")) << run.err;
}

// A real full disk under the journal when a paused run is resumed: exit 4 naming ENOSPC,
// nothing done; once space is freed, the resume goes through.
TEST(JournalFault, RealFullDiskRefusesToContinueAndLeavesTheTargetAlone) {
  Example ex("media-rollback", kRows);
  TmpfsMount mount(ex.journal(), "16m");
  const ProcessResult paused = ex.Backout({"run", "plan.yaml"}, kFastDrain);
  ASSERT_EQ(paused.exit_code, 3) << Show(paused);  // waiting for the approval
  const std::string run_id = RunIdFrom(paused);
  const std::string before = AppDb(ex);
  const std::vector<std::string> events_before = EventNames(ex, run_id);

  mount.Fill();
  const ProcessResult resumed = ex.Backout({"resume", run_id, kApprove}, kFastDrain);
  EXPECT_EQ(resumed.exit_code, kExitJournal) << Show(resumed);
  EXPECT_TRUE(Contains(resumed.err, "No space left on device")) << resumed.err;
  EXPECT_EQ(AppDb(ex), before) << "nothing may change while the journal cannot be written";
  EXPECT_EQ(ex.Backout({"status", run_id}).exit_code, 0) << "a full disk must not stop readers";

  mount.Unfill();
  ResumeToReference(ex, run_id, "after freeing the disk");
  const std::vector<std::string> after = EventNames(ex, run_id);
  ASSERT_GE(after.size(), events_before.size());
  EXPECT_TRUE(std::equal(events_before.begin(), events_before.end(), after.begin()))
      << "the failed resume must not have changed the journal's history";
}

// The journal on a read-only file system: writers refuse with exit 4, readers work.
TEST(JournalFault, ReadOnlyJournalRefusesWritersAndServesReaders) {
  Example ex("media-rollback", kRows);
  TmpfsMount mount(ex.journal(), "16m");
  const ProcessResult paused = ex.Backout({"run", "plan.yaml"}, kFastDrain);
  ASSERT_EQ(paused.exit_code, 3) << Show(paused);
  const std::string run_id = RunIdFrom(paused);
  const std::string before = AppDb(ex);

  mount.Remount("ro");
  const ProcessResult resumed = ex.Backout({"resume", run_id, kApprove}, kFastDrain);
  EXPECT_EQ(resumed.exit_code, kExitJournal) << Show(resumed);
  EXPECT_TRUE(Contains(resumed.err, "Read-only file system")) << resumed.err;
  const ProcessResult fresh = ex.Backout({"run", "plan.yaml", kApprove}, kFastDrain);
  EXPECT_EQ(fresh.exit_code, kExitJournal) << Show(fresh);
  EXPECT_TRUE(Contains(fresh.err, "Read-only file system")) << fresh.err;
  EXPECT_EQ(AppDb(ex), before) << "nothing may change while the journal cannot be written";
  for (const std::vector<std::string>& reader :
       {std::vector<std::string>{"status", run_id}, {"events", run_id}, {"verify", run_id},
        {"report", run_id, "--format", "json"}, {"status"}}) {
    const ProcessResult r = ex.Backout(reader);
    EXPECT_EQ(r.exit_code, 0) << reader[0] << " on a read-only journal\n" << Show(r);
  }

  mount.Remount("rw");
  ResumeToReference(ex, run_id, "after remounting read-write");
}

fs::path RunDb(const Example& ex, const std::string& run_id) { return ex.journal() / run_id / "db"; }

// The newest file of `dir` whose name ends with `suffix`.
fs::path Newest(const fs::path& dir, const std::string& suffix) {
  fs::path newest;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(suffix) && (newest.empty() || name > newest.filename().string())) {
      newest = e.path();
    }
  }
  return newest;
}

// SIGKILL right after the StepStarted of the non-idempotent record-rollback, then that last
// WAL record is torn (cut short, as by a power loss mid-write): the journal ends one batch
// earlier, readers and `verify` accept it, and resume runs the step exactly once.
// Zeroes the head file's slot with the larger seq (u64 big-endian at offset 16 of each
// 512-byte slot), as if its last write had never happened.
void UnwriteNewestHeadSlot(const fs::path& head) {
  std::string bytes = ReadFile(head);
  ASSERT_EQ(bytes.size(), 1024u);
  const auto seq = [&](std::size_t slot) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      v = (v << 8) | static_cast<std::uint8_t>(bytes[slot * 512 + 16 + i]);
    }
    return v;
  };
  const std::size_t newest = seq(1) > seq(0) ? 1 : 0;
  std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(newest * 512), 88, '\0');
  std::ofstream(head, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(JournalFault, TornLastWriteLosesOnlyThatBatch) {
  const Reference& ref = TheReference();
  const auto started = std::find(ref.events.begin(), ref.events.end(), "StepStarted record-rollback");
  ASSERT_NE(started, ref.events.end());
  const int n = static_cast<int>(started - ref.events.begin()) + 1;
  for (const int cut : {1, 20}) {
    const std::string label = "WAL cut by " + std::to_string(cut) + " bytes";
    Example ex("media-rollback", kRows);
    const ProcessResult run = ex.Backout(
        {"run", "plan.yaml", kApprove},
        With(kFastDrain, "BACKOUT_CRASH_AFTER_APPENDS", std::to_string(n)));
    ASSERT_EQ(run.signal, SIGKILL) << Show(run);
    const std::string run_id = RunIdFrom(run);
    const fs::path wal = Newest(RunDb(ex, run_id), ".log");
    ASSERT_FALSE(wal.empty());
    fs::resize_file(wal, fs::file_size(wal) - cut);
    // A crash in the middle of the WAL write never reaches the head write that follows it:
    // the head file still names the batch before (journal/head_file.h). Erase the newest of
    // its two slots to get that state back.
    UnwriteNewestHeadSlot(ex.journal() / run_id / "head");

    const std::vector<std::string> journaled = EventNames(ex, run_id);
    EXPECT_EQ(journaled, std::vector<std::string>(ref.events.begin(), ref.events.begin() + n - 1))
        << label << ": exactly the torn batch is lost";
    EXPECT_EQ(ex.Backout({"verify", run_id}).exit_code, 0) << label;
    ResumeToReference(ex, run_id, label);
  }
}

// A damaged table file (SST) is corruption: every command says so with exit 4, and resume
// does nothing to the target.
TEST(JournalFault, DamagedTableFileIsCorruptionAndNothingRuns) {
  Example ex("media-rollback", kRows);
  const ProcessResult paused = ex.Backout({"run", "plan.yaml"}, kFastDrain);
  ASSERT_EQ(paused.exit_code, 3) << Show(paused);
  const std::string run_id = RunIdFrom(paused);
  // Reopening for writing flushes the recovered WAL into a table file (an SST).
  ASSERT_EQ(ex.Backout({"note", run_id, "looking"}).exit_code, 0);
  const fs::path sst = Newest(RunDb(ex, run_id), ".sst");
  ASSERT_FALSE(sst.empty()) << "expected a table file after reopening";
  {
    std::fstream f(sst, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(sst) / 4));
    f.write("\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
  }
  const std::string before = AppDb(ex);
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"status", run_id}, {"verify", run_id},
        {"resume", run_id, kApprove}}) {
    const ProcessResult r = ex.Backout(cmd, kFastDrain);
    EXPECT_EQ(r.exit_code, kExitJournal) << cmd[0] << "\n" << Show(r);
    EXPECT_TRUE(Contains(r.err, "orrupt")) << cmd[0] << "\n" << r.err;
  }
  EXPECT_EQ(AppDb(ex), before);
}

// The run's RocksDB directory deleted while a step runs: the step's outcome cannot be
// journaled, so the runner stops with exit 4 and the next step never starts.
TEST(JournalFault, DatabaseDirectoryDeletedUnderARunningRun) {
  GatedExample ex;
  BackgroundProcess run(ex.BackoutSpec({"run", "plan.yaml"}));
  ASSERT_TRUE(WaitFor([&] { return ex.Entered(); }, std::chrono::minutes(1)));
  std::string run_id;
  for (const auto& e : fs::directory_iterator(ex.journal())) run_id = e.path().filename();
  fs::remove_all(ex.journal() / run_id / "db");
  ASSERT_TRUE(ex.OpenGate());
  const ProcessResult r = run.Wait();
  EXPECT_EQ(r.exit_code, kExitJournal) << Show(r);
  EXPECT_TRUE(Contains(r.err, "was deleted or replaced while the run was active")) << r.err;
  EXPECT_EQ(ex.WrittenRows(), "0\n") << "the step after the lost append must not run";
}

}  // namespace
}  // namespace backout::testing
