// Tamper evidence end to end (design.md section 1: "any edit, deletion or reordering is
// detected"; issue 4 item 6): after a real run, the test edits the run's RocksDB directly, as
// an attacker or a broken disk would, then the real `backout` must refuse the journal with
// exit 4 and name what is wrong.
//
// Two attacks leave a chain that is consistent in itself: cutting off the tail, and rewriting
// an event while recomputing every later hash. A plain SHA-256 chain cannot see them. The
// run's head file (journal/head_file.h) does, unless the attacker rewrites it too, which is
// possible for an unkeyed run; then the head hash recorded earlier does (`verify
// --expect-head`), and so does the key of a keyed chain for the second, because a forger
// without the key cannot compute valid HMACs.
//
// The test uses journal/ for the record encoding (what an attacker would reimplement) and to
// read the untouched records; it reads keyed records with the real key only for convenience.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>

#include "journal/head_file.h"
#include "journal/journal.h"
#include "journal/record_codec.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kRows = 500;
constexpr std::uint64_t kTamperedSeq = 5;
constexpr char kKey[] = "k3y-f0r-the-t4mper-test";



std::unique_ptr<rocksdb::DB> OpenRunDb(const fs::path& db_dir) {
  rocksdb::Options options;
  options.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, db_dir.string(), &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(raw);
}

// The "head hash H" line that `verify` prints.
std::string HeadFrom(const ProcessResult& verify) {
  const std::string marker = "head hash ";
  const std::size_t at = verify.out.find(marker);
  if (at == std::string::npos) return "";
  return verify.out.substr(at + marker.size(), 64);
}

// A finished run of the media-rollback example, journaled with `key` (empty: unkeyed).
class CliTamper : public ::testing::Test {
 protected:
  explicit CliTamper(std::string key = "") : key_(std::move(key)) {}

  void SetUp() override {
    ex_ = std::make_unique<Example>("media-rollback", kRows);
    const ProcessResult run = Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"});
    ASSERT_EQ(run.exit_code, 0) << Show(run);
    run_id_ = RunIdFrom(run);
    // The untouched journal verifies: the failures below are caused by the edit alone.
    const ProcessResult verify = Backout({"verify", run_id_});
    ASSERT_EQ(verify.exit_code, 0) << Show(verify);
    head_ = HeadFrom(verify);
    ASSERT_EQ(head_.size(), 64u) << Show(verify);
  }

  // `backout ARGS` with this fixture's key in BACKOUT_JOURNAL_KEY (set even when empty, so a
  // key in the developer's environment cannot leak in).
  ProcessResult Backout(const std::vector<std::string>& args) const {
    return BackoutWithKey(args, key_);
  }
  ProcessResult BackoutWithKey(const std::vector<std::string>& args, const std::string& key) const {
    return ex_->Backout(args, {{"APP_DRAIN_SECONDS", "0.05"}, {"BACKOUT_JOURNAL_KEY", key}});
  }

  fs::path DbDir() const { return ex_->journal() / run_id_ / "db"; }

  std::vector<journal::Record> ReadRecords() const {
    Result<std::vector<journal::Record>> records =
        journal::Journal(ex_->journal(), journal::ChainKey(key_)).ReadRun(run_id_);
    EXPECT_TRUE(records.ok()) << records.status().ToString();
    return records.ok() ? *records : std::vector<journal::Record>{};
  }

  // Applies `edit` to the run's database, synced and closed before returning.
  void EditDb(const std::function<void(rocksdb::DB*, const rocksdb::WriteOptions&)>& edit) {
    std::unique_ptr<rocksdb::DB> db = OpenRunDb(DbDir());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteOptions sync;
    sync.sync = true;
    edit(db.get(), sync);
    ASSERT_TRUE(db->Close().ok());
  }

  // What an attacker of an unkeyed run does after editing records: rewrite the head file to
  // name the new last record (its checksum is a plain SHA-256 for unkeyed runs).
  void ForgeHeadFile() {
    const std::vector<journal::Record> records = ReadRecordsUnchecked();
    ASSERT_FALSE(records.empty());
    std::string bytes(journal::kHeadFileBytes, '\0');
    const journal::Head head = journal::HeadOf(records);
    bytes.replace(0, journal::kHeadSlotBytes, journal::EncodeHeadSlot(head, journal::ChainKey()));
    std::ofstream(ex_->journal() / run_id_ / "head", std::ios::binary | std::ios::trunc) << bytes;
  }

