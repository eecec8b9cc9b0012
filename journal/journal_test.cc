#include "journal/journal.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "journal/head_file.h"
#include "journal/record_codec.h"
#include "testing/assert_ok.h"
#include "testing/fake_env.h"
#include "testing/temp_dir.h"

namespace backout::journal {
namespace {
namespace fs = std::filesystem;

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

NewRecord Event(int n, std::size_t payload_bytes = 0) {
  NewRecord r;
  r.time_us = 1'700'000'000'000'000 + n;
  r.type = "StepStarted";
  r.operator_name = "alice";
  r.host = "h";
  r.payload = fmt::format(R"({{"n":{},"pad":"{}"}})", n, std::string(payload_bytes, 'x'));
  return r;
}

std::vector<NewRecord> Events(int first, int count) {
  std::vector<NewRecord> events;
  for (int n = first; n < first + count; ++n) events.push_back(Event(n));
  return events;
}

// The codec is canonical and tested on its own, so equal encodings mean equal records.
std::vector<std::string> Encoded(std::span<const Record> records) {
  std::vector<std::string> out;
  for (const Record& r : records) out.push_back(EncodeRecord(r));
  return out;
}

mode_t PermissionBits(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class JournalTest : public ::testing::Test {
 protected:
  // Not created yet: the first CreateRun must make it.
  fs::path dir() const { return root_ / "journal"; }
  Journal journal() const { return Journal(dir()); }
  fs::path DbPath(const std::string& run_id) const { return dir() / run_id / "db"; }

  // Runs `edit` on the run's RocksDB opened directly (no writer may be open).
  void EditDb(const std::string& run_id, const std::function<void(rocksdb::DB*)>& edit) {
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s = rocksdb::DB::Open(rocksdb::Options(), DbPath(run_id).string(), &raw);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const std::unique_ptr<rocksdb::DB> db(raw);
    edit(db.get());
  }

  // Creates `run_id` holding events 1..count, appended one batch each.
  void CreateRunWithEvents(const std::string& run_id, int count) {
    ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun(run_id));
    for (int n = 1; n <= count; ++n) {
      const NewRecord event = Event(n);
      ASSERT_TRUE(writer->Append({&event, 1}).ok());
    }
  }

  const testing::TempDir tmp_;
  const fs::path root_ = tmp_.path();
};

// The status code of OpenRun(run_id) as seen from a forked child process.
Code OpenRunInChildProcess(const Journal& journal, const std::string& run_id) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    // _exit: skip the destructors of state copied from the parent (gtest, RocksDB).
    ::_exit(static_cast<int>(journal.OpenRun(run_id).status().code()));
  }
  int wait_status = 0;
  EXPECT_EQ(::waitpid(pid, &wait_status, 0), pid);
  EXPECT_TRUE(WIFEXITED(wait_status));
  return static_cast<Code>(WEXITSTATUS(wait_status));
}

TEST_F(JournalTest, AppendThenReadRunReturnsTheSameRecordsInOrder) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  EXPECT_EQ(writer->run_id(), "r1");
  EXPECT_EQ(writer->last_seq(), 0u);
  std::vector<Record> written;  // the records as each Append returned them
  for (int n = 1; n <= 3; ++n) {
    const NewRecord event = Event(n);
    ASSERT_OK_AND_ASSIGN(stored, writer->Append({&event, 1}));
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].seq, static_cast<std::uint64_t>(n));
    EXPECT_EQ(stored[0].run_id, "r1");
    EXPECT_EQ(stored[0].payload, event.payload);
    written.push_back(stored[0]);
  }
  ASSERT_EQ(writer->last_seq(), 3u);
  EXPECT_EQ(written[0].prev_hash, Digest{});

  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  EXPECT_EQ(Encoded(read), Encoded(written));
  EXPECT_TRUE(VerifyChain(read, ChainKey()).ok());
}

// The OS user of every record is the appending process's, taken by the writer at each Append
// from the journal's Env: nothing in NewRecord can set it.
TEST_F(JournalTest, EveryRecordCarriesTheOsUserOfTheAppendingProcess) {
  testing::FakeEnv env;
  env.SetProcessUser(OsUser{.uid = 0, .name = "root"});
  const Journal as_root(dir(), ChainKey(), nullptr, &env);
  {
    ASSERT_OK_AND_ASSIGN(writer, as_root.CreateRun("r1"));
    NewRecord bob = Event(1);
    bob.operator_name = "bob";
    ASSERT_OK_AND_ASSIGN(stored, writer->Append({&bob, 1}));
    EXPECT_EQ(stored[0].format_version, kCurrentRecordFormatVersion);
    EXPECT_EQ(stored[0].os_uid, 0u);
    EXPECT_EQ(stored[0].os_user, "root");
    EXPECT_EQ(stored[0].operator_name, "bob") << "the operator name is kept as given, beside it";
    // Asked at each Append: what the process is when it appends is what is recorded.
    env.SetProcessUser(OsUser{.uid = 1000, .name = "alice"});
    const std::vector<NewRecord> batch = Events(2, 2);
    ASSERT_OK_AND_ASSIGN(more, writer->Append(batch));
    EXPECT_EQ(more[0].os_uid, 1000u);
    EXPECT_EQ(more[1].os_user, "alice");
  }
  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_EQ(read[0].os_user, "root");
  EXPECT_EQ(read[2].os_uid, 1000u);

  // The default Env is the real process: its uid and user-database name.
  ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("r1"));
  const NewRecord event = Event(4);
  ASSERT_OK_AND_ASSIGN(stored, writer->Append({&event, 1}));
  EXPECT_EQ(stored[0].os_uid, static_cast<std::uint32_t>(::getuid()));
  EXPECT_EQ(stored[0].os_user, Env::Default()->ProcessUser().name);
  EXPECT_EQ(Env::Default()->ProcessUser().uid, static_cast<std::uint32_t>(::getuid()));
}

