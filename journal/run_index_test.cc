#include "journal/run_index.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "journal/journal.h"
#include "testing/assert_ok.h"
#include "testing/temp_dir.h"

namespace backout::journal {
namespace {
namespace fs = std::filesystem;

NewRecord Event(int n) {
  return NewRecord{.time_us = 1'700'000'000'000'000 + n,
                   .type = "StepStarted",
                   .operator_name = "alice",
                   .host = "h",
                   .payload = fmt::format(R"({{"n":{}}})", n)};
}

// Ok, or a test failure saying why.
::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

Status AppendOne(RunWriter& writer, int n) {
  const NewRecord record = Event(n);
  return writer.Append(std::span<const NewRecord>(&record, 1)).status();
}

class RunIndexTest : public ::testing::Test {
 protected:
  fs::path dir() const { return tmp_.path() / "journal"; }
  Journal journal() const { return Journal(dir()); }

  void MakeRun(const std::string& id, int records) {
    ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun(id));
    for (int n = 1; n <= records; ++n) ASSERT_TRUE(IsOk(AppendOne(*writer, n)));
  }
  RunSummary SummaryOf(const std::string& id) {
    Result<RunStamp> stamp = ReadRunStamp(dir(), id, ChainKey());
    EXPECT_TRUE(stamp.ok()) << stamp.status().message();
    return RunSummary{.run_id = id, .stamp = stamp.ok() ? *stamp : RunStamp{},
                      .line = "line of " + id, .json = "{\n    \"run_id\": \"" + id + "\"\n  }"};
  }
  void WriteIndex(const std::vector<RunSummary>& entries) {
    ASSERT_OK_AND_ASSIGN(writer, RunIndexWriter::Begin(dir(), ChainKey()));
    for (const RunSummary& e : entries) ASSERT_TRUE(IsOk(writer->Add(e)));
    ASSERT_TRUE(IsOk(writer->Commit()));
  }

  testing::TempDir tmp_;
};

TEST_F(RunIndexTest, EntriesReadBackInOrderAndPassedOverIdsAreSkipped) {
  MakeRun("a", 2);
  MakeRun("b", 1);
  MakeRun("c", 3);
  WriteIndex({SummaryOf("a"), SummaryOf("b"), SummaryOf("c")});
  EXPECT_FALSE(fs::exists(dir() / fmt::format(".runindex.tmp.{}", ::getpid())));
  RunIndexReader reader(dir(), ChainKey());
  const RunSummary* a = reader.Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->line, "line of a");
  EXPECT_EQ(a->stamp.head.seq, 2u);
  EXPECT_TRUE(reader.Keep());  // follows the header: the kept prefix grows
  EXPECT_EQ(reader.Find("a0"), nullptr);  // no entry: not a run the index knows
  const RunSummary* c = reader.Find("c");  // b passed over
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->json, "{\n    \"run_id\": \"c\"\n  }");
  EXPECT_TRUE(c->stamp == SummaryOf("c").stamp);
  // b was passed over (its run gone, say): c cannot extend the kept prefix past it.
  const std::uint64_t kept = reader.kept_bytes();
  EXPECT_FALSE(reader.Keep());
  EXPECT_EQ(reader.kept_bytes(), kept);
  EXPECT_FALSE(reader.NothingAfterKept());
  EXPECT_TRUE(reader.damage().empty()) << reader.damage();
  // The ListRuns of the journal does not see the index (nor its temp files) as runs.
  ASSERT_OK_AND_ASSIGN(runs, journal().ListRuns());
  EXPECT_EQ(runs, (std::vector<std::string>{"a", "b", "c"}));
}

// The index lags a run appended to since: the stamp differs, so the entry is not used.
TEST_F(RunIndexTest, AnAppendOrAWriterSessionChangesTheStamp) {
  MakeRun("a", 1);
  const RunStamp indexed = SummaryOf("a").stamp;
  {
    ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("a"));
    ASSERT_TRUE(IsOk(AppendOne(*writer, 2)));
  }
  ASSERT_OK_AND_ASSIGN(after_append, ReadRunStamp(dir(), "a", ChainKey()));
  EXPECT_EQ(after_append.head.seq, 2u);
  EXPECT_FALSE(after_append == indexed);
  // A writer session that appends nothing to the head (as one killed between its durable
  // append and its head write looks from outside) changes the stamp too: it took the lock.
  { ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("a")); }
  ASSERT_OK_AND_ASSIGN(after_session, ReadRunStamp(dir(), "a", ChainKey()));
  EXPECT_EQ(after_session.head.seq, 2u);
  EXPECT_FALSE(after_session == after_append);
}

