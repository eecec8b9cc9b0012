#include "journal/fault_injection.h"

#include <fmt/format.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <charconv>
#include <memory>
#include <string>

namespace backout::journal {
namespace {

constexpr std::string_view kEnospcAtAppend = "enospc-at-append:";

// Shared by every WAL file of the process: the count of batches written (writes up to a
// sync), and whether the disk is "full" yet.
struct FaultState {
  int fail_at_batch = 0;
  int batches = 0;
  bool full = false;

  rocksdb::IOStatus NoSpace() const {
    return rocksdb::IOStatus::NoSpace("injected by BACKOUT_JOURNAL_FAULT");
  }
};

// A WAL file whose writes fail once the state says the disk is full. Every synced RocksDB
// write appends its WAL record, then syncs: the writes between two syncs are one batch, one
// RunWriter::Append. Syncs RocksDB makes on its own (opening, closing) write nothing and so
// do not shift the count.
class FaultyWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWalFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultState* state)
      : FSWritableFileOwnerWrapper(std::move(file)), state_(state) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (Trip()) return state_->NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (Trip()) return state_->NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* dbg) override {
    if (state_->full) return state_->NoSpace();
    in_batch_ = false;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (state_->full) return state_->NoSpace();
    in_batch_ = false;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  // Whether this write fails: the disk is full already, or this write opens the fatal
  // batch (the first write after a sync opens a batch), so none of that batch's bytes land.
  bool Trip() {
    if (state_->full) return true;
    if (in_batch_) return false;
    in_batch_ = true;
    if (++state_->batches >= state_->fail_at_batch) state_->full = true;
    return state_->full;
  }

  FaultState* state_;
  bool in_batch_ = false;  // written since the last sync
};

class FaultyFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  explicit FaultyFileSystem(int fail_at_batch)
      : FileSystemWrapper(rocksdb::FileSystem::Default()) {
    state_.fail_at_batch = fail_at_batch;
  }

  const char* Name() const override { return "BackoutFaultyFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name,
                                    const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    return Wrap(name, FileSystemWrapper::NewWritableFile(name, options, result, dbg), result);
  }
  rocksdb::IOStatus ReopenWritableFile(const std::string& name,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override {
    return Wrap(name, FileSystemWrapper::ReopenWritableFile(name, options, result, dbg),
                result);
  }
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override {
    return Wrap(name,
                FileSystemWrapper::ReuseWritableFile(name, old_name, options, result, dbg),
                result);
  }

 private:
  // WAL files are NNNNNN.log; the info log (LOG, LOG.old.*) is not one.
  rocksdb::IOStatus Wrap(const std::string& name, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* file) {
    if (opened.ok() && name.ends_with(".log")) {
      *file = std::make_unique<FaultyWalFile>(std::move(*file), &state_);
    }
    return opened;
  }

  FaultState state_;
};

std::unique_ptr<rocksdb::Env>& FaultEnvSlot() {
  static std::unique_ptr<rocksdb::Env> env;
  return env;
}

}  // namespace

Status EnableJournalFaults(std::string_view spec) {
  int n = 0;
  const std::string_view digits = spec.substr(std::min(spec.size(), kEnospcAtAppend.size()));
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (!spec.starts_with(kEnospcAtAppend) || digits.empty() || ec != std::errc() ||
      end != digits.data() + digits.size() || n < 1) {
    return Status::InvalidArgument(fmt::format(
        "BACKOUT_JOURNAL_FAULT: '{}' is not a known fault (expected enospc-at-append:N, N >= 1)",
        spec));
  }
  FaultEnvSlot() = rocksdb::NewCompositeEnv(std::make_shared<FaultyFileSystem>(n));
  return Status::Ok();
}

rocksdb::Env* JournalFaultEnv() { return FaultEnvSlot().get(); }

}  // namespace backout::journal