TEST_F(JournalTest, BatchIsChainedAndAllOrNothingOnInvalidInput) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  ASSERT_OK_AND_ASSIGN(batch, writer->Append(Events(1, 5)));
  ASSERT_EQ(batch.size(), 5u);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(batch[i].seq, i + 1);
    EXPECT_EQ(batch[i].prev_hash, i == 0 ? Digest{} : batch[i - 1].hash);
    EXPECT_EQ(batch[i].hash, ComputeRecordHash(batch[i], ChainKey()));
  }

  std::vector<NewRecord> bad = Events(6, 3);
  bad[1].type.clear();
  Result<std::span<const Record>> rejected = writer->Append(bad);
  EXPECT_EQ(rejected.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(rejected.status().message(), "run r1: record 2 of the batch: type is empty");
  EXPECT_EQ(writer->last_seq(), 5u);

  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  EXPECT_EQ(Encoded(read), Encoded(batch)) << "nothing of the rejected batch was written";

  ASSERT_OK_AND_ASSIGN(empty, writer->Append({}));
  EXPECT_TRUE(empty.empty());
}

TEST_F(JournalTest, AppendRejectsAFieldTheReaderWouldRefuse) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  NewRecord huge = Event(1);
  huge.payload.assign(kMaxFieldBytes + 1, 'x');
  Result<std::span<const Record>> rejected = writer->Append({&huge, 1});
  EXPECT_EQ(rejected.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(rejected.status().message(),
            "run r1: record 1 of the batch: payload of 67108865 bytes exceeds the 64 MiB limit");
  EXPECT_EQ(writer->last_seq(), 0u);
}

TEST_F(JournalTest, ReopenContinuesTheChain) {
  CreateRunWithEvents("r1", 2);
  ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("r1"));
  ASSERT_EQ(writer->last_seq(), 2u);
  ASSERT_OK_AND_ASSIGN(before, journal().ReadRun("r1"));
  const Digest last_hash = before.back().hash;
  const NewRecord event = Event(3);
  ASSERT_OK_AND_ASSIGN(stored, writer->Append({&event, 1}));
  EXPECT_EQ(stored[0].seq, 3u);
  EXPECT_EQ(stored[0].prev_hash, last_hash);
  writer.reset();

  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  ASSERT_EQ(read.size(), 3u);
  EXPECT_TRUE(VerifyChain(read, ChainKey()).ok());
}

TEST_F(JournalTest, SecondWriterInAnotherProcessIsLockedUntilTheFirstIsDestroyed) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  ASSERT_TRUE(writer->Append(Events(1, 1)).ok());
  EXPECT_EQ(OpenRunInChildProcess(journal(), "r1"), Code::kLocked);
  writer.reset();
  EXPECT_EQ(OpenRunInChildProcess(journal(), "r1"), Code::kOk);
}

TEST_F(JournalTest, LockedMessageNamesTheHolder) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  ASSERT_TRUE(writer->Append(Events(1, 1)).ok());
  // flock conflicts between open file descriptions even within one process.
  Result<std::unique_ptr<RunWriter>> second = journal().OpenRun("r1");
  EXPECT_EQ(second.status().code(), Code::kLocked);
  const std::string& message = second.status().message();
  EXPECT_TRUE(message.starts_with(
      fmt::format("run r1 is locked by another runner (pid {} on host ", ::getpid())))
      << message;
  EXPECT_NE(message.find(" since 20"), std::string::npos) << message;
  EXPECT_TRUE(message.ends_with("); wait for it to finish, or stop it first")) << message;
}

TEST_F(JournalTest, HolderNamesTheWriterWhileItHoldsTheRunAndNoneAfter) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  ASSERT_TRUE(writer->Append(Events(1, 1)).ok());
  ASSERT_OK_AND_ASSIGN(held, journal().Holder("r1"));
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->pid, ::getpid());
  EXPECT_FALSE(held->host.empty());
  EXPECT_TRUE(held->since.starts_with("20")) << held->since;
  // The probe took and dropped a shared lock: the writer still appends, and nobody else can.
  ASSERT_TRUE(writer->Append(Events(2, 1)).ok());
  EXPECT_EQ(journal().OpenRun("r1").status().code(), Code::kLocked);
  writer.reset();
  // runner.lock still names the last holder; only the flock counts.
  ASSERT_OK_AND_ASSIGN(gone, journal().Holder("r1"));
  EXPECT_FALSE(gone.has_value());
  ASSERT_OK_AND_ASSIGN(reopened, journal().OpenRun("r1"));  // the probe left no lock behind
  EXPECT_EQ(reopened->last_seq(), 2u);
}

