#include "cli/backups.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "base/env.h"
#include "base/time.h"
#include "base/utf8.h"
#include "capture/capture.h"
#include "catalog/check.h"
#include "catalog/read.h"
#include "catalog/retention.h"
#include "catalog/stream.h"
#include "engine/plan_check.h"

namespace backout::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitNotIntact = 1;
constexpr int kExitJournal = 4;

journal::Journal StreamJournal(const Common& c) {
  return journal::Journal(catalog::StreamDir(c.journal_dir), c.journal_key, c.signing_key);
}

// The catalog, and in `captures` (may be null) every capture its runs took; unreadable runs
// are reported on stderr and make `*code` 4.
Result<catalog::Catalog> LoadCatalog(const Common& c, int* code,
                                     std::vector<capture::Capture>* captures = nullptr) {
  const journal::Journal runs(c.journal_dir, c.journal_key);
  Result<catalog::ReadOutcome> read =
      catalog::ReadCatalog(runs, StreamJournal(c), engine::DefaultPlanVocabulary());
  if (!read.ok()) return read.status();
  for (const Status& s : read->unreadable) {
    std::cerr << "backout: error: " << s.message() << "\n";
    *code = kExitJournal;
  }
  if (captures != nullptr) *captures = std::move(read->captures);
  return std::move(read->catalog);
}

// Every backup a capture took: a later rollback plan may still compare with it or restore
// from it (`capture.NAME`), so prune keeps it whatever the rules say.
std::vector<catalog::Hold> CaptureHolds(const std::vector<capture::Capture>& captures) {
  std::vector<catalog::Hold> holds;
  for (const capture::Capture& taken : captures) {
    for (const capture::CapturedBackup& b : capture::BackupsOf(taken)) {
      holds.push_back({catalog::BackupId(b.location, b.sha256),
                       fmt::format("capture '{}' (run {})", b.capture, b.run_id)});
    }
  }
  return holds;
}

std::string StateText(const catalog::Finding& finding) {
  return finding.detail.empty()
             ? std::string(catalog::ToString(finding.condition))
             : fmt::format("{} ({})", catalog::ToString(finding.condition), finding.detail);
}

json UseToJson(const catalog::BackupUse& use) {
  return {{"use", catalog::ToString(use.use)}, {"run", use.run_id},
          {"plan", use.plan_name},              {"step", use.step},
          {"attempt", use.attempt},             {"time", FormatUtcMicros(use.time_us)},
          {"operator", use.operator_name},      {"run_finished", use.run_finished}};
}

json BackupToJson(const catalog::Backup& b, const catalog::Finding& finding) {
  const catalog::BackupUse& origin = b.Origin();
  json out = {{"id", b.id},
              {"target", b.target},
              {"target_type", b.target_type},
              {"kind", b.kind},
              {"location", b.location},
              {"bytes", b.bytes},
              {"sha256", b.sha256},
              {"run", origin.run_id},
              {"step", origin.step},
              {"time", origin.time_us == 0 ? "" : FormatUtcMicros(origin.time_us)},
              {"state", catalog::ToString(finding.condition)},
              {"state_detail", finding.detail}};
  if (!b.table.empty()) out["table"] = b.table;
  json uses = json::array();
  for (const catalog::BackupUse& use : b.uses) uses.push_back(UseToJson(use));
  out["uses"] = std::move(uses);
  if (b.deleted) {
    out["deleted"] = {{"time", FormatUtcMicros(b.deleted->time_us)},
                      {"operator", b.deleted->operator_name},
                      {"host", b.deleted->host},
                      {"outcome", b.deleted->outcome}};
  }
  return out;
}

std::string TimeOf(const catalog::Backup& b) {
  return b.Origin().time_us == 0 ? "-" : FormatUtcMicros(b.Origin().time_us).substr(0, 19) + "Z";
}

