// The run index (journal/run_index.h) through the real binary: `status` of all runs shows
// from the index exactly what reading every run shows, a run whose writer was SIGKILLed
// right after its durable append (before any index update: the crash-matrix case) is shown
// as its journal has it, and a damaged index is reported and rebuilt, hiding no run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

Example OneStep() { return Example(Example::FromDir{SourceDir() / "tests/data/runindex"}, 0); }

// What `status` shows when it reads every run (no index to use).
std::string StatusReadingEveryRun(const Example& ex, bool json) {
  std::error_code ignored;
  fs::rename(ex.journal() / ".runindex", ex.dir() / "index.aside", ignored);
  std::vector<std::string> args{"status"};
  if (json) args.push_back("--json");
  const ProcessResult r = ex.Backout(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  fs::rename(ex.dir() / "index.aside", ex.journal() / ".runindex", ignored);
  return r.out;
}

std::string Status(const Example& ex, bool json, std::string* err = nullptr) {
  std::vector<std::string> args{"status"};
  if (json) args.push_back("--json");
  const ProcessResult r = ex.Backout(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (err != nullptr) *err = r.err;
  return r.out;
}

TEST(RunIndex, ShowsWhatTheRunsSayAfterAWriterIsKilledRightAfterItsDurableAppend) {
  const Example ex = OneStep();
  std::vector<std::string> runs;
  for (int i = 0; i < 3; ++i) {
    const ProcessResult run = ex.Backout({"run", "plan.yaml", "--again"});
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    runs.push_back(RunIdFrom(run));
  }
  const std::string first_json = Status(ex, true);  // reads every run, writes the index
  ASSERT_TRUE(fs::exists(ex.journal() / ".runindex"));
  struct stat written {};
  ASSERT_EQ(::stat((ex.journal() / ".runindex").c_str(), &written), 0);
  EXPECT_EQ(Status(ex, true), first_json);  // from the index: the same bytes
  struct stat used {};
  ASSERT_EQ(::stat((ex.journal() / ".runindex").c_str(), &used), 0);
  EXPECT_EQ(used.st_ino, written.st_ino);  // nothing changed: not rewritten
  EXPECT_EQ(Status(ex, false), StatusReadingEveryRun(ex, false));
  const nlohmann::json listed = nlohmann::json::parse(first_json);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[1]["run_id"], runs[1]);

  // The crash-matrix case: a writer of an indexed run killed right after its durable append.
  const ProcessResult killed =
      ex.Backout({"note", runs[1], "after the index"}, {{"BACKOUT_CRASH_AFTER_APPENDS", "1"}});
  EXPECT_EQ(killed.signal, SIGKILL) << killed.out << killed.err;
  const nlohmann::json one = nlohmann::json::parse(ex.Backout({"status", runs[1], "--json"}).out);
  const nlohmann::json all = nlohmann::json::parse(Status(ex, true));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1]["events"], one["events"]);
  EXPECT_EQ(all[1]["events"], listed[1]["events"].get<int>() + 1);
  EXPECT_EQ(Status(ex, true), StatusReadingEveryRun(ex, true));
}

TEST(RunIndex, ADamagedIndexIsReportedAndRebuiltAndHidesNoRun) {
  const Example ex = OneStep();
  for (int i = 0; i < 2; ++i) ASSERT_EQ(ex.Backout({"run", "plan.yaml", "--again"}).exit_code, 0);
  const std::string before = Status(ex, false);
  const fs::path index = ex.journal() / ".runindex";
  std::string bytes;
  {
    std::ifstream in(index, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x20;
  std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes;
  std::string err;
  EXPECT_EQ(Status(ex, false, &err), before);
  EXPECT_TRUE(Contains(err, "is damaged") && Contains(err, "rebuilt it from the runs")) << err;
  EXPECT_EQ(Status(ex, false, &err), before);
  EXPECT_EQ(err, "");  // rebuilt
  // Not runs: the index, a stale temp file of it.
  std::ofstream(ex.journal() / ".runindex.tmp.999999") << "partial";
  EXPECT_EQ(Status(ex, false), before);
}

}  // namespace
}  // namespace backout::testing