TEST_F(JournalTest, HolderOfAnUnknownRunIsNotFound) {
  EXPECT_EQ(journal().Holder("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(journal().Holder("../x").status().code(), Code::kInvalidArgument);
}

TEST_F(JournalTest, ReadRunWorksWhileAWriterIsOpen) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  ASSERT_OK_AND_ASSIGN(appended, writer->Append(Events(1, 2)));
  std::vector<Record> written(appended.begin(), appended.end());
  // Each ReadRun opens its own read-only RocksDB instance, which replays the writer's WAL as
  // it is at that moment: it sees every Append that returned before ReadRun was called (they
  // were synced), and nothing appended later.
  ASSERT_OK_AND_ASSIGN(first, journal().ReadRun("r1"));
  EXPECT_EQ(first.size(), 2u);
  ASSERT_OK_AND_ASSIGN(third, writer->Append(Events(3, 1)));
  written.insert(written.end(), third.begin(), third.end());
  ASSERT_OK_AND_ASSIGN(second, journal().ReadRun("r1"));
  EXPECT_EQ(Encoded(second), Encoded(written));
}

TEST_F(JournalTest, PayloadRewrittenInPlaceIsAHashMismatchAtThatEvent) {
  CreateRunWithEvents("r1", 5);
  ASSERT_OK_AND_ASSIGN(original, journal().ReadRun("r1"));
  EditDb("r1", [](rocksdb::DB* db) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EncodeKey(3), &value).ok());
    const std::size_t at = value.find(R"("n":3)");
    ASSERT_NE(at, std::string::npos);
    value[at + 4] = '9';  // same length, stored hash kept
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeKey(3), value).ok());
  });

  Result<std::vector<Record>> read = journal().ReadRun("r1");
  EXPECT_EQ(read.status().code(), Code::kCorruption);
  EXPECT_TRUE(read.status().message().starts_with(fmt::format(
      "run r1 ({}): event #3: hash mismatch: record content was altered", DbPath("r1").string())))
      << read.status().message();
  EXPECT_EQ(journal().OpenRun("r1").status().code(), Code::kCorruption);

  std::vector<Record> in_memory = original;
  in_memory[2].payload = R"({"n":9,"pad":""})";
  const Status verified = VerifyChain(in_memory, ChainKey());
  EXPECT_EQ(verified.code(), Code::kCorruption);
  EXPECT_TRUE(verified.message().starts_with("event #3: hash mismatch")) << verified.message();
}

TEST_F(JournalTest, DeletedMiddleEventBreaksTheChainAtTheNextEvent) {
  CreateRunWithEvents("r1", 5);
  ASSERT_OK_AND_ASSIGN(original, journal().ReadRun("r1"));
  EditDb("r1", [](rocksdb::DB* db) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), EncodeKey(3)).ok());
  });
  const std::string expected =
      "event #4: chain broken: expected event #3 here (events were deleted or reordered)";
  Result<std::vector<Record>> read = journal().ReadRun("r1");
  EXPECT_EQ(read.status().code(), Code::kCorruption);
  EXPECT_TRUE(Contains(read.status().message(), expected)) << read.status().message();

  std::vector<Record> in_memory = original;
  in_memory.erase(in_memory.begin() + 2);
  EXPECT_EQ(VerifyChain(in_memory, ChainKey()).message(), expected);
}

TEST_F(JournalTest, EventRewrittenWithARecomputedHashBreaksTheChainAtTheNextEvent) {
  CreateRunWithEvents("r1", 5);
  EditDb("r1", [](rocksdb::DB* db) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EncodeKey(3), &value).ok());
    Result<Record> record = DecodeRecord(value, 3, ChainKey());
    ASSERT_TRUE(record.ok()) << record.status().ToString();
    record->payload = "forged";
    record->hash = ComputeRecordHash(*record, ChainKey());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeKey(3), EncodeRecord(*record)).ok());
  });
  Result<std::vector<Record>> read = journal().ReadRun("r1");
  EXPECT_EQ(read.status().code(), Code::kCorruption);
  EXPECT_TRUE(Contains(read.status().message(), 
      "event #4: chain broken: prev_hash does not match the hash of event #3 (an event was "
      "deleted, reordered or rewritten)"))
      << read.status().message();
}

TEST_F(JournalTest, RecordOfAnotherRunIsCorruption) {
  CreateRunWithEvents("r1", 2);
  ASSERT_OK_AND_ASSIGN(original, journal().ReadRun("r1"));
  EditDb("r1", [&](rocksdb::DB* db) {
    Record foreign = original.back();
    foreign.run_id = "r2";
    foreign.seq = 3;
    foreign.prev_hash = original.back().hash;
    foreign.hash = ComputeRecordHash(foreign, ChainKey());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeKey(3), EncodeRecord(foreign)).ok());
  });
  Result<std::vector<Record>> read = journal().ReadRun("r1");
  EXPECT_EQ(read.status().code(), Code::kCorruption);
  EXPECT_TRUE(Contains(read.status().message(), "event #3: record belongs to run 'r2'"))
      << read.status().message();
}