  // The stored records as an attacker reads them: straight from RocksDB, nothing checked.
  std::vector<journal::Record> ReadRecordsUnchecked() const {
    std::vector<journal::Record> records;
    std::unique_ptr<rocksdb::DB> db = OpenRunDb(DbDir());
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key(it->key().data(), it->key().size());
      const std::string_view value(it->value().data(), it->value().size());
      Result<std::uint64_t> seq = journal::DecodeKey(key);
      Result<journal::Record> r = journal::DecodeRecord(value, *seq, journal::ChainKey());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) records.push_back(*r);
    }
    return records;
  }

  // The attack a plain chain cannot see: event #kTamperedSeq (baseline's StepSucceeded) gets
  // another row count, and it and every later record get hashes recomputed in `mode` with
  // `forger`'s key (the attacker's: none, or a guess). From `first_seq` on, records take
  // `mode` (1: the whole chain).
  void RewriteAndRehash(journal::ChainMode mode, const journal::ChainKey& forger,
                        std::uint64_t first_seq = kTamperedSeq) {
    std::vector<journal::Record> records = ReadRecords();
    ASSERT_GT(records.size(), kTamperedSeq);
    journal::Record& target = records[kTamperedSeq - 1];
    ASSERT_EQ(target.type, "StepSucceeded");
    const std::size_t rows_at = target.payload.find("\"rows\":500");
    ASSERT_NE(rows_at, std::string::npos) << target.payload;
    target.payload[rows_at + 7] = '9';
    EditDb([&](rocksdb::DB* db, const rocksdb::WriteOptions& sync) {
      for (std::size_t i = first_seq - 1; i < records.size(); ++i) {
        journal::Record& r = records[i];
        r.chain_mode = mode;
        r.prev_hash = i == 0 ? Digest{} : records[i - 1].hash;
        r.hash = journal::ComputeRecordHash(r, forger);
        ASSERT_TRUE(db->Put(sync, journal::EncodeKey(r.seq), journal::EncodeRecord(r)).ok());
      }
    });
  }

  std::string key_;
  std::unique_ptr<Example> ex_;
  std::string run_id_;
  std::string head_;  // the head hash `verify` printed before any edit
};

class CliTamperKeyed : public CliTamper {
 protected:
  CliTamperKeyed() : CliTamper(kKey) {}
};

TEST_F(CliTamper, EditedPayloadIsReportedAsEvent5WithExit4) {
  EditDb([](rocksdb::DB* db, const rocksdb::WriteOptions& sync) {
    const std::string key = journal::EncodeKey(kTamperedSeq);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &value).ok());
    Result<journal::Record> record =
        journal::DecodeRecord(value, kTamperedSeq, journal::ChainKey());
    ASSERT_TRUE(record.ok()) << record.status().message();
    // #5 is baseline's StepSucceeded: its outputs hold the row counts later steps compare with.
    ASSERT_EQ(record->type, "StepSucceeded");
    const std::size_t payload_at = value.find(record->payload);
    ASSERT_NE(payload_at, std::string::npos);
    const std::size_t rows_at = value.find("\"rows\":500", payload_at);
    ASSERT_NE(rows_at, std::string::npos) << record->payload;
    ASSERT_LT(rows_at, payload_at + record->payload.size());
    // Same length, still valid JSON, hash left as it was: only the hash chain can tell.
    value[rows_at + std::string("\"rows\":").size()] = '9';
    ASSERT_TRUE(db->Put(sync, key, value).ok());

    Result<journal::Record> tampered =
        journal::DecodeRecord(value, kTamperedSeq, journal::ChainKey());
    ASSERT_FALSE(tampered.ok()) << "the edit should break the record's hash";
    ASSERT_TRUE(Contains(tampered.status().message(), "hash")) << tampered.status().message();
  });

  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, "event #5: hash mismatch: record content was altered"))
      << Show(verify);

  const ProcessResult status = Backout({"status", run_id_});
  EXPECT_EQ(status.exit_code, 4) << Show(status);
  EXPECT_TRUE(Contains(status.err, "event #5")) << Show(status);

  // Nothing may build on a damaged journal either.
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"events", run_id_}, {"resume", run_id_}, {"note", run_id_, "on a damaged journal"},
           {"export", run_id_}, {"status"}}) {
    const ProcessResult r = Backout(args);
    EXPECT_EQ(r.exit_code, 4) << args[0] << "\n" << Show(r);
  }
}

