// Durable journal writes and whole-run reads, next to the physical floor of a synced write
// on the same filesystem. Every case works in a fresh directory under $BACKOUT_BENCH_DIR
// (default: the current directory), so put that on the disk whose numbers you want.
//
//   ./journal_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Times are wall-clock (UseRealTime): an fsync is spent waiting, not computing.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "testing/signing_keys.h"

namespace backout::journal {
namespace {
namespace fs = std::filesystem;

constexpr int kReadRunEvents = 10'000;

// A fresh directory under $BACKOUT_BENCH_DIR or ".", removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("BACKOUT_BENCH_DIR");
    std::string pattern = (fs::path(base != nullptr ? base : ".") / "backout-bench-XXXXXX");
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// About 200 bytes once encoded, like a typical step event.
NewRecord TypicalEvent() {
  NewRecord r;
  r.time_us = 1'763'745'374'000'000;
  r.type = "StepFinished";
  r.operator_name = "alice";
  r.host = "db-admin-01";
  r.payload = R"({"step":"restore_orders","outcome":"ok","exit_code":0,"duration_ms":1234})";
  return r;
}

// The floor: 64 bytes and an fdatasync. Arg 0 appends (the file grows, as a new WAL does, so
// each sync also commits the size change); arg 1 overwrites in place (what WAL recycling
// would buy).
void BM_WriteFdatasync(benchmark::State& state) {
  const bool overwrite = state.range(0) != 0;
  ScratchDir scratch;
  const fs::path file = scratch.path() / "floor";
  const int fd =
      scratch.ok() ? ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (fd < 0) {
    state.SkipWithError("cannot create the scratch file");
    return;
  }
  const std::string block(64, 'x');
  for (auto _ : state) {
    const ssize_t n = overwrite ? ::pwrite(fd, block.data(), block.size(), 0)
                                : ::write(fd, block.data(), block.size());
    if (n != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
      break;
    }
  }
  ::close(fd);
  state.SetItemsProcessed(state.iterations());
}

// One durable Append of a batch of range(0) events; signed (journal/signing.h) when range(1)
// is 1.
void BM_Append(benchmark::State& state) {
  ScratchDir scratch;
  if (!scratch.ok()) {
    state.SkipWithError("cannot create the scratch directory");
    return;
  }
  std::shared_ptr<const SigningKey> signer;
  if (state.range(1) == 1) {
    const testing::KeyFiles keys = testing::WriteEd25519KeyPair(scratch.path(), "bench");
    Result<SigningKey> key = SigningKey::LoadPemFile(keys.private_pem);
    if (!key.ok()) {
      state.SkipWithError(key.status().ToString().c_str());
      return;
    }
    signer = std::make_shared<const SigningKey>(std::move(key).value());
  }
  const Journal journal(scratch.path() / "journal", ChainKey(), signer);
  Result<std::unique_ptr<RunWriter>> writer = journal.CreateRun("bench");
  if (!writer.ok()) {
    state.SkipWithError(writer.status().ToString().c_str());
    return;
  }
  const std::vector<NewRecord> batch(static_cast<std::size_t>(state.range(0)), TypicalEvent());
  // A run's first append publishes it (renames it into place and reopens its database): a
  // one-time cost of creating a run, not of an append, so it is kept out of the timing.
  if (Result<std::span<const Record>> first = (*writer)->Append(batch); !first.ok()) {
    state.SkipWithError(first.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    Result<std::span<const Record>> stored = (*writer)->Append(batch);
    if (!stored.ok()) {
      state.SkipWithError(stored.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// ReadRun of a closed 10,000-event run. Arg 0: as the writer left it (the read-only open
// replays the WAL into a memtable); arg 1: after one reopen, which flushed the WAL to an SST.
void BM_ReadRun(benchmark::State& state) {
  ScratchDir scratch;
  if (!scratch.ok()) {
    state.SkipWithError("cannot create the scratch directory");
    return;
  }
  const Journal journal(scratch.path() / "journal");
  {
    Result<std::unique_ptr<RunWriter>> writer = journal.CreateRun("bench");
    const std::vector<NewRecord> batch(500, TypicalEvent());
    for (int done = 0; writer.ok() && done < kReadRunEvents; done += 500) {
      Result<std::span<const Record>> stored = (*writer)->Append(batch);
      if (!stored.ok()) writer = stored.status();
    }
    if (!writer.ok()) {
      state.SkipWithError(writer.status().ToString().c_str());
      return;
    }
  }
  if (state.range(0) != 0 && !journal.OpenRun("bench").ok()) {
    state.SkipWithError("reopen failed");
    return;
  }
  for (auto _ : state) {
    Result<std::vector<Record>> records = journal.ReadRun("bench");
    if (!records.ok() || records->size() != kReadRunEvents) {
      state.SkipWithError("ReadRun failed or returned a wrong count");
      break;
    }
    benchmark::DoNotOptimize(records);
  }
  state.SetItemsProcessed(state.iterations() * kReadRunEvents);
}

BENCHMARK(BM_WriteFdatasync)->ArgName("overwrite")->Arg(0)->Arg(1)
    ->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Append)->ArgNames({"events", "signed"})->ArgsProduct({{1, 8, 64}, {0, 1}})
    ->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadRun)->ArgName("reopened")->Arg(0)->Arg(1)
    ->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace backout::journal

BENCHMARK_MAIN();
