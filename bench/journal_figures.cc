// The journal figures of scripts/bench.sh, each next to its physical or library floor
// measured in the same process on the same filesystem. One subcommand per figure; each
// prints `name value` lines (times in microseconds) that the script turns into its table.
//
//   journal_figures latency    DIR N        one-event appends vs write+fdatasync of the bytes
//   journal_figures throughput DIR N BATCH  events/s with BATCH events per append
//   journal_figures make-run   JOURNAL RUN EVENTS PLAN   a paused run of EVENTS events
//   journal_figures fold       JOURNAL RUN  checked read, + decode+fold, vs a bare RocksDB scan
//
// Unlike journal_bench (Google Benchmark, for development), these run a fixed number of
// iterations so that the whole suite fits its time budget, and report percentiles.
#include <fcntl.h>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/file_util.h"
#include "engine/plan_check.h"
#include "engine/session.h"
#include "history/run_history.h"
#include "journal/journal.h"
#include "journal/record_codec.h"
#include "journal/run_index.h"
#include "plan/parser.h"
#include "statemachine/state.h"

namespace backout::bench {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double MicrosSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

void Print(std::string_view name, double value) { fmt::print("{} {:.3f}\n", name, value); }

[[noreturn]] void Die(std::string_view what) {
  std::cerr << "journal_figures: " << what << "\n";
  std::exit(1);
}

void DieUnless(const Status& s, std::string_view what) {
  if (!s.ok()) Die(fmt::format("{}: {}", what, s.ToString()));
}

// About 200 bytes once encoded, like a typical step event.
journal::NewRecord TypicalEvent() {
  return journal::NewRecord{
      .time_us = 1'763'745'374'000'000,
      .type = "StepSucceeded",
      .operator_name = "alice",
      .host = "db-admin-01",
      .payload = R"({"step":"restore_orders","attempt":1,"outputs":{"rows":1234,"ms":87}})"};
}

// p-th percentile (0..100) of `samples`, which it sorts.
double Percentile(std::vector<double>& samples, double p) {
  std::sort(samples.begin(), samples.end());
  const auto index = static_cast<std::size_t>(p / 100.0 * static_cast<double>(samples.size() - 1));
  return samples[index];
}

void PrintLatencies(std::string_view name, std::vector<double> samples) {
  Print(fmt::format("{}_p50_us", name), Percentile(samples, 50));
  Print(fmt::format("{}_p99_us", name), Percentile(samples, 99));
}

std::unique_ptr<journal::RunWriter> NewRun(const fs::path& dir) {
  Result<std::unique_ptr<journal::RunWriter>> writer =
      journal::Journal(dir).CreateRun("bench");
  DieUnless(writer.status(), "create run");
  return std::move(writer).value();
}

// The floor: `bytes` appended to a growing file and fdatasync'ed, `n` times; the file grows
// as a WAL does, so each sync also commits the new size, as the journal's must.
std::vector<double> RawAppendLatencies(const fs::path& file, std::size_t bytes, int n) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die("cannot create " + file.string());
  const std::string block(bytes, 'x');
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Clock::time_point start = Clock::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      Die("write or fdatasync failed");
    }
    samples.push_back(MicrosSince(start));
  }
  ::close(fd);
  return samples;
}

// A bare RocksDB (default options) synced Put of the same bytes: what the journal would
// cost without its own options and code.
std::vector<double> DefaultRocksPutLatencies(const fs::path& dir, std::size_t bytes, int n) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, dir.string(), &raw).ok()) Die("open default rocksdb");
  const std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  const std::string value(bytes, 'x');
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string key = journal::EncodeKey(static_cast<std::uint64_t>(i) + 1);
    const Clock::time_point start = Clock::now();
    if (!db->Put(sync, key, value).ok()) Die("rocksdb put");
    samples.push_back(MicrosSince(start));
  }
  return samples;
}

// The three writers take turns in rounds, so that a burst of load from other processes
// falls on all of them alike.
int Latency(const fs::path& dir, int n) {
  const std::unique_ptr<journal::RunWriter> writer = NewRun(dir / "journal");
  const journal::NewRecord event = TypicalEvent();
  // The bytes one event puts in the WAL: its value plus its key.
  const std::size_t bytes =
      journal::EncodeRecord(journal::Record{.run_id = "bench", .type = event.type,
                                            .operator_name = event.operator_name,
                                            .host = event.host, .payload = event.payload})
          .size() + journal::kKeyBytes;
  std::vector<double> raw, rocks, ours;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    const std::vector<double> r =
        RawAppendLatencies(dir / fmt::format("floor{}", round), bytes, n / kRounds);
    raw.insert(raw.end(), r.begin(), r.end());
    const std::vector<double> d =
        DefaultRocksPutLatencies(dir / fmt::format("default-rocksdb{}", round), bytes, n / kRounds);
    rocks.insert(rocks.end(), d.begin(), d.end());
    for (int i = 0; i < n / kRounds; ++i) {
      const Clock::time_point start = Clock::now();
      DieUnless(writer->Append({&event, 1}).status(), "append");
      ours.push_back(MicrosSince(start));
    }
  }
  Print("event_bytes", static_cast<double>(bytes));
  PrintLatencies("raw_fdatasync", std::move(raw));
  PrintLatencies("default_rocksdb_put", std::move(rocks));
  PrintLatencies("append", std::move(ours));
  return 0;
}

