#include "cli/step_logs.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "adapters/common/run_log.h"
#include "base/file_util.h"
#include "base/sha256.h"

namespace backout::cli {
namespace {

namespace fs = std::filesystem;

struct JournaledLog {
  std::string step;
  int attempt = 0;
  std::uint64_t seq = 0;
  sm::LogDigest digest;
};

// The digest each log file was journaled with, by file name (the last, should a file come
// twice: a log only grows).
std::map<std::string, JournaledLog> JournaledLogs(const std::vector<sm::Event>& events) {
  std::map<std::string, JournaledLog> out;
  for (const sm::Event& e : events) {
    if (const std::optional<sm::StepLogOf> log = sm::LogOf(e.body)) {
      out[log->digest.file] = JournaledLog{log->step, log->attempt, e.seq, log->digest};
    }
  }
  return out;
}

// STEP and ATTEMPT of a file named STEP.ATTEMPT.log (adapters::LogFileName); nullopt for
// any other name.
std::optional<std::pair<std::string, int>> StepOfLogFile(std::string_view name) {
  if (!name.ends_with(".log")) return std::nullopt;
  name.remove_suffix(4);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return std::nullopt;
  const std::string_view digits = name.substr(dot + 1);
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(),
                                        [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const int attempt = std::stoi(std::string(digits));
  if (attempt < 1) return std::nullopt;
  return std::pair(std::string(name.substr(0, dot)), attempt);
}

Status Mismatch(const JournaledLog& j, std::string_view problem) {
  return Status::Corruption(fmt::format(
      "step {} attempt {}: log {} {} (event #{} journaled {} bytes, sha256 {})", j.step,
      j.attempt, j.digest.file, problem, j.seq, j.digest.bytes, j.digest.sha256));
}

bool Matches(const sm::LogDigest& digest, std::string_view content) {
  return digest.bytes == content.size() && digest.sha256 == Sha256Hex(content);
}

}  // namespace

Result<std::vector<journal::ExportedLog>> CollectStepLogs(const std::vector<sm::Event>& events,
                                                          const fs::path& log_dir) {
  std::map<std::string, JournaledLog> journaled = JournaledLogs(events);
  // By logical file name: a file of an earlier version's layout first, then the sections of
  // the run log (a run resumed by this version has both; a check run again appends).
  std::map<std::string, std::string> contents;
  std::error_code ec;
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(log_dir, ec)) {
    if (entry.is_regular_file(ec) && StepOfLogFile(entry.path().filename().string())) {
      files.push_back(entry.path().filename().string());
    }
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::IOError(fmt::format("cannot list {}: {}", log_dir.string(), ec.message()));
  }
  for (const std::string& name : files) {
    Result<std::string> content = ReadFileToString(log_dir / name);
    if (!content.ok()) return content.status();
    contents[name] = std::move(content).value();
  }
  Result<adapters::RunLogContents> run_log =
      adapters::ReadRunLog(log_dir / adapters::kRunLogFileName);
  if (run_log.ok()) {
    for (adapters::RunLogSection& section : run_log->sections) {
      if (StepOfLogFile(section.name)) contents[section.name].append(section.content);
    }
  } else if (run_log.status().code() != Code::kNotFound) {
    return run_log.status();
  }
  std::vector<journal::ExportedLog> out;
  for (auto& [name, content] : contents) {
    const auto [step, attempt] = *StepOfLogFile(name);
    journal::ExportedLog log{.step = step, .attempt = attempt, .file = name,
                             .content = std::move(content)};
    if (const auto it = journaled.find(name); it != journaled.end()) {
      if (!Matches(it->second.digest, log.content)) {
        return Mismatch(it->second, "was changed after it was journaled");
      }
      log.journaled = true;
      journaled.erase(it);
    }
    out.push_back(std::move(log));
  }
  if (!journaled.empty()) return Mismatch(journaled.begin()->second, "is missing");
  return out;
}

Result<std::vector<std::string>> CheckExportedLogs(
    const std::vector<sm::Event>& events, const std::vector<journal::ExportedLog>& logs) {
  std::map<std::string, JournaledLog> journaled = JournaledLogs(events);
  std::vector<std::string> unverified;
  std::set<std::string> seen;
  for (const journal::ExportedLog& log : logs) {
    if (!seen.insert(log.file).second) {
      return Status::Corruption(
          fmt::format("step {} attempt {}: log {} comes twice", log.step, log.attempt, log.file));
    }
    const auto it = journaled.find(log.file);
    if (it == journaled.end()) {
      if (log.journaled) {
        return Status::Corruption(fmt::format(
            "step {} attempt {}: log {} claims a journaled digest, and no event journaled one",
            log.step, log.attempt, log.file));
      }
      unverified.push_back(log.file);
      continue;
    }
    if (!Matches(it->second.digest, log.content)) {
      return Mismatch(it->second, "in the export does not match the digest journaled");
    }
  }
  if (!logs.empty()) {
    for (const auto& [file, j] : journaled) {
      if (!seen.contains(file)) return Mismatch(j, "is missing from the export");
    }
  }
  return unverified;
}

Status RestoreStepLogs(const std::vector<journal::ExportedLog>& logs, const fs::path& log_dir) {
  if (logs.empty()) return Status::Ok();
  std::string run_log;
  for (const journal::ExportedLog& log : logs) {
    if (!adapters::IsRunLogName(log.file)) {
      return Status::InvalidArgument(fmt::format(
          "step {} attempt {}: '{}' cannot name a log", log.step, log.attempt, log.file));
    }
    run_log += adapters::EncodeRunLogFrame(log.file, log.content);
  }
  return WriteFileAtomically(log_dir / adapters::kRunLogFileName, run_log, 0600);
}

}  // namespace backout::cli