std::vector<std::string> BackupRow(const catalog::Backup& b, const std::string& state) {
  return {b.id,
          b.target,
          b.kind,
          std::to_string(b.bytes),
          TimeOf(b),
          b.Origin().run_id.empty() ? "-" : b.Origin().run_id,
          b.Origin().step.empty() ? "-" : b.Origin().step,
          state,
          b.location};
}

// Columns padded to their widest cell; the last one (the location) is not padded.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace

int BackupsList(const Common& c, catalog::ObjectStore* objects, const std::string& target,
                bool json_out) {
  int code = kExitOk;
  Result<catalog::Catalog> cat = LoadCatalog(c, &code);
  if (!cat.ok()) return Fail(cat.status());
  json all = json::array();
  std::vector<std::vector<std::string>> rows = {
      {"ID", "TARGET", "KIND", "BYTES", "TIME", "RUN", "STEP", "STATE", "LOCATION"}};
  for (const catalog::Backup& b : cat->backups) {
    if (!target.empty() && b.target != target) continue;
    const catalog::Finding finding = catalog::Look(b, objects);
    all.push_back(BackupToJson(b, finding));
    rows.push_back(BackupRow(b, StateText(finding)));
  }
  std::cout << (json_out ? DumpJson(all, 2) + "\n" : Table(rows));
  return code;
}

int BackupsShow(const Common& c, catalog::ObjectStore* objects, const std::string& id,
                bool json_out) {
  int code = kExitOk;
  Result<catalog::Catalog> cat = LoadCatalog(c, &code);
  if (!cat.ok()) return Fail(cat.status());
  Result<const catalog::Backup*> found = cat->Find(id);
  if (!found.ok()) return Fail(found.status());
  const catalog::Backup& b = **found;
  const catalog::Finding finding = catalog::Look(b, objects);
  if (json_out) {
    std::cout << DumpJson(BackupToJson(b, finding), 2) << "\n";
    return code;
  }
  std::cout << fmt::format("backup {}\n  kind:     {}{}\n  target:   {} ({})\n  location: {}\n"
                           "  bytes:    {}\n  sha256:   {}\n  state:    {}\n",
                           b.id, b.kind, b.table.empty() ? "" : ", table " + b.table, b.target,
                           b.target_type, b.location, b.bytes, b.sha256, StateText(finding));
  for (const catalog::BackupUse& use : b.uses) {
    std::cout << fmt::format("  {} by run {} (plan {}), step {} attempt {}, at {} by {}{}\n",
                             use.use == catalog::Use::kTaken ? "taken" : "restored from",
                             use.run_id, use.plan_name, use.step, use.attempt,
                             FormatUtcMicros(use.time_us), use.operator_name,
                             use.run_finished ? "" : " (run not finished)");
  }
  if (b.deleted) {
    std::cout << fmt::format("  {} by prune at {} by {}@{}\n",
                             b.deleted->outcome == "deleted" ? "deleted" : "found already gone",
                             FormatUtcMicros(b.deleted->time_us), b.deleted->operator_name,
                             b.deleted->host);
  }
  return code;
}

int BackupsVerify(const Common& c, catalog::ObjectStore* objects,
                  const std::vector<std::string>& ids, bool json_out) {
  int code = kExitOk;
  Result<catalog::Catalog> cat = LoadCatalog(c, &code);
  if (!cat.ok()) return Fail(cat.status());
  std::vector<const catalog::Backup*> chosen;
  for (const std::string& id : ids) {
    Result<const catalog::Backup*> found = cat->Find(id);
    if (!found.ok()) return Fail(found.status());
    chosen.push_back(*found);
  }
  if (ids.empty()) {
    for (const catalog::Backup& b : cat->backups) {
      if (!b.deleted) chosen.push_back(&b);
    }
  }
  json all = json::array();
  int not_intact = 0;
  for (const catalog::Backup* b : chosen) {
    const catalog::Finding finding = catalog::Verify(*b, objects);
    // A folder is looked at only (catalog/check.h); it says so in its detail.
    const bool good = finding.condition == catalog::Condition::kIntact ||
                      (b->folder && finding.condition == catalog::Condition::kPresent);
    if (!good) ++not_intact;
    if (json_out) {
      all.push_back(BackupToJson(*b, finding));
    } else {
      std::cout << fmt::format("{}  {}  {}\n", b->id, StateText(finding), b->location);
    }
  }
  if (json_out) {
    std::cout << DumpJson(all, 2) << "\n";
  } else {
    std::cout << fmt::format("{} of {} backups intact\n", chosen.size() - not_intact,
                             chosen.size());
  }
  return code != kExitOk ? code : not_intact > 0 ? kExitNotIntact : kExitOk;
}