TEST_F(JournalTest, VerifyChainChecksTheFirstEventAndAcceptsAnEmptyRun) {
  EXPECT_TRUE(VerifyChain({}, ChainKey()).ok());
  CreateRunWithEvents("r1", 2);
  ASSERT_OK_AND_ASSIGN(records, journal().ReadRun("r1"));
  records[0].prev_hash[0] = 1;
  records[0].hash = ComputeRecordHash(records[0], ChainKey());
  EXPECT_EQ(VerifyChain(records, ChainKey()).message(),
            "event #1: chain broken: prev_hash of the first event is not zero");
}

// A write the OS refuses midway (here: the file size limit, which cuts the WAL write short)
// fails the Append, leaves last_seq() alone, blocks later Appends, and after reopening none of
// the torn batch is visible.
TEST_F(JournalTest, TornBatchWriteFailsAndLeavesNothingOfTheBatch) {
  CreateRunWithEvents("r1", 2);
  ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("r1"));
  // Big enough that only part of the batch fits under the limit set below.
  std::vector<NewRecord> batch;
  for (int n = 3; n < 3 + 64; ++n) batch.push_back(Event(n, 1000));
  {
    ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
    std::uintmax_t largest_wal = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(DbPath("r1"))) {
      if (e.path().extension() == ".log") largest_wal = std::max(largest_wal, e.file_size());
    }
    rlimit limited = saved;
    limited.rlim_cur = largest_wal + 16 * 1024;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);

    Result<std::span<const Record>> appended = writer->Append(batch);
    const std::size_t records_after_failure = writer->last_seq();
    const NewRecord single = Event(100);
    Result<std::span<const Record>> after = writer->Append({&single, 1});
    writer.reset();  // closes the database while writes past the limit still fail

    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
    ::signal(SIGXFSZ, SIG_DFL);
    EXPECT_EQ(appended.status().code(), Code::kIOError);
    EXPECT_NE(appended.status().message().find("append to run r1"), std::string::npos)
        << appended.status().message();
    EXPECT_EQ(records_after_failure, 2u);
    EXPECT_EQ(after.status().message(), appended.status().message());
  }
  ASSERT_OK_AND_ASSIGN(reopened, journal().OpenRun("r1"));
  EXPECT_EQ(reopened->last_seq(), 2u);
  ASSERT_OK_AND_ASSIGN(stored, reopened->Append(Events(3, 1)));
  EXPECT_EQ(stored[0].seq, 3u);
}

TEST_F(JournalTest, ListRunsIsSortedAndSkipsWhatIsNotARun) {
  ASSERT_OK_AND_ASSIGN(none, journal().ListRuns());
  EXPECT_TRUE(none.empty()) << "an absent journal directory has no runs";
  for (const char* id : {"20261121T100000Z-b", "20261121T090000Z-c", "20261121T100000Z-a"}) {
    CreateRunWithEvents(id, 1);
  }
  fs::create_directory(dir() / "not-a-run");
  std::ofstream(dir() / "stray-file") << "x";
  // What a runner killed while creating a run leaves: a hidden directory, never a run.
  fs::create_directories(dir() / ".creating.20261121T110000Z-d.999999" / "db");
  ASSERT_OK_AND_ASSIGN(runs, journal().ListRuns());
  EXPECT_EQ(runs, (std::vector<std::string>{"20261121T090000Z-c", "20261121T100000Z-a",
                                            "20261121T100000Z-b"}));
}

TEST_F(JournalTest, DirectoriesAndLockFileArePrivate) {
  ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
  ASSERT_TRUE(writer->Append(Events(1, 1)).ok());
  EXPECT_EQ(journal().LogDir("r1"), dir() / "r1" / "logs");
  for (const fs::path& d : {dir(), dir() / "r1", DbPath("r1"), journal().LogDir("r1")}) {
    EXPECT_EQ(PermissionBits(d), 0700u) << d;
  }
  EXPECT_EQ(PermissionBits(dir() / "r1" / "runner.lock"), 0600u);
  EXPECT_EQ(PermissionBits(dir() / "r1" / "head"), 0600u);
}

