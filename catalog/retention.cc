#include "catalog/retention.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "base/time.h"

namespace backout::catalog {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;

struct Rules {
  std::optional<int> keep_last;
  std::optional<std::int64_t> keep_within_ms;
  bool Any() const { return keep_last.has_value() || keep_within_ms.has_value(); }
};

// The file name a plan would use for the backup (the last part of a path or URL).
std::string FileNameOf(const std::string& location) {
  const std::size_t slash = location.find_last_of('/');
  return slash == std::string::npos ? location : location.substr(slash + 1);
}

// Newest first: each backup's place among `group`, which holds the same target's backups.
std::map<const Backup*, std::size_t> RanksOf(std::vector<const Backup*> group) {
  std::stable_sort(group.begin(), group.end(), [](const Backup* a, const Backup* b) {
    return a->Origin().time_us > b->Origin().time_us;
  });
  std::map<const Backup*, std::size_t> ranks;
  for (std::size_t i = 0; i < group.size(); ++i) ranks[group[i]] = i;
  return ranks;
}

// Why `rules` keep a backup of rank `rank` taken at `time_us`, or nullopt.
std::optional<std::string> KeptBy(const Rules& rules, std::size_t rank, std::int64_t time_us,
                                  std::int64_t now_us, const std::string& whose) {
  if (rules.keep_last && rank < static_cast<std::size_t>(*rules.keep_last)) {
    return fmt::format("among the {} newest of {} (keep-last {})", *rules.keep_last, whose,
                       *rules.keep_last);
  }
  if (rules.keep_within_ms && now_us - time_us <= *rules.keep_within_ms * 1000) {
    return fmt::format("taken within {} (keep-within {})", FormatWindow(*rules.keep_within_ms),
                       FormatWindow(*rules.keep_within_ms));
  }
  return std::nullopt;
}

std::string NotKept(const Rules& rules, std::size_t rank, const std::string& whose) {
  std::vector<std::string> why;
  if (rules.keep_last) why.push_back(fmt::format("number {} of {}, newest first", rank + 1, whose));
  if (rules.keep_within_ms) {
    why.push_back(fmt::format("older than {}", FormatWindow(*rules.keep_within_ms)));
  }
  return fmt::format("{}", fmt::join(why, ", "));
}

Rules PlanRules(const Backup& backup) {
  if (!backup.plan_retention) return {};
  Rules rules{backup.plan_retention->keep_last, std::nullopt};
  if (backup.plan_retention->keep_within) {
    rules.keep_within_ms = backup.plan_retention->keep_within->count();
  }
  return rules;
}

std::optional<std::string> HeldBy(const Catalog& catalog, const PruneRequest& request,
                                  const Backup& backup) {
  if (!backup.Taken()) return "no run took it (it was only restored from)";
  if (backup.folder) return "a folder (json_store backup): prune does not delete folders";
  for (const Hold& hold : request.holds) {
    if (hold.backup_id == backup.id) return hold.reason;
  }
  for (const BackupUse& use : backup.uses) {
    if (!use.run_finished) {
      return fmt::format("run {} ({} step {}) has not finished", use.run_id, ToString(use.use),
                         use.step);
    }
  }
  const std::string file_name = FileNameOf(backup.location);
  for (const UnfinishedRun& run : catalog.unfinished_runs) {
    if (!file_name.empty() && run.plan_text.find(file_name) != std::string::npos) {
      return fmt::format("the plan of unfinished run {} names {}", run.run_id, file_name);
    }
    if (std::find(run.restores_from_variable.begin(), run.restores_from_variable.end(),
                  backup.target) != run.restores_from_variable.end()) {
      return fmt::format("unfinished run {} has yet to restore target {} from a file it names "
                         "by a variable",
                         run.run_id, backup.target);
    }
  }
  return std::nullopt;
}

}  // namespace

std::string FormatWindow(std::int64_t window_ms) {
  if (window_ms > 0 && window_ms % (7 * kDayMs) == 0) return fmt::format("{}w", window_ms / (7 * kDayMs));
  if (window_ms > 0 && window_ms % kDayMs == 0) return fmt::format("{}d", window_ms / kDayMs);
  return FormatDuration(std::chrono::milliseconds(window_ms));
}

std::vector<Verdict> DecidePrune(const Catalog& catalog, const PruneRequest& request) {
  // Ranks count every backup still there that a run took: held ones take their places too.
  std::map<std::string, std::vector<const Backup*>> by_target;
  std::map<std::pair<std::string, std::string>, std::vector<const Backup*>> by_plan_target;
  for (const Backup& b : catalog.backups) {
    if (b.deleted || !b.Taken()) continue;
    by_target[b.target].push_back(&b);
    by_plan_target[{b.Origin().plan_name, b.target}].push_back(&b);
  }
  std::map<const Backup*, std::size_t> target_rank;
  for (auto& [target, group] : by_target) target_rank.merge(RanksOf(group));
  std::map<const Backup*, std::size_t> plan_rank;
  for (auto& [key, group] : by_plan_target) plan_rank.merge(RanksOf(group));

  const Rules flags{request.rules.keep_last, request.rules.keep_within_ms};
  std::vector<Verdict> verdicts;
  for (const Backup& b : catalog.backups) {
    if (b.deleted || (!request.rules.target.empty() && b.target != request.rules.target)) {
      continue;
    }
    Verdict& verdict = verdicts.emplace_back(Verdict{&b, false, ""});
    if (std::optional<std::string> held = HeldBy(catalog, request, b)) {
      verdict.reason = "kept: " + *held;
      continue;
    }
    const std::int64_t time_us = b.Origin().time_us;
    const std::string target_whose = fmt::format("target {}", b.target);
    if (std::optional<std::string> kept =
            KeptBy(flags, target_rank[&b], time_us, request.now_us, target_whose)) {
      verdict.reason = "kept: " + *kept;
      continue;
    }
    const Rules plan_rules = PlanRules(b);
    const std::string plan_whose =
        fmt::format("target {} in plan {}", b.target, b.Origin().plan_name);
    if (std::optional<std::string> kept =
            KeptBy(plan_rules, plan_rank[&b], time_us, request.now_us, plan_whose)) {
      verdict.reason = fmt::format("kept: the plan's retention: {}", *kept);
      continue;
    }
    if (!flags.Any() && !plan_rules.Any()) {
      verdict.reason = "kept: no retention rule applies to it";
      continue;
    }
    verdict.remove = true;
    std::vector<std::string> why;
    if (flags.Any()) why.push_back(NotKept(flags, target_rank[&b], target_whose));
    if (plan_rules.Any()) {
      why.push_back("the plan's retention: " + NotKept(plan_rules, plan_rank[&b], plan_whose));
    }
    verdict.reason = fmt::format("not kept: {}", fmt::join(why, "; "));
  }
  return verdicts;
}

}  // namespace backout::catalog
