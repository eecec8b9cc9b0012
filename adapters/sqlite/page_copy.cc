#include "adapters/sqlite/page_copy.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace backout::adapters::sqlite {
namespace {

// Pages copied per sqlite3_backup_step: 1 MiB with the default 4 KiB page, so a stop is
// noticed within milliseconds without paying per-step overhead on every page.
constexpr int kPagesPerStep = 256;

constexpr std::chrono::seconds kProgressInterval{1};

// sqlite3_backup_finish also rolls back the destination's transaction of an unfinished copy.
struct BackupFinisher {
  void operator()(sqlite3_backup* backup) const { sqlite3_backup_finish(backup); }
};
using BackupHandle = std::unique_ptr<sqlite3_backup, BackupFinisher>;

// Turns page counts into progress lines, throttled so a fast copy does not flood the sink.
class ProgressReporter {
 public:
  ProgressReporter(const ProgressSink& sink, std::string_view label) : sink_(sink), label_(label) {}

  void Update(int copied, int total, bool finished) {
    if (!sink_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!finished && now - last_line_ < kProgressInterval) return;
    last_line_ = now;
    const std::int64_t percent = total > 0 ? static_cast<std::int64_t>(copied) * 100 / total : 100;
    sink_(fmt::format("{} {}% ({}/{} pages)", label_, percent, copied, total));
  }

 private:
  const ProgressSink& sink_;
  std::string_view label_;
  // One interval ago, so that the first update is shown at once.
  std::chrono::steady_clock::time_point last_line_ =
      std::chrono::steady_clock::now() - kProgressInterval;
};

}  // namespace

Status CopyDatabase(Connection& source, Connection& destination, const Connection& live,
                    std::string_view label, const ProgressSink& progress) {
  BackupHandle backup(sqlite3_backup_init(destination.handle(), "main", source.handle(), "main"));
  if (backup == nullptr) {
    return destination.Error(sqlite3_errcode(destination.handle()), label);
  }
  ProgressReporter reporter(progress, label);
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK) {
    // Returning drops `backup`, which rolls the destination back.
    if (live.stop().Fired()) return live.stop().Check().WithContext(label);
    rc = sqlite3_backup_step(backup.get(), kPagesPerStep);
    const int total = sqlite3_backup_pagecount(backup.get());
    reporter.Update(total - sqlite3_backup_remaining(backup.get()), total, rc == SQLITE_DONE);
  }
  if ((rc & 0xff) == SQLITE_BUSY) return live.Error(rc, label);
  // On failure sqlite3_backup_finish returns the step's error and leaves its message on the
  // destination connection.
  const int finish_rc = sqlite3_backup_finish(backup.release());
  if (rc != SQLITE_DONE || finish_rc != SQLITE_OK) {
    return destination.Error(finish_rc != SQLITE_OK ? finish_rc : rc, label);
  }
  return Status::Ok();
}

}  // namespace backout::adapters::sqlite