// Stamps read ahead are the stamps read in turn, for a list longer than the read-ahead
// window, in order (missing runs' errors name their run), and a caller that stops early or
// never starts does not hang.
TEST_F(RunIndexTest, StampsReadAheadAreTheStampsReadInTurn) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < 2 * RunStampsAhead::kAhead + 45; ++i) {
    ids.push_back(fmt::format("r{:03}", i));
  }
  const std::vector<std::size_t> real = {0, 1, RunStampsAhead::kAhead + 3, ids.size() - 1};
  for (std::size_t i : real) MakeRun(ids[i], static_cast<int>(i % 3) + 1);
  const RunStampReader reader(dir(), ChainKey());
  {
    RunStampsAhead ahead(reader, ids);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      Result<RunStamp> stamp = ahead.Next();
      if (std::find(real.begin(), real.end(), i) != real.end()) {
        ASSERT_TRUE(stamp.ok()) << ids[i] << ": " << stamp.status().message();
        EXPECT_TRUE(*stamp == SummaryOf(ids[i]).stamp) << ids[i];
        EXPECT_EQ(stamp->head.seq, i % 3 + 1) << ids[i];
      } else {
        ASSERT_FALSE(stamp.ok()) << ids[i];
        EXPECT_NE(stamp.status().message().find(ids[i]), std::string::npos)
            << stamp.status().message();
      }
    }
  }
  {
    RunStampsAhead stopped_early(reader, ids);
    for (int i = 0; i < 5; ++i) (void)stopped_early.Next();
  }
  { RunStampsAhead never_started(reader, ids); }
  const std::vector<std::string> none;
  { RunStampsAhead empty(reader, none); }
}

// Damage (a flipped byte, a cut-short tail) is reported, and the damaged entry and all after
// it are not used: those runs are read in full, so nothing is hidden or shown wrong.
TEST_F(RunIndexTest, DamageIsReportedAndNothingFromItOnIsUsed) {
  MakeRun("a", 1);
  MakeRun("b", 1);
  WriteIndex({SummaryOf("a"), SummaryOf("b")});
  const fs::path index = dir() / kRunIndexFileName;
  std::string bytes;
  {
    std::ifstream in(index, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::size_t at = bytes.find("line of a");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'L';
  std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes;
  {
    RunIndexReader reader(dir(), ChainKey());
    EXPECT_EQ(reader.Find("a"), nullptr);
    EXPECT_EQ(reader.Find("b"), nullptr);
    EXPECT_NE(reader.damage().find("checksum"), std::string::npos) << reader.damage();
  }
  std::ofstream(index, std::ios::binary | std::ios::trunc) << bytes.substr(0, at + 3);
  RunIndexReader cut(dir(), ChainKey());
  EXPECT_EQ(cut.Find("a"), nullptr);
  EXPECT_NE(cut.damage().find("cut short"), std::string::npos) << cut.damage();
}

// An index written without the journal key is not trusted by a reader with one.
TEST_F(RunIndexTest, AKeyedReaderRefusesEntriesWithoutItsKey) {
  MakeRun("a", 1);
  WriteIndex({SummaryOf("a")});
  RunIndexReader reader(dir(), ChainKey("secret"));
  EXPECT_EQ(reader.Find("a"), nullptr);
  EXPECT_FALSE(reader.damage().empty());
}

// Run ids from several processes in a tight loop never collide: each child makes ids as fast
// as it can and creates runs with some of them (an id taken first by another creator would
// be retried with a new one); all ids are distinct, valid and every run is created.
TEST_F(RunIndexTest, RunIdsFromSeveralProcessesInATightLoopAreDistinct) {
  constexpr int kProcesses = 4;
  constexpr int kIdsEach = 20'000;  // ids alone: cheap, and far more than runs per second
  constexpr int kRunsEach = 25;     // of which created (a RocksDB each: kept few for CI)
  ASSERT_TRUE(IsOk(journal().CreateRun("unpublished").status()));  // creates the directory only
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::ofstream ids(tmp_.path() / fmt::format("ids.{}", p));
      int created = 0;
      for (int i = 0; i < kIdsEach; ++i) {
        const std::string id = NewRunId(Env::Default()->NowMicros());
        ids << id << "\n";
        if (i % (kIdsEach / kRunsEach) != 0) continue;
        for (std::string attempt = id;; attempt = NewRunId(Env::Default()->NowMicros())) {
          Result<std::unique_ptr<RunWriter>> writer = journal().CreateRun(attempt);
          if (writer.ok()) {
            if (AppendOne(**writer, 1).ok()) ++created;
            break;
          }
          if (writer.status().code() != Code::kFailedPrecondition) break;
        }
      }
      ids.close();
      ::_exit(created == kRunsEach && ids ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::set<std::string> distinct;
  std::size_t made = 0;
  for (int p = 0; p < kProcesses; ++p) {
    std::ifstream in(tmp_.path() / fmt::format("ids.{}", p));
    for (std::string id; std::getline(in, id); ++made) {
      EXPECT_TRUE(IsValidRunId(id)) << id;
      distinct.insert(id);
    }
  }
  EXPECT_EQ(made, static_cast<std::size_t>(kProcesses * kIdsEach));
  EXPECT_EQ(distinct.size(), made);
  ASSERT_OK_AND_ASSIGN(runs, journal().ListRuns());
  EXPECT_EQ(runs.size(), static_cast<std::size_t>(kProcesses * kRunsEach));
  // Ids sort by the time they were made: each process's are in order.
  for (int p = 0; p < kProcesses; ++p) {
    std::ifstream in(tmp_.path() / fmt::format("ids.{}", p));
    std::string prev, id;
    while (std::getline(in, id)) {
      EXPECT_LE(prev, id);
      prev = id;
    }
  }
}

}  // namespace
}  // namespace backout::journal