TEST_F(CliTamper, DeletedEventIsDetectedWithExit4) {
  EditDb([](rocksdb::DB* db, const rocksdb::WriteOptions& sync) {
    ASSERT_TRUE(db->Delete(sync, journal::EncodeKey(kTamperedSeq)).ok());
  });
  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  // The gap is found where #5 should be: the record found in its place is #6.
  EXPECT_TRUE(Contains(verify.err, "event #6: chain broken: expected event #5 here"))
      << Show(verify);
  const ProcessResult status = Backout({"status", run_id_});
  EXPECT_EQ(status.exit_code, 4) << Show(status);
}

// Swapping the stored values of two keys (the records keep their own seq inside) is caught
// by the key/seq check; rewriting the seq inside too would break the hashes instead.
TEST_F(CliTamper, SwappedEventsAreDetectedWithExit4) {
  EditDb([](rocksdb::DB* db, const rocksdb::WriteOptions& sync) {
    const std::string key5 = journal::EncodeKey(kTamperedSeq);
    const std::string key6 = journal::EncodeKey(kTamperedSeq + 1);
    std::string value5, value6;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key5, &value5).ok());
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key6, &value6).ok());
    ASSERT_TRUE(db->Put(sync, key5, value6).ok());
    ASSERT_TRUE(db->Put(sync, key6, value5).ok());
  });
  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, "event #5: key says seq 5 but record says 6")) << Show(verify);
}

// Cutting off the last events leaves a valid, shorter chain: only the head recorded before
// the cut can tell.
TEST_F(CliTamper, TruncatedTailIsCaughtByTheHeadRecordedEarlier) {
  const std::vector<journal::Record> records = ReadRecords();
  constexpr std::size_t kCut = 3;
  ASSERT_GT(records.size(), kCut + kTamperedSeq);
  EditDb([&](rocksdb::DB* db, const rocksdb::WriteOptions& sync) {
    for (std::size_t i = records.size() - kCut; i < records.size(); ++i) {
      ASSERT_TRUE(db->Delete(sync, journal::EncodeKey(records[i].seq)).ok());
    }
  });
  const journal::Record& new_head = records[records.size() - kCut - 1];

  // The head file records how far the run got, so the cut is caught without any head
  // recorded elsewhere.
  const ProcessResult caught = Backout({"verify", run_id_});
  EXPECT_EQ(caught.exit_code, 4) << Show(caught);
  const std::string head_file = (DbDir().parent_path() / "head").string();
  EXPECT_TRUE(Contains(caught.err, fmt::format("the journal ends at event #{} but its head file "
                                               "{} records event #{}",
                                               new_head.seq, head_file, records.back().seq)))
      << Show(caught);

  // An attacker who also rewrites the head file leaves a chain consistent in itself.
  ForgeHeadFile();
  const ProcessResult plain = Backout({"verify", run_id_});
  EXPECT_EQ(plain.exit_code, 0) << "a cut chain is consistent in itself\n" << Show(plain);
  EXPECT_EQ(HeadFrom(plain), ToHex(new_head.hash)) << Show(plain);

  const ProcessResult expected = Backout({"verify", run_id_, "--expect-head", head_});
  EXPECT_EQ(expected.exit_code, 4) << Show(expected);
  EXPECT_EQ(HeadFrom(expected), ToHex(new_head.hash)) << "verify prints the head in every case";
  EXPECT_TRUE(Contains(expected.err,
                       fmt::format("head hash {} (event #{}) does not match the expected {}: the "
                                   "journal was rewritten or truncated after that head was "
                                   "recorded",
                                   ToHex(new_head.hash), new_head.seq, head_)))
      << Show(expected);
}

TEST_F(CliTamper, RewrittenAndRehashedUnkeyedChainIsCaughtByTheHeadRecordedEarlier) {
  RewriteAndRehash(journal::ChainMode::kSha256, journal::ChainKey());
  const ProcessResult caught = Backout({"verify", run_id_});
  EXPECT_EQ(caught.exit_code, 4) << Show(caught);
  EXPECT_TRUE(Contains(caught.err, "the journal was rewritten after that event was acknowledged"))
      << Show(caught);
  ForgeHeadFile();
  const ProcessResult plain = Backout({"verify", run_id_});
  EXPECT_EQ(plain.exit_code, 0) << "a plain chain and its head file cannot see this alone\n"
                                << Show(plain);
  EXPECT_NE(HeadFrom(plain), head_);

  const ProcessResult expected = Backout({"verify", run_id_, "--expect-head", head_});
  EXPECT_EQ(expected.exit_code, 4) << Show(expected);
  EXPECT_TRUE(Contains(expected.err, "does not match the expected " + head_ +
                                         ": the journal was rewritten or truncated"))
      << Show(expected);
}

