// Tamper evidence end to end (design.md section 1: "any edit, deletion or reordering is
// detected"): after a real run, the test edits the run's RocksDB directly, as an attacker
// or a broken disk would, then the real `backout` must refuse the journal with exit 4 and
// name the damaged event.
//
// The test uses journal/record_codec.h only for the key encoding and to confirm that its
// edit really left a record whose hash no longer matches (and nothing else wrong with it).
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <filesystem>
#include <memory>
#include <sstream>

#include "journal/record_codec.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kRows = 500;
constexpr std::uint64_t kTamperedSeq = 5;

std::string Show(const ProcessResult& r) {
  std::ostringstream s;
  s << "exit " << r.exit_code << " signal " << r.signal << "\n--- stdout\n"
    << r.out << "--- stderr\n" << r.err;
  return s.str();
}

std::unique_ptr<rocksdb::DB> OpenRunDb(const fs::path& db_dir) {
  rocksdb::Options options;
  options.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, db_dir.string(), &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(raw);
}

class CliTamper : public ::testing::Test {
 protected:
  void SetUp() override {
    ex_ = std::make_unique<Example>("media-rollback", kRows);
    const ProcessResult run = ex_->Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"},
                                           {{"APP_DRAIN_SECONDS", "0.05"}});
    ASSERT_EQ(run.exit_code, 0) << Show(run);
    run_id_ = RunIdFrom(run);
    // The untouched journal verifies: the failures below are caused by the edit alone.
    const ProcessResult verify = ex_->Backout({"verify", run_id_});
    ASSERT_EQ(verify.exit_code, 0) << Show(verify);
  }

  fs::path DbDir() const { return ex_->journal() / run_id_ / "db"; }

  std::unique_ptr<Example> ex_;
  std::string run_id_;
};

TEST_F(CliTamper, EditedPayloadIsReportedAsEvent5WithExit4) {
  {
    std::unique_ptr<rocksdb::DB> db = OpenRunDb(DbDir());
    ASSERT_NE(db, nullptr);
    const std::string key = journal::EncodeKey(kTamperedSeq);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &value).ok());
    Result<journal::Record> record = journal::DecodeRecord(value, kTamperedSeq);
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
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(db->Put(sync, key, value).ok());
    ASSERT_TRUE(db->Close().ok());

    Result<journal::Record> tampered = journal::DecodeRecord(value, kTamperedSeq);
    ASSERT_FALSE(tampered.ok()) << "the edit should break the record's hash";
    ASSERT_NE(tampered.status().message().find("hash"), std::string::npos)
        << tampered.status().message();
  }

  const ProcessResult verify = ex_->Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_NE((verify.out + verify.err).find("event #5"), std::string::npos) << Show(verify);

  const ProcessResult status = ex_->Backout({"status", run_id_});
  EXPECT_EQ(status.exit_code, 4) << Show(status);
  EXPECT_NE(status.err.find("event #5"), std::string::npos) << Show(status);

  // Nothing may build on a damaged journal either.
  const ProcessResult events = ex_->Backout({"events", run_id_});
  EXPECT_EQ(events.exit_code, 4) << Show(events);
  const ProcessResult resume = ex_->Backout({"resume", run_id_});
  EXPECT_EQ(resume.exit_code, 4) << Show(resume);
  const ProcessResult note = ex_->Backout({"note", run_id_, "on a damaged journal"});
  EXPECT_EQ(note.exit_code, 4) << Show(note);
  const ProcessResult all = ex_->Backout({"status"});
  EXPECT_EQ(all.exit_code, 4) << Show(all);
}

TEST_F(CliTamper, DeletedEventIsDetectedWithExit4) {
  {
    std::unique_ptr<rocksdb::DB> db = OpenRunDb(DbDir());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(db->Delete(sync, journal::EncodeKey(kTamperedSeq)).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  const ProcessResult verify = ex_->Backout({"verify", run_id_});
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  // The gap is found where #5 should be (the record found in its place is #6).
  EXPECT_NE((verify.out + verify.err).find("event #"), std::string::npos) << Show(verify);
  const ProcessResult status = ex_->Backout({"status", run_id_});
  EXPECT_EQ(status.exit_code, 4) << Show(status);
}

// A run whose RocksDB holds no record at all (every event deleted here; a SIGKILL between
// creating a run's database and its first append leaves the same state) is a journal
// integrity error (exit 4) saying the run has no events, for readers and writers alike.
// (Regression: `verify` once crashed on it.)
TEST_F(CliTamper, EveryEventDeletedIsAJournalErrorNotACrash) {
  {
    std::unique_ptr<rocksdb::DB> db = OpenRunDb(DbDir());
    ASSERT_NE(db, nullptr);
    rocksdb::WriteOptions sync;
    sync.sync = true;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    int deleted = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ASSERT_TRUE(db->Delete(sync, it->key()).ok());
      ++deleted;
    }
    ASSERT_TRUE(it->status().ok());
    ASSERT_GT(deleted, 10);
    it.reset();
    ASSERT_TRUE(db->Close().ok());
  }
  const ProcessResult verify = ex_->Backout({"verify", run_id_});
  EXPECT_EQ(verify.signal, 0) << "backout verify crashed\n" << Show(verify);
  EXPECT_EQ(verify.exit_code, 4) << Show(verify);
  EXPECT_NE(verify.err.find("has no events"), std::string::npos) << Show(verify);
  for (const std::string command : {"status", "resume"}) {
    const ProcessResult r = ex_->Backout({command, run_id_});
    EXPECT_EQ(r.exit_code, 4) << command << "\n" << Show(r);
    EXPECT_NE(r.err.find("has no events"), std::string::npos) << command << "\n" << Show(r);
  }
}

}  // namespace
}  // namespace backout::testing
