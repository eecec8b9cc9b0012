// The corruption matrix (issue 12, items 1 and 2; durability rule 8): a run's
// journal can only be shorter than what was acknowledged by losing its last,
// unacknowledged write. Any other damage is an integrity error (exit 4) with a
// message that names what is wrong, and `resume` refuses to continue.
//
// For a finished run and for a run paused at its approval gate of the
// media-rollback example, each case starts from a pristine copy of the run's
// directory and damages it once:
//   - one flipped byte in each physical record of each write-ahead log;
//   - the write-ahead log cut at each physical record boundary (every batch in
//   it was
//     acknowledged, so every cut loses an acknowledged batch);
//   - one flipped byte at sampled offsets of each table file (spread evenly,
//   plus the footer);
//   - each file of the run deleted in turn.
// Files that hold no record (RocksDB's LOG, LOCK, IDENTITY, OPTIONS, an empty
// WAL) may be deleted without loss: then the run must still verify with the
// same head. A crash between a synced batch and its head write (the head
// lagging by one batch) is not damage: checked by journal_test
// (HeadLaggingByOneBatchIsAcceptedAndCaughtUp).
//
// The number of cases is printed ("corruption matrix: N cases") for CI logs.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

const std::map<std::string, std::string> kEnv = {{"APP_DRAIN_SECONDS", "0.05"}};
constexpr int kTableSamples = 12;

struct Case {
  std::string label;
  std::function<void(const fs::path& run_dir)> damage;
  // Expected in stderr (any one of them): what names the damaged file or the
  // loss.
  std::vector<std::string> named;
  bool harmless = false;  // deleting a file that holds no record
};

std::vector<fs::path> FilesOf(const fs::path& db, const std::string& extension) {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(db)) {
    if (e.path().extension() == extension) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Start offsets of the physical records of a RocksDB log: 32 KiB blocks, each
// record a 7-byte header (crc 4, length 2 little-endian, type 1) and its
// payload; a block's last 6 bytes or fewer are zero padding.
std::vector<std::uint64_t> WalRecordOffsets(const std::string& wal) {
  constexpr std::uint64_t kBlock = 32768, kHeader = 7;
  std::vector<std::uint64_t> offsets;
  std::uint64_t pos = 0;
  while (pos + kHeader <= wal.size()) {
    const std::uint64_t left_in_block = kBlock - pos % kBlock;
    if (left_in_block < kHeader) {
      pos += left_in_block;
      continue;
    }
    const auto lo = static_cast<std::uint8_t>(wal[pos + 4]);
    const auto hi = static_cast<std::uint8_t>(wal[pos + 5]);
    const std::uint64_t length = lo | (std::uint64_t{hi} << 8);
    if (length == 0 && wal[pos + 6] == 0) break;  // preallocated zeros: the end
    offsets.push_back(pos);
    pos += kHeader + length;
  }
  return offsets;
}

void FlipByte(const fs::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x5a));
}

// Every case for the run in `run_dir` (as it is now, undamaged).
std::vector<Case> CasesFor(const fs::path& run_dir) {
  std::vector<Case> cases;
  const fs::path db = run_dir / "db";
  const std::string head_named = "its head file";
  for (const fs::path& wal : FilesOf(db, ".log")) {
    const std::string name = wal.filename().string();
    const std::string bytes = ReadFile(wal);
    const std::vector<std::uint64_t> records = WalRecordOffsets(bytes);
    for (std::size_t i = 0; i < records.size(); ++i) {
      const std::uint64_t end = i + 1 < records.size() ? records[i + 1] : bytes.size();
      const std::uint64_t middle = records[i] + 7 + (end - records[i] - 7) / 2;
      cases.push_back({.label = fmt::format("{} record {} flipped at {}", name, i + 1, middle),
                       .damage = [=](const fs::path& d) { FlipByte(d / "db" / name, middle); },
                       .named = {name, head_named}});
      cases.push_back(
          {.label = fmt::format("{} cut at record {} (offset {})", name, i + 1, records[i]),
           .damage = [=](const fs::path& d) { fs::resize_file(d / "db" / name, records[i]); },
           .named = {head_named}});
    }
  }
  for (const fs::path& table : FilesOf(db, ".sst")) {
    const std::string name = table.filename().string();
    const std::uint64_t size = fs::file_size(table);
    std::vector<std::uint64_t> offsets;
    for (int k = 0; k < kTableSamples; ++k) offsets.push_back(size * k / kTableSamples);
    // The footer (last 53 bytes in format 5): handles, padding no block
    // checksum covers, version and magic.
    for (const std::uint64_t back : {53, 40, 20, 12, 1}) offsets.push_back(size - back);
    for (const std::uint64_t at : offsets) {
      // RocksDB 7.8 reports a damaged footer (checksum type, format version)
      // while loading the table for the MANIFEST's version, and names the
      // MANIFEST instead of the table.
      std::vector<std::string> named = {name};
      if (at + 53 >= size) named.push_back("Corrupt or unsupported");
      cases.push_back({.label = fmt::format("{} flipped at {} of {}", name, at, size),
                       .damage = [=](const fs::path& d) { FlipByte(d / "db" / name, at); },
                       .named = named});
    }
  }
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(run_dir)) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), run_dir);
    const std::string name = rel.filename().string();
    const bool no_records = name == "LOCK" || name == "IDENTITY" || name.starts_with("LOG") ||
                            name.starts_with("OPTIONS-") || name == "runner.lock" ||
                            rel.begin()->string() == "logs" ||
                            (e.path().extension() == ".log" && e.file_size() == 0);
    std::vector<std::string> named = {name, head_named};
    if (name == "CURRENT") named.push_back("CURRENT");
    if (name == "head") named = {"head file " + e.path().string() + " is missing"};
    cases.push_back({.label = fmt::format("{} deleted", rel.string()),
                     .damage = [=](const fs::path& d) { fs::remove(d / rel); },
                     .named = named,
                     .harmless = no_records});
  }
  return cases;
}