TEST_F(CliTamper, ExpectHeadTakesTheFullHashInEitherCaseAndNamesAppendedEvents) {
  const ProcessResult same = Backout({"verify", run_id_, "--expect-head", head_});
  EXPECT_EQ(same.exit_code, 0) << Show(same);
  EXPECT_TRUE(Contains(same.out, "head hash is the expected one")) << Show(same);
  std::string upper = head_;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  EXPECT_EQ(Backout({"verify", run_id_, "--expect-head", upper}).exit_code, 0);

  const ProcessResult prefix = Backout({"verify", run_id_, "--expect-head", head_.substr(0, 12)});
  EXPECT_EQ(prefix.exit_code, 2) << Show(prefix);
  EXPECT_TRUE(Contains(prefix.err, "give all 64 hex digits")) << Show(prefix);

  // A legitimate event after the head was recorded is still a different head, and says so.
  const std::size_t events_before = ReadRecords().size();
  ASSERT_EQ(Backout({"note", run_id_, "post-mortem scheduled"}).exit_code, 0);
  const ProcessResult appended = Backout({"verify", run_id_, "--expect-head", head_});
  EXPECT_EQ(appended.exit_code, 4) << Show(appended);
  EXPECT_TRUE(Contains(appended.err,
                       fmt::format("which is the hash of event #{}: events #{} to #{} were "
                                   "appended after that head was recorded",
                                   events_before, events_before + 1, events_before + 1)))
      << Show(appended);
}

// A run whose RocksDB holds no record at all (every event deleted here) is a journal
// integrity error (exit 4) naming the head file and the last acknowledged event, for readers
// and writers alike, and the message keeps the evidence: it never advises removing the run.
// (Regression: `verify` once crashed on it; it then advised removing the directory.)
TEST_F(CliTamper, EveryEventDeletedIsAJournalErrorNotACrash) {
  EditDb([](rocksdb::DB* db, const rocksdb::WriteOptions& sync) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    int deleted = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ASSERT_TRUE(db->Delete(sync, it->key()).ok());
      ++deleted;
    }
    ASSERT_TRUE(it->status().ok());
    ASSERT_GT(deleted, 10);
  });
  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_EQ(verify.signal, 0) << "backout verify crashed\n" << Show(verify);
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  const std::string lost = "the journal ends at event #0 but its head file";
  EXPECT_TRUE(Contains(verify.err, lost)) << Show(verify);
  for (const std::string command : {"status", "resume", "events", "report", "export"}) {
    const ProcessResult r = Backout({command, run_id_});
    EXPECT_EQ(r.exit_code, 4) << command << "\n" << Show(r);
    EXPECT_TRUE(Contains(r.err, lost)) << command << "\n" << Show(r);
    EXPECT_TRUE(Contains(r.err, "nothing can be resumed from it")) << command << "\n" << Show(r);
    EXPECT_TRUE(Contains(r.err, "cp -a ")) << command << "\n" << Show(r);
    EXPECT_FALSE(Contains(r.err, "remove " + (ex_->journal() / run_id_).string()))
        << command << "\n" << Show(r);
  }
  // `status` of all runs reports the damaged run too.
  EXPECT_EQ(Backout({"status"}).exit_code, 4);
}

// Every byte under `dir`, for looking for a secret.
std::string AllBytesUnder(const fs::path& dir) {
  std::string bytes;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) bytes += ReadFile(e.path());
  }
  return bytes;
}