int Throughput(const fs::path& dir, int n, int batch_size) {
  const std::unique_ptr<journal::RunWriter> writer = NewRun(dir / "journal");
  const std::vector<journal::NewRecord> batch(static_cast<std::size_t>(batch_size),
                                              TypicalEvent());
  const Clock::time_point start = Clock::now();
  int done = 0;
  for (; done < n; done += batch_size) DieUnless(writer->Append(batch).status(), "append");
  Print("batched_events_per_s", done / (MicrosSince(start) / 1e6));
  return 0;
}

// A run as a long incident leaves it: RunStarted with PLAN, EVENTS - 2 operator notes
// (appended through RunSession, so every one passes the transition table), and RunPaused,
// so that `backout resume` continues with the plan's first step.
int MakeRun(const fs::path& journal_dir, const std::string& run_id, int events,
            const fs::path& plan_file) {
  Result<std::string> text = ReadFileToString(plan_file);
  DieUnless(text.status(), "read plan");
  plan::ParseOutcome parsed = plan::ParsePlan(*text, plan_file.string(), engine::DefaultPlanVocabulary());
  if (!parsed.ok()) Die("plan does not parse");
  const journal::Journal journal(journal_dir);
  Result<std::unique_ptr<engine::RunSession>> session = engine::RunSession::Create(
      journal, run_id, *parsed.plan, fs::absolute(plan_file).string(),
      engine::SessionOptions{.env = Env::Default(),
                             .who = {.operator_name = "alice", .host = "db-admin-01"}});
  DieUnless(session.status(), "create run");
  constexpr int kBatch = 1000;
  for (int seq = 2; seq < events;) {
    std::vector<sm::EventBody> notes;
    for (; seq < events && notes.size() < kBatch; ++seq) {
      notes.push_back(sm::NoteAdded{.text = fmt::format(
          "event {}: replica lag back under 5 s after the restore of orders", seq)});
    }
    DieUnless((*session)->Append(std::move(notes)), "append notes");
  }
  DieUnless((*session)->Append({sm::RunPaused{.reason = sm::RunPaused::Reason::kSignal}}),
            "append RunPaused");
  return 0;
}

// Opens the run's database read-only with default options and touches every key and value:
// the least any reader of the run must do.
double BareIterationMicros(const fs::path& db_path, std::size_t* count) {
  const Clock::time_point start = Clock::now();
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::OpenForReadOnly(rocksdb::Options(), db_path.string(), &raw).ok()) {
    Die("open read-only");
  }
  const std::unique_ptr<rocksdb::DB> db(raw);
  const std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  std::size_t bytes = 0;
  *count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    bytes += it->key().size() + it->value().size() +
             static_cast<unsigned char>(it->value()[it->value().size() - 1]);
    ++*count;
  }
  if (!it->status().ok()) Die("iterate");
  const double micros = MicrosSince(start);
  if (bytes == 0) Die("empty run");
  return micros;
}

// Best of `reps` for each, alternating, so all see the same page cache and load. The stages
// are cumulative: the bare scan; the journal's one-pass checked read (ScanRun: decode, hash
// chain, head); that read folding as it goes (history::FoldRun: + JSON payload decode and
// sm::Apply), which is what `status RUN` and `resume` do before acting.
int FoldFigures(const fs::path& journal_dir, const std::string& run_id, int reps) {
  const journal::Journal journal(journal_dir);
  double bare = 1e300, scan = 1e300, fold = 1e300;
  std::size_t count = 0;
  for (int rep = 0; rep < reps; ++rep) {
    bare = std::min(bare, BareIterationMicros(journal_dir / run_id / "db", &count));
    Clock::time_point start = Clock::now();
    std::size_t scanned = 0;
    DieUnless(journal.ScanRun(run_id,
                              [&](const journal::Record&) {
                                ++scanned;
                                return Status::Ok();
                              }),
              "scan run");
    scan = std::min(scan, MicrosSince(start));
    if (scanned != count) Die("scan saw another number of records");
    start = Clock::now();
    DieUnless(history::FoldRun(journal, run_id).status(), "fold run");
    fold = std::min(fold, MicrosSince(start));
  }
  Print("events", static_cast<double>(count));
  Print("bare_iteration_us", bare);
  Print("scan_verify_us", scan);
  Print("snapshot_us", fold);
  return 0;
}