int BackupsPrune(const Common& c, catalog::ObjectStore* objects, const PruneOptions& options) {
  catalog::PruneRequest request;
  request.rules.target = options.target;
  if (options.keep_last) {
    if (*options.keep_last < 1) {
      return Fail(Status::InvalidArgument(fmt::format(
          "--keep-last must be at least 1 (got {}); to keep none, say which to delete by "
          "--keep-within",
          *options.keep_last)));
    }
    request.rules.keep_last = options.keep_last;
  }
  if (!options.keep_within.empty()) {
    Result<std::chrono::milliseconds> window = ParseRetentionWindow(options.keep_within);
    if (!window.ok()) return Fail(window.status().WithContext("--keep-within"));
    request.rules.keep_within_ms = window->count();
  }
  int code = kExitOk;
  std::vector<capture::Capture> captures;
  Result<catalog::Catalog> cat = LoadCatalog(c, &code, &captures);
  if (!cat.ok()) return Fail(cat.status());
  if (code != kExitOk) {
    std::cerr << "backout: error: prune refused: the runs above cannot be read, so which "
                 "backups they took or still need is unknown; nothing was deleted\n";
    return code;
  }
  request.holds = CaptureHolds(captures);
  Env* env = Env::Default();
  request.now_us = env->NowMicros();
  const std::vector<catalog::Verdict> verdicts = catalog::DecidePrune(*cat, request);
  catalog::RetentionDecided decided{.rules = request.rules};
  for (const catalog::Verdict& v : verdicts) {
    std::cout << fmt::format("{}  {}  {:<10} {}  {}\n  {}\n", v.remove ? "delete" : "keep  ",
                             v.backup->id, v.backup->target, TimeOf(*v.backup),
                             v.backup->location, v.reason);
    if (v.remove) {
      decided.deletes.push_back({v.backup->id, v.backup->location, v.backup->sha256,
                                 v.backup->bytes, v.reason});
    } else {
      ++decided.kept;
    }
  }
  std::cout << fmt::format("{} backup(s) to delete, {} kept\n", decided.deletes.size(),
                           decided.kept);
  if (options.dry_run) {
    std::cout << "dry run: nothing deleted, nothing journaled\n";
    return kExitOk;
  }
  Result<std::unique_ptr<catalog::StreamWriter>> writer = catalog::StreamWriter::Open(
      StreamJournal(c), env, c.operator_name, env->HostName());
  if (!writer.ok()) return Fail(writer.status());
  if (Status s = (*writer)->Append(decided); !s.ok()) return Fail(s);
  int failed = 0;
  for (const catalog::Verdict& v : verdicts) {
    if (!v.remove) continue;
    Result<std::string> outcome = catalog::Delete(*v.backup, objects);
    if (!outcome.ok()) {
      std::cerr << "backout: error: backup " << v.backup->id << ": "
                << outcome.status().message() << "\n";
      ++failed;
      continue;
    }
    const catalog::BackupDeleted deleted{v.backup->id, v.backup->location, v.backup->sha256,
                                         v.backup->bytes, *outcome};
    if (Status s = (*writer)->Append(deleted); !s.ok()) return Fail(s);
    std::cout << fmt::format("{} {}  {}\n", *outcome == "deleted" ? "deleted" : "already gone:",
                             v.backup->id, v.backup->location);
  }
  return failed > 0 ? kExitNotIntact : kExitOk;
}

}  // namespace backout::cli