TEST_F(JournalTest, RunIdsAreValidated) {
  for (const std::string& id :
       std::vector<std::string>{"a", "0", "20261121T171614Z-db_rollback.1", std::string(128, 'x')}) {
    EXPECT_TRUE(IsValidRunId(id)) << id;
  }
  for (const std::string& id : std::vector<std::string>{"", ".", "..", "../x", "a/b", "-a", "_a", ".a",
                                                       "a b", "a\n", "é", std::string(129, 'x')}) {
    EXPECT_FALSE(IsValidRunId(id)) << id;
  }
  EXPECT_EQ(journal().CreateRun("../escape").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(journal().OpenRun("../escape").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(journal().ReadRun("a/b").status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(fs::exists(root_ / "escape"));
}

TEST_F(JournalTest, MissingAndDuplicateRuns) {
  Result<std::vector<Record>> missing = journal().ReadRun("nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), fmt::format("no run nope in journal {}", dir().string()));
  EXPECT_EQ(journal().OpenRun("nope").status().code(), Code::kNotFound);

  CreateRunWithEvents("r1", 1);
  Result<std::unique_ptr<RunWriter>> again = journal().CreateRun("r1");
  EXPECT_EQ(again.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.status().message(),
            fmt::format("run r1 already exists in journal {}", dir().string()));

  // A directory named like a run but without its database is damage, not "no such run":
  // hiding it would hide that a run's history was lost.
  fs::create_directory(dir() / "no-db");
  EXPECT_EQ(journal().ReadRun("no-db").status().code(), Code::kCorruption);
  EXPECT_EQ(journal().OpenRun("no-db").status().code(), Code::kCorruption);
}

TEST_F(JournalTest, KeyedRunIsHmacChainedAndNeedsItsKeyToBeRead) {
  const Journal keyed(dir(), ChainKey("team-secret"));
  {
    ASSERT_OK_AND_ASSIGN(writer, keyed.CreateRun("r1"));
    ASSERT_OK_AND_ASSIGN(stored, writer->Append(Events(1, 3)));
    for (const Record& r : stored) EXPECT_EQ(r.chain_mode, ChainMode::kHmacSha256);
    Record unkeyed = stored[0];
    unkeyed.chain_mode = ChainMode::kSha256;
    EXPECT_NE(stored[0].hash, ComputeRecordHash(unkeyed, ChainKey()));
  }
  ASSERT_OK_AND_ASSIGN(read, keyed.ReadRun("r1"));
  EXPECT_EQ(read.size(), 3u);
  EXPECT_TRUE(VerifyChain(read, keyed.key()).ok());
  EXPECT_FALSE(VerifyChain(read, ChainKey()).ok());

  const std::string prefix = fmt::format("run r1 ({}): ", DbPath("r1").string());
  Result<std::vector<Record>> without = journal().ReadRun("r1");
  EXPECT_EQ(without.status().code(), Code::kCorruption);
  EXPECT_EQ(without.status().message(),
            prefix + "event #1: run r1 is keyed (HMAC-SHA256 chain): set BACKOUT_JOURNAL_KEY to "
                     "verify it");
  EXPECT_FALSE(Contains(without.status().message(), "evidence"))
      << "a missing key is not damage";
  Result<std::vector<Record>> wrong = Journal(dir(), ChainKey("guess")).ReadRun("r1");
  EXPECT_EQ(wrong.status().code(), Code::kCorruption);
  EXPECT_TRUE(wrong.status().message().starts_with(prefix + "event #1: hash mismatch"))
      << wrong.status().message();
  EXPECT_NE(wrong.status().message().find("(wrong key?)"), std::string::npos);
  EXPECT_EQ(journal().OpenRun("r1").status().code(), Code::kCorruption);
}

// Verification follows each record's mode, and a run keeps the mode it was created with:
// an unkeyed run stays unkeyed when a writer with a key appends to it (mixing modes in one
// run would be indistinguishable from a forgery).
TEST_F(JournalTest, RunKeepsItsChainModeWhateverKeyItsLaterWritersHold) {
  CreateRunWithEvents("r1", 2);
  const Journal keyed(dir(), ChainKey("team-secret"));
  {
    ASSERT_OK_AND_ASSIGN(writer, keyed.OpenRun("r1"));
    ASSERT_OK_AND_ASSIGN(stored, writer->Append(Events(3, 1)));
    EXPECT_EQ(stored[0].chain_mode, ChainMode::kSha256);
  }
  ASSERT_OK_AND_ASSIGN(with_key, keyed.ReadRun("r1"));
  ASSERT_OK_AND_ASSIGN(without_key, journal().ReadRun("r1"));
  EXPECT_EQ(Encoded(with_key), Encoded(without_key));
  EXPECT_EQ(with_key.size(), 3u);
}

// The attack a plain chain cannot see (rewrite an event, recompute every later hash) fails
// on a keyed run: the forger has no key, so the forged records either carry plain SHA-256
// (a change of mode) or an HMAC under a guessed key (a hash mismatch).
TEST_F(JournalTest, KeyedRunRewrittenWithoutTheKeyIsDetectedAtTheRewrittenEvent) {
  const ChainKey key("team-secret");
  const Journal keyed(dir(), key);
  {
    ASSERT_OK_AND_ASSIGN(writer, keyed.CreateRun("r1"));
    ASSERT_TRUE(writer->Append(Events(1, 5)).ok());
  }
  ASSERT_OK_AND_ASSIGN(original, keyed.ReadRun("r1"));
  const auto forge = [&](ChainMode mode, const ChainKey& forger) {
    EditDb("r1", [&](rocksdb::DB* db) {
      std::vector<Record> records = original;
      records[2].payload = "forged";
      for (std::size_t i = 2; i < records.size(); ++i) {
        records[i].chain_mode = mode;
        records[i].prev_hash = records[i - 1].hash;
        records[i].hash = ComputeRecordHash(records[i], forger);
        ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeKey(records[i].seq),
                            EncodeRecord(records[i]))
                        .ok());
      }
    });
    return keyed.ReadRun("r1").status();
  };
  const Status downgraded = forge(ChainMode::kSha256, ChainKey());
  EXPECT_EQ(downgraded.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(downgraded.message(), 
      "event #3: chain broken: chain mode changes from hmac-sha256 (event #2) to sha256 (events "
      "were rewritten without the key)"))
      << downgraded.message();
  const Status guessed = forge(ChainMode::kHmacSha256, ChainKey("guess"));
  EXPECT_EQ(guessed.code(), Code::kCorruption);
  EXPECT_NE(guessed.message().find("event #3: hash mismatch"), std::string::npos)
      << guessed.message();
  // The same forgery with the real key gives a valid chain (docs: limits), but its last
  // hash is not the one the head file records.
  const Status with_key = forge(ChainMode::kHmacSha256, key);
  EXPECT_EQ(with_key.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(with_key.message(), "the journal was rewritten after that event was "
                                          "acknowledged")) << with_key.message();
}

// Issue 12: the head file records the last acknowledged event, so a journal that lost its
// tail (here: the last two events deleted, as a lost WAL would) is corruption on every open,
// naming the head file and the lost events.
TEST_F(JournalTest, JournalShorterThanItsHeadFileIsCorruption) {
  CreateRunWithEvents("r1", 5);
  EditDb("r1", [](rocksdb::DB* db) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), EncodeKey(4)).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), EncodeKey(5)).ok());
  });
  const std::string head = (dir() / "r1" / "head").string();
  for (const Status& s : {journal().ReadRun("r1").status(), journal().OpenRun("r1").status()}) {
    EXPECT_EQ(s.code(), Code::kCorruption);
    EXPECT_TRUE(Contains(s.message(), "the journal ends at event #3 but its head file " + head +
                                          " records event #5"))
        << s.message();
    EXPECT_TRUE(Contains(s.message(), "events #4 to #5 are lost")) << s.message();
  }
}