// COUNT finished runs as `backout run` of a one-step plan leaves them (RunStarted, the step
// started and succeeded, RunFinished), written through RunSession (every event passes the
// transition table), each with an id from journal::NewRunId. For `status` of many runs.
int MakeRuns(const fs::path& journal_dir, int count, const fs::path& plan_file) {
  Result<std::string> text = ReadFileToString(plan_file);
  DieUnless(text.status(), "read plan");
  plan::ParseOutcome parsed = plan::ParsePlan(*text, plan_file.string(), engine::DefaultPlanVocabulary());
  if (!parsed.ok()) Die("plan does not parse");
  const std::string step = parsed.plan->steps.front().id;
  const journal::Journal journal(journal_dir);
  for (int i = 0; i < count; ++i) {
    Result<std::unique_ptr<engine::RunSession>> session = engine::RunSession::Create(
        journal, journal::NewRunId(Env::Default()->NowMicros()), *parsed.plan,
        fs::absolute(plan_file).string(),
        engine::SessionOptions{.env = Env::Default(),
                               .who = {.operator_name = "alice", .host = "db-admin-01"}});
    DieUnless(session.status(), "create run");
    DieUnless((*session)->Append({sm::StepStarted{.step = step}}), "append StepStarted");
    DieUnless((*session)->Append({sm::StepSucceeded{.step = step},
                                  sm::RunFinished{.outcome = sm::RunFinished::Ending::kSucceeded}}),
              "append StepSucceeded");
  }
  return 0;
}

// COUNT summaries of BYTES each in one new RocksDB database, flushed to a table file.
void WriteSummaries(const fs::path& db_path, int count, int bytes) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(options, db_path.string(), &raw).ok()) Die("open summaries db");
  {
    const std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteBatch batch;
    const std::string value(static_cast<std::size_t>(bytes), 's');
    for (int i = 0; i < count; ++i) {
      if (!batch.Put(fmt::format("20261205T000000Z-{:06}-{:016x}", i, i), value).ok()) {
        Die("put summary");
      }
    }
    if (!db->Write(rocksdb::WriteOptions(), &batch).ok()) Die("write summaries");
    if (!db->Flush(rocksdb::FlushOptions()).ok()) Die("flush summaries");
  }
}

// The peer of `status` of many runs: COUNT summaries of BYTES each (what the run index
// holds of a run) in one RocksDB database, written by the first call, then scanned REPS
// times; prints the best scan. Every key and value is touched, as a reader that prints them
// must.
int ScanSummaries(const fs::path& db_path, int count, int bytes, int reps) {
  if (!fs::exists(db_path)) WriteSummaries(db_path, count, bytes);
  double best = 1e300;
  std::size_t scanned = 0;
  for (int rep = 0; rep < reps; ++rep) best = std::min(best, BareIterationMicros(db_path, &scanned));
  Print("summaries", static_cast<double>(scanned));
  Print("scan_us", best);
  return 0;
}

// Part of the floor of `status` of many runs: what proves each index entry still holds,
// every run's stamp (journal/run_index.h), read on one thread, in process; prints the best
// of REPS.
int ReadStamps(const fs::path& journal_dir, int reps) {
  const journal::Journal journal(journal_dir);
  Result<std::vector<std::string>> ids = journal.ListRunIds();
  DieUnless(ids.status(), "list runs");
  const journal::RunStampReader reader(journal_dir, journal::ChainKey());
  double best = 1e300;
  for (int rep = 0; rep < reps; ++rep) {
    const auto start = Clock::now();
    for (const std::string& id : *ids) DieUnless(reader.Read(id).status(), "read stamp");
    best = std::min(best, MicrosSince(start));
  }
  Print("stamps", static_cast<double>(ids->size()));
  Print("stamps_us", best);
  return 0;
}

int Usage() {
  std::cerr << "usage: journal_figures latency DIR N | throughput DIR N BATCH |\n"
               "       make-run JOURNAL RUN EVENTS PLAN | fold JOURNAL RUN [REPS] |\n"
               "       make-runs JOURNAL COUNT PLAN | scan-summaries DB COUNT BYTES REPS |\n"
               "       read-stamps JOURNAL REPS\n";
  return 2;
}

}  // namespace
}  // namespace backout::bench

int main(int argc, char** argv) {
  using namespace backout::bench;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 3 && args[0] == "latency") return Latency(args[1], std::stoi(args[2]));
  if (args.size() == 4 && args[0] == "throughput") {
    return Throughput(args[1], std::stoi(args[2]), std::stoi(args[3]));
  }
  if (args.size() == 5 && args[0] == "make-run") {
    return MakeRun(args[1], args[2], std::stoi(args[3]), args[4]);
  }
  if (args.size() == 4 && args[0] == "make-runs") {
    return MakeRuns(args[1], std::stoi(args[2]), args[3]);
  }
  if (args.size() == 5 && args[0] == "scan-summaries") {
    return ScanSummaries(args[1], std::stoi(args[2]), std::stoi(args[3]), std::stoi(args[4]));
  }
  if (args.size() == 3 && args[0] == "read-stamps") return ReadStamps(args[1], std::stoi(args[2]));
  if ((args.size() == 3 || args.size() == 4) && args[0] == "fold") {
    return FoldFigures(args[1], args[2], args.size() == 4 ? std::stoi(args[3]) : 3);
  }
  return Usage();
}