// Runs every case against the run `run_id` of `ex`; `resume_args` resume it (a
// paused run).
int RunMatrix(const Example& ex, const std::string& run_id,
              const std::vector<std::string>& resume_args) {
  const fs::path run_dir = ex.journal() / run_id;
  const fs::path pristine = ex.dir() / ("pristine-" + run_id);
  fs::copy(run_dir, pristine, fs::copy_options::recursive);
  const ProcessResult before = ex.Backout({"verify", run_id}, kEnv);
  EXPECT_EQ(before.exit_code, 0) << Show(before);

  const std::vector<Case> cases = CasesFor(run_dir);
  for (const Case& c : cases) {
    fs::remove_all(run_dir);
    fs::copy(pristine, run_dir, fs::copy_options::recursive);
    c.damage(run_dir);
    const ProcessResult verify = ex.Backout({"verify", run_id}, kEnv);
    if (c.harmless) {
      EXPECT_EQ(verify.exit_code, 0) << c.label << "\n" << Show(verify);
      EXPECT_EQ(verify.out, before.out) << c.label << ": nothing may be lost";
      continue;
    }
    EXPECT_EQ(verify.exit_code, 4) << c.label << "\n" << Show(verify);
    EXPECT_TRUE(std::any_of(c.named.begin(), c.named.end(),
                            [&](const std::string& n) { return Contains(verify.err, n); }))
        << c.label << ": the message must name what is wrong\n"
        << Show(verify);
    EXPECT_TRUE(Contains(verify.err, "nothing can be resumed from it")) << c.label << "\n"
                                                                        << Show(verify);
    if (!resume_args.empty()) {
      const ProcessResult resume = ex.Backout(resume_args, kEnv);
      EXPECT_EQ(resume.exit_code, 4) << c.label << ": resume must refuse\n" << Show(resume);
      EXPECT_FALSE(Contains(resume.out, "resuming run")) << c.label << "\n" << Show(resume);
    }
  }
  fs::remove_all(run_dir);
  fs::copy(pristine, run_dir, fs::copy_options::recursive);
  return static_cast<int>(cases.size());
}

TEST(CorruptionMatrix, EveryDamageOfAFinishedAndAPausedRunIsExit4) {
  // The finished run: paused at its gate, then resumed with the approval (two
  // sessions, so the journal holds table files and a write-ahead log).
  const Example done_ex("media-rollback", 200, kEnv);
  const ProcessResult first = done_ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(first.exit_code, 3) << Show(first);
  const std::string finished = RunIdFrom(first);
  const ProcessResult done =
      done_ex.Backout({"resume", finished, "--approve=confirm=ROLLBACK_MEDIA"});
  ASSERT_EQ(done.exit_code, 0) << Show(done);
  // The paused run (the issue's case): its non-idempotent stop-app step
  // (guarded by a check) and its backup succeeded; it waits at the approval
  // gate.
  const Example paused_ex("media-rollback", 200, kEnv);
  const ProcessResult second = paused_ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(second.exit_code, 3) << Show(second);
  const std::string paused = RunIdFrom(second);

  const int finished_cases = RunMatrix(done_ex, finished, {});
  const int paused_cases =
      RunMatrix(paused_ex, paused, {"resume", paused, "--approve=confirm=ROLLBACK_MEDIA"});
  // The run is intact again: it can still be finished.
  const ProcessResult resumed =
      paused_ex.Backout({"resume", paused, "--approve=confirm=ROLLBACK_MEDIA"});
  EXPECT_EQ(resumed.exit_code, 0) << Show(resumed);

  const int total = finished_cases + paused_cases;
  std::printf("corruption matrix: %d cases (finished run %d, paused run %d)\n", total,
              finished_cases, paused_cases);
  RecordProperty("corruption_cases", total);
  EXPECT_GT(finished_cases, 20);
  EXPECT_GT(paused_cases, 20);
}

// The issue's own reproduction, on a keyed run: one byte overwritten two bytes into the first
// StepStarted of the WAL. verify must fail (it said "1 events verified"), and resume must
// refuse instead of running stop-app a second time.
TEST(CorruptionMatrix, IssueReproductionOnAKeyedPausedRun) {
  std::map<std::string, std::string> env = kEnv;
  env["BACKOUT_JOURNAL_KEY"] = "issue-12-key";
  const Example ex("media-rollback", 50, env);
  const ProcessResult run = ex.Backout({"run", "plan.yaml"});
  ASSERT_EQ(run.exit_code, 3) << Show(run);
  const std::string id = RunIdFrom(run);
  const std::vector<fs::path> wals = FilesOf(ex.journal() / id / "db", ".log");
  ASSERT_EQ(wals.size(), 1u);
  const std::string bytes = ReadFile(wals[0]);
  const std::size_t at = bytes.find("StepStarted");
  ASSERT_NE(at, std::string::npos) << "the WAL holds the steps' events";
  {
    std::fstream f(wals[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(at + 2));
    f.put('\0');
  }
  const std::string app_state = ReadFile(ex.dir() / "app.state");
  const ProcessResult verify = ex.Backout({"verify", id});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, wals[0].filename().string())) << Show(verify);
  const ProcessResult resume = ex.Backout({"resume", id, "--approve=confirm=ROLLBACK_MEDIA"});
  EXPECT_EQ(resume.exit_code, 4) << Show(resume);
  EXPECT_FALSE(Contains(resume.out, "stop-app")) << "nothing may run again\n" << Show(resume);
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), app_state);
}

}  // namespace
}  // namespace backout::testing