// ScanRun streams (issue 17): records reach the visitor as they are read and checked, so a
// visitor's error stops the scan at once, damage in the middle is named by its seq after the
// records before it were visited, and the head file is checked after the last one.
TEST_F(JournalTest, ScanRunVisitsAsItReadsAndAVisitorErrorStopsIt) {
  CreateRunWithEvents("r1", 5);
  std::vector<std::uint64_t> seen;
  const Status stopped = journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    return r.seq == 2 ? Status::Cancelled("enough") : Status::Ok();
  });
  EXPECT_EQ(stopped.code(), Code::kCancelled);
  EXPECT_EQ(stopped.message(), "enough");
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2}));

  seen.clear();
  ASSERT_TRUE(journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    return Status::Ok();
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(JournalTest, ScanRunNamesDamageMidRunAfterVisitingTheRecordsBeforeIt) {
  CreateRunWithEvents("r1", 5);
  EditDb("r1", [](rocksdb::DB* db) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EncodeKey(3), &value).ok());
    value[value.find(R"("n":3)") + 4] = '9';
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeKey(3), value).ok());
  });
  std::vector<std::uint64_t> seen;
  const Status scanned = journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    return Status::Ok();
  });
  EXPECT_EQ(scanned.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(scanned.message(), "event #3: hash mismatch")) << scanned.message();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2}));
}

// A run of many batches is read ahead on a second thread while the visitor runs: the visitor
// still sees every record once, in order, with its own content (the records and their strings
// are reused from batch to batch), and the first failure in seq order is the one returned:
// the visitor's before a later damage, the damage after every record before it was visited.
TEST_F(JournalTest, ScanRunOfManyBatchesVisitsInOrderAndReportsTheFirstFailure) {
  constexpr int kEvents = 3000;
  {
    std::vector<NewRecord> events;
    // Sizes vary (some payloads larger than a reused string keeps), so stale bytes would show.
    for (int n = 1; n <= kEvents; ++n) events.push_back(Event(n, n % 500 == 0 ? 70'000 : n % 13));
    ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
    ASSERT_TRUE(writer->Append(events).ok());
  }
  const auto expect_own_content = [](const Record& r) {
    const std::size_t pad = r.seq % 500 == 0 ? 70'000 : r.seq % 13;
    EXPECT_EQ(r.payload, fmt::format(R"({{"n":{},"pad":"{}"}})", r.seq, std::string(pad, 'x')));
  };
  std::vector<std::uint64_t> seen;
  ASSERT_TRUE(journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    expect_own_content(r);
    return Status::Ok();
  }).ok());
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kEvents));
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i + 1);

  EditDb("r1", [](rocksdb::DB* db) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), EncodeKey(2900), &value).ok());
    value[value.find(R"("n":2900)") + 4] = '9';
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), EncodeKey(2900), value).ok());
  });
  seen.clear();
  const Status damaged = journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    expect_own_content(r);
    return Status::Ok();
  });
  EXPECT_EQ(damaged.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(damaged.message(), "event #2900: hash mismatch")) << damaged.message();
  EXPECT_EQ(seen.size(), 2899u);

  seen.clear();
  const Status stopped = journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    return r.seq == 1700 ? Status::Cancelled("enough") : Status::Ok();
  });
  EXPECT_EQ(stopped.code(), Code::kCancelled) << stopped.message();
  EXPECT_EQ(seen.size(), 1700u);
  EXPECT_EQ(seen.back(), 1700u);
}

