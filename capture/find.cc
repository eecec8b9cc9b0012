#include "capture/find.h"

#include <fmt/format.h>

#include <filesystem>

#include "base/sha256.h"
#include "base/utf8.h"
#include "history/run_history.h"

namespace backout::capture {
namespace {

// Whether the plan of a run, by its RunStarted, could hold a capture step: runs of plans
// that do not are not decoded further (reading every run of a journal is the cost of this).
bool MayHoldCaptures(const journal::Record& first) {
  return first.payload.find(kCaptureAction) != std::string::npos;
}

Result<std::vector<Capture>> CapturesOfStoredRun(const journal::Journal& journal,
                                                 const plan::Vocabulary& vocabulary,
                                                 const std::string& run_id) {
  Result<std::optional<history::RunOutcomes>> outcomes =
      history::ReadOutcomes(journal, run_id, MayHoldCaptures);
  if (!outcomes.ok()) return outcomes.status();
  if (!outcomes->has_value()) return std::vector<Capture>();
  Result<plan::Plan> plan = history::PlanFromJournal((*outcomes)->state, vocabulary);
  if (!plan.ok()) return plan.status();
  return CapturesOfOutcomes(run_id, **outcomes, *plan);
}

}  // namespace

std::vector<Capture> CapturesOfOutcomes(const std::string& run_id,
                                        const history::RunOutcomes& outcomes,
                                        const plan::Plan& plan) {
  const std::string plan_dir =
      std::filesystem::path(UnmarkInvalidUtf8(outcomes.state.start.plan_file))
          .parent_path()
          .string();
  return CapturesOfRun(run_id, outcomes.events, plan, plan_dir);
}

std::vector<Capture> CapturesInJournal(const journal::Journal& journal,
                                       const plan::Vocabulary& vocabulary,
                                       std::vector<std::string>* unreadable) {
  std::vector<Capture> captures;
  Result<std::vector<std::string>> runs = journal.ListRuns();
  if (!runs.ok()) {
    if (unreadable != nullptr) unreadable->push_back(runs.status().message());
    return captures;
  }
  for (const std::string& id : *runs) {
    Result<std::vector<Capture>> taken = CapturesOfStoredRun(journal, vocabulary, id);
    if (!taken.ok()) {
      if (unreadable != nullptr) {
        unreadable->push_back(fmt::format("run {}: {}", id, taken.status().message()));
      }
      continue;
    }
    for (Capture& c : *taken) captures.push_back(std::move(c));
  }
  return captures;
}

Result<Capture> FindCapture(const journal::Journal& journal, const plan::Vocabulary& vocabulary,
                            const std::string& name) {
  std::vector<std::string> unreadable;
  std::optional<Capture> latest;
  for (Capture& c : CapturesInJournal(journal, vocabulary, &unreadable)) {
    if (c.name == name && (!latest || c.taken_us >= latest->taken_us)) latest = std::move(c);
  }
  if (latest) return *latest;
  return Status::NotFound(fmt::format(
      "capture '{}' is not in the journal {}: no run there has a succeeded capture step of "
      "that name{}. Take it before the migration: backout capture PLAN --name {}",
      name, journal.dir().string(),
      unreadable.empty() ? "" : fmt::format(" ({} run(s) could not be read)", unreadable.size()),
      name));
}

Result<nlohmann::json> ResolveCaptures(const journal::Journal& journal,
                                       const plan::Vocabulary& vocabulary,
                                       const plan::Plan& plan) {
  nlohmann::json captures = nlohmann::json::array();
  for (const std::string& name : NamesUsed(plan)) {
    Result<Capture> found = FindCapture(journal, vocabulary, name);
    if (!found.ok()) return found.status();
    captures.push_back(ToJson(*found));
  }
  BACKOUT_RETURN_IF_ERROR(CheckUses(plan, captures));
  return captures;
}

namespace {

BackupCheck CheckLocalBackup(const CapturedBackup& backup, const std::string& what) {
  Result<FileDigest> digest = Sha256File(UnmarkInvalidUtf8(backup.location));
  if (!digest.ok()) {
    return {backup.target, what,
            Status::NotFound(
                fmt::format("{}: cannot be read: {}", what, digest.status().message()))};
  }
  if (digest->sha256_hex != backup.sha256) {
    return {backup.target, what,
            Status::ExpectationFailed(
                fmt::format("{}: sha256 is {}, not the {} journaled when it was taken", what,
                            digest->sha256_hex, backup.sha256))};
  }
  return {backup.target, fmt::format("{} ({} bytes, sha256 matches)", what, digest->bytes),
          Status::Ok()};
}

BackupCheck CheckStoredBackup(const CapturedBackup& backup, const std::string& what,
                              const HeadObjectFn& head_object) {
  Result<StoredObject> stored = head_object(backup);
  if (stored.status().code() == Code::kNotFound) {
    return {backup.target, what,
            Status::NotFound(fmt::format("{}: not in the store: {}", what,
                                         stored.status().message()))};
  }
  if (!stored.ok()) {
    return {backup.target, what,
            Status(stored.status().code(),
                   fmt::format("{}: the store cannot tell: {}", what, stored.status().message()))};
  }
  if (stored->bytes != backup.bytes) {
    return {backup.target, what,
            Status::ExpectationFailed(
                fmt::format("{}: holds {} bytes, not the {} journaled when it was taken", what,
                            stored->bytes, backup.bytes))};
  }
  if (!stored->sha256.empty() && stored->sha256 != backup.sha256) {
    return {backup.target, what,
            Status::ExpectationFailed(
                fmt::format("{}: records sha256 {}, not the {} journaled when it was taken",
                            what, stored->sha256, backup.sha256))};
  }
  return {backup.target,
          fmt::format("{} ({} bytes{})", what, stored->bytes,
                      stored->sha256.empty() ? "" : ", recorded sha256 matches"),
          Status::Ok()};
}

}  // namespace

std::vector<BackupCheck> CheckBackups(const Capture& capture, const HeadObjectFn& head_object) {
  std::vector<BackupCheck> checks;
  for (const CapturedBackup& backup : BackupsOf(capture)) {
    const std::string what =
        fmt::format("capture {}: backup of target {} at {}", capture.name, backup.target,
                    backup.location);
    checks.push_back(backup.location.find("://") == std::string::npos
                         ? CheckLocalBackup(backup, what)
                         : CheckStoredBackup(backup, what, head_object));
  }
  return checks;
}

}  // namespace backout::capture