TEST_F(CliTamperKeyed, KeyedRunNeedsItsKeyAndTheKeyIsNeverWrittenOrPrinted) {
  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_TRUE(Contains(verify.out, "keyed hash chain (HMAC-SHA256) intact")) << Show(verify);

  const ProcessResult without = BackoutWithKey({"verify", run_id_}, "");
  EXPECT_EQ(without.exit_code, 4) << Show(without);
  EXPECT_TRUE(Contains(without.err, "event #1: run " + run_id_ +
                                        " is keyed (HMAC-SHA256 chain): set BACKOUT_JOURNAL_KEY "
                                        "to verify it"))
      << Show(without);
  const ProcessResult wrong = BackoutWithKey({"verify", run_id_}, "not-the-key");
  EXPECT_EQ(wrong.exit_code, 4) << Show(wrong);
  EXPECT_TRUE(Contains(wrong.err, "event #1: hash mismatch")) << Show(wrong);
  EXPECT_TRUE(Contains(wrong.err, "(wrong key?)")) << Show(wrong);
  EXPECT_EQ(BackoutWithKey({"status", run_id_}, "").exit_code, 4);
  EXPECT_EQ(BackoutWithKey({"resume", run_id_}, "not-the-key").exit_code, 4);

  for (const ProcessResult* r : {&verify, &without, &wrong}) {
    EXPECT_FALSE(Contains(r->out + r->err, kKey)) << Show(*r);
  }
  // Nowhere in the run: not in an event, the lock file, the step logs or RocksDB's own files.
  EXPECT_FALSE(Contains(AllBytesUnder(ex_->journal()), kKey));
}

TEST_F(CliTamperKeyed, RewriteRehashedWithPlainSha256IsCaughtWithoutAHead) {
  RewriteAndRehash(journal::ChainMode::kSha256, journal::ChainKey());
  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, "event #5: chain broken: chain mode changes from hmac-sha256 "
                                   "(event #4) to sha256 (events were rewritten without the "
                                   "key)"))
      << Show(verify);
}

TEST_F(CliTamperKeyed, RewriteRehashedWithAGuessedKeyIsCaughtWithoutAHead) {
  RewriteAndRehash(journal::ChainMode::kHmacSha256, journal::ChainKey("guessed"));
  const ProcessResult verify = Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_TRUE(Contains(verify.err, "event #5: hash mismatch: record content was altered, or "
                                   "BACKOUT_JOURNAL_KEY is not this run's key (wrong key?)"))
      << Show(verify);
}

// The documented limit: a forger who rewrites the whole run as a plain chain produces a
// valid unkeyed run. verify warns that a key is set but the run is unkeyed, and the head
// recorded earlier catches it.
TEST_F(CliTamperKeyed, WholeRunRewrittenUnkeyedIsFlaggedAndCaughtByTheHead) {
  RewriteAndRehash(journal::ChainMode::kSha256, journal::ChainKey(), /*first_seq=*/1);
  // The keyed head file cannot be rewritten without the key...
  const ProcessResult caught = Backout({"verify", run_id_});
  EXPECT_EQ(caught.exit_code, 4) << Show(caught);
  EXPECT_TRUE(Contains(caught.err, "the journal was rewritten after that event was acknowledged"))
      << Show(caught);
  // ...but it can be replaced by an unkeyed one, which makes the run look like an unkeyed run.
  ForgeHeadFile();
  const ProcessResult plain = Backout({"verify", run_id_});
  EXPECT_EQ(plain.exit_code, 0) << Show(plain);
  EXPECT_TRUE(Contains(plain.err, "backout: warning: BACKOUT_JOURNAL_KEY is set, but run " +
                                      run_id_ + " is not keyed"))
      << Show(plain);
  const ProcessResult expected = Backout({"verify", run_id_, "--expect-head", head_});
  EXPECT_EQ(expected.exit_code, 4) << Show(expected);
  EXPECT_TRUE(Contains(expected.err, "the journal was rewritten or truncated")) << Show(expected);
}

// The key reaches the journal and nothing else: `backout` takes it out of its environment
// before running plan steps, so a step's command (and whatever it logs) never sees it.
TEST(CliJournalKey, StepCommandsDoNotInheritTheKey) {
  const TempDir dir;
  WriteFile(dir.path() / "plan.yaml", R"(version: 1
name: key-not-inherited
targets:
  app: { type: command, cwd: . }
steps:
  - id: look-for-the-key
    command: { target: app, shell: 'env; ! env | grep -q ^BACKOUT_JOURNAL_KEY=' }
)");
  const ProcessResult run = RunProcess(
      {.argv = {BackoutBinary().string(), "run", "plan.yaml"},
       .env = {{"BACKOUT_JOURNAL", (dir.path() / "journal").string()},
               {"BACKOUT_JOURNAL_KEY", kKey}},
       .cwd = dir.path()});
  EXPECT_EQ(run.exit_code, 0) << "the step saw BACKOUT_JOURNAL_KEY\n" << Show(run);
  EXPECT_FALSE(Contains(run.out + run.err, kKey)) << Show(run);
  EXPECT_FALSE(Contains(AllBytesUnder(dir.path() / "journal"), kKey));
}

}  // namespace
}  // namespace backout::testing