TEST_F(JournalTest, ScanRunChecksTheHeadAfterVisitingEveryRecord) {
  CreateRunWithEvents("r1", 5);
  EditDb("r1", [](rocksdb::DB* db) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), EncodeKey(5)).ok());
  });
  std::vector<std::uint64_t> seen;
  const Status scanned = journal().ScanRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    return Status::Ok();
  });
  EXPECT_EQ(scanned.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(scanned.message(), "event #5 is lost")) << scanned.message();
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3, 4}));
}

// OpenRun folds in its checking pass: the visitor sees every record once, and the writer
// continues from the last one without holding the run.
TEST_F(JournalTest, OpenRunHandsItsCheckingPassToTheVisitor) {
  CreateRunWithEvents("r1", 3);
  std::vector<std::uint64_t> seen;
  ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("r1", [&](const Record& r) {
    seen.push_back(r.seq);
    return Status::Ok();
  }));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(writer->last_seq(), 3u);
  const NewRecord event = Event(4);
  ASSERT_OK_AND_ASSIGN(stored, writer->Append({&event, 1}));
  EXPECT_EQ(stored[0].seq, 4u);
  writer.reset();
  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  EXPECT_EQ(read.back().prev_hash, read[2].hash);
  EXPECT_TRUE(VerifyChain(read, ChainKey()).ok());
}

// A crash between a synced batch and its head write leaves the head one batch behind: not
// damage. The next writer brings the head up to date.
TEST_F(JournalTest, HeadLaggingByOneBatchIsAcceptedAndCaughtUp) {
  CreateRunWithEvents("r1", 4);
  ASSERT_OK_AND_ASSIGN(records, journal().ReadRun("r1"));
  const fs::path head_path = dir() / "r1" / "head";
  {
    // Both slots name event #3, as if the write for event #4 never happened.
    std::string bytes(kHeadFileBytes, '\0');
    const std::vector<Record> first3(records.begin(), records.begin() + 3);
    const std::string slot = EncodeHeadSlot(HeadOf(first3), ChainKey());
    bytes.replace(0, slot.size(), slot);
    bytes.replace(kHeadSlotStride, slot.size(), slot);
    std::ofstream(head_path, std::ios::binary | std::ios::trunc) << bytes;
  }
  ASSERT_OK_AND_ASSIGN(lagging, ReadHeadFile(head_path, ChainKey()));
  EXPECT_EQ(lagging.seq, 3u);
  EXPECT_TRUE(journal().ReadRun("r1").ok());
  { ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("r1")); }
  ASSERT_OK_AND_ASSIGN(caught_up, ReadHeadFile(head_path, ChainKey()));
  EXPECT_EQ(caught_up.seq, 4u);
  EXPECT_EQ(caught_up.hash, records[3].hash);
}

// Writes alternate between the two slots: a torn write of the newer slot leaves the older
// one, one batch behind, which is accepted; both slots damaged is corruption.
TEST_F(JournalTest, TornHeadSlotFallsBackToTheOtherAndBothDamagedIsCorruption) {
  CreateRunWithEvents("r1", 3);
  const fs::path head_path = dir() / "r1" / "head";
  int slot = -1;
  ASSERT_OK_AND_ASSIGN(head, ReadHeadFile(head_path, ChainKey(), &slot));
  EXPECT_EQ(head.seq, 3u);
  std::string bytes = ReadFileToString(head_path).value();
  bytes[static_cast<std::size_t>(slot) * kHeadSlotStride + 30] ^= 1;
  std::ofstream(head_path, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_OK_AND_ASSIGN(older, ReadHeadFile(head_path, ChainKey()));
  EXPECT_EQ(older.seq, 2u);
  EXPECT_TRUE(journal().ReadRun("r1").ok());

  bytes[static_cast<std::size_t>(1 - slot) * kHeadSlotStride + 30] ^= 1;
  std::ofstream(head_path, std::ios::binary | std::ios::trunc) << bytes;
  const Status both = journal().ReadRun("r1").status();
  EXPECT_EQ(both.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(both.message(), "head file " + head_path.string() +
                                           " is damaged: no valid slot (slot 0: checksum "
                                           "mismatch; slot 1: checksum mismatch)"))
      << both.message();
}

TEST_F(JournalTest, MissingHeadFileIsCorruption) {
  CreateRunWithEvents("r1", 2);
  fs::remove(dir() / "r1" / "head");
  const Status s = journal().ReadRun("r1").status();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(s.message(), "the head file " + (dir() / "r1" / "head").string() +
                                        " is missing"))
      << s.message();
  EXPECT_TRUE(Contains(s.message(), "do not remove it")) << s.message();
}

// Without the key, a keyed run's head cannot be rewound: an unkeyed head naming an earlier
// event does not match the keyed run, and a keyed slot cannot be computed.
TEST_F(JournalTest, KeyedRunsHeadCannotBeRewoundWithoutTheKey) {
  const Journal keyed(dir(), ChainKey("team-secret"));
  {
    ASSERT_OK_AND_ASSIGN(writer, keyed.CreateRun("r1"));
    ASSERT_TRUE(writer->Append(Events(1, 5)).ok());
  }
  ASSERT_OK_AND_ASSIGN(records, keyed.ReadRun("r1"));
  EditDb("r1", [](rocksdb::DB* db) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), EncodeKey(5)).ok());
  });
  const std::vector<Record> first4(records.begin(), records.begin() + 4);
  std::string bytes(kHeadFileBytes, '\0');
  Head forged = HeadOf(first4);
  forged.chain_mode = ChainMode::kSha256;
  bytes.replace(0, kHeadSlotBytes, EncodeHeadSlot(forged, ChainKey()));
  std::ofstream(dir() / "r1" / "head", std::ios::binary | std::ios::trunc) << bytes;
  const Status s = keyed.ReadRun("r1").status();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(s.message(), "is sha256 but the run is hmac-sha256")) << s.message();
}

// Issue 12 item 11: a run exists whole or not at all. A created run that never got its first
// batch leaves nothing behind; the first batch publishes it, with its head file.
TEST_F(JournalTest, RunAppearsOnlyWithItsFirstBatch) {
  {
    ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
    ASSERT_OK_AND_ASSIGN(none, journal().ListRuns());
    EXPECT_TRUE(none.empty()) << "a run being built is not listed";
    EXPECT_EQ(journal().ReadRun("r1").status().code(), Code::kNotFound);
  }
  EXPECT_TRUE(fs::is_empty(dir())) << "an abandoned creation leaves nothing";
  {
    ASSERT_OK_AND_ASSIGN(writer, journal().CreateRun("r1"));
    ASSERT_TRUE(writer->Append(Events(1, 2)).ok());
    ASSERT_OK_AND_ASSIGN(runs, journal().ListRuns());
    EXPECT_EQ(runs, std::vector<std::string>{"r1"});
    ASSERT_TRUE(writer->Append(Events(3, 1)).ok());
  }
  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  EXPECT_EQ(read.size(), 3u);
  ASSERT_OK_AND_ASSIGN(head, ReadHeadFile(dir() / "r1" / "head", ChainKey()));
  EXPECT_EQ(head.seq, 3u);
  std::vector<std::string> entries;
  for (const fs::directory_entry& e : fs::directory_iterator(dir())) {
    entries.push_back(e.path().filename().string());
  }
  EXPECT_EQ(entries, std::vector<std::string>{"r1"}) << "no hidden build directory is left";
}

// A crash in the middle of a synced write may leave the torn batch as zeros rather than a
// clean cut. That batch was never acknowledged (its head write never happened), so the run
// reads as one batch shorter, and a writer continues from there. The same zeros in an
// acknowledged batch are corruption.
TEST_F(JournalTest, TornWriteLeftAsZerosAfterTheHeadIsOnlyThatWriteLost) {
  CreateRunWithEvents("r1", 3);  // event 1 publishes (and is flushed on reopen); 2, 3 in the WAL
  fs::path wal;
  for (const fs::directory_entry& e : fs::directory_iterator(DbPath("r1"))) {
    if (e.path().extension() == ".log" && e.file_size() > 0) wal = e.path();
  }
  ASSERT_FALSE(wal.empty());
  const std::string original = ReadFileToString(wal).value();
  std::string zeroed = original;
  std::fill(zeroed.end() - 40, zeroed.end(), '\0');
  std::ofstream(wal, std::ios::binary | std::ios::trunc) << zeroed;
  // Acknowledged (the head names event 3): corruption.
  EXPECT_EQ(journal().ReadRun("r1").status().code(), Code::kCorruption);

  // Not acknowledged: the head write for event 3 never happened (its slot erased).
  const fs::path head_path = dir() / "r1" / "head";
  int slot = -1;
  ASSERT_OK_AND_ASSIGN(head, ReadHeadFile(head_path, ChainKey(), &slot));
  ASSERT_EQ(head.seq, 3u);
  std::string bytes = ReadFileToString(head_path).value();
  std::fill_n(bytes.begin() + slot * static_cast<int>(kHeadSlotStride), kHeadSlotBytes, '\0');
  std::ofstream(head_path, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_OK_AND_ASSIGN(read, journal().ReadRun("r1"));
  EXPECT_EQ(read.size(), 2u);
  {
    ASSERT_OK_AND_ASSIGN(writer, journal().OpenRun("r1"));
    EXPECT_EQ(writer->last_seq(), 2u);
    ASSERT_OK_AND_ASSIGN(stored, writer->Append(Events(3, 1)));
    EXPECT_EQ(stored[0].seq, 3u);
  }
  ASSERT_OK_AND_ASSIGN(after, journal().ReadRun("r1"));
  EXPECT_EQ(after.size(), 3u);
}

}  // namespace
}  // namespace backout::journal
