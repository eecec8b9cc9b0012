#include "tests/support/example.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

namespace backout::testing {
namespace fs = std::filesystem;

fs::path BackoutBinary() { return BACKOUT_BINARY; }
fs::path SourceDir() { return BACKOUT_SOURCE_DIR; }

ProcessResult CheckReportSchema(const std::vector<fs::path>& reports) {
  ProcessSpec spec;
  spec.argv = {BACKOUT_PYTHON3, (SourceDir() / "tests" / "report_schema_check.py").string(),
               (SourceDir() / "docs" / "report.schema.json").string()};
  for (const fs::path& p : reports) spec.argv.push_back(p.string());
  return RunProcess(spec);
}

Example::Example(const std::string& name, int rows, std::map<std::string, std::string> env)
    : Example(FromDir{SourceDir() / "examples" / name}, rows, std::move(env)) {}

Example::Example(const FromDir& source, int rows, std::map<std::string, std::string> env)
    : env_(std::move(env)) {
  fs::copy(source.dir, dir(), fs::copy_options::recursive);
  const ProcessResult gen = RunProcess(
      {.argv = {"/bin/bash", (dir() / "generate.sh").string(), dir().string(), std::to_string(rows)},
       .env = env_});
  if (gen.exit_code != 0) throw std::runtime_error("generate.sh failed: " + gen.err);
}

ProcessSpec Example::BackoutSpec(const std::vector<std::string>& args,
                                 std::map<std::string, std::string> env) const {
  ProcessSpec spec;
  spec.argv.push_back(BackoutBinary().string());
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  env.insert(env_.begin(), env_.end());  // keeps the values given for this call
  env.emplace("BACKOUT_JOURNAL", journal().string());
  env.emplace("BACKOUT_OPERATOR", "tester");
  spec.env = std::move(env);
  spec.cwd = dir();
  return spec;
}

ProcessResult Example::Backout(const std::vector<std::string>& args,
                               std::map<std::string, std::string> env) const {
  return RunProcess(BackoutSpec(args, std::move(env)));
}

std::string DumpDatabase(const fs::path& db) {
  const ProcessResult r = RunProcess({.argv = {"/usr/bin/sqlite3", db.string(), ".dump"}});
  if (r.exit_code != 0) throw std::runtime_error("sqlite3 .dump failed: " + r.err);
  return r.out;
}

std::string OnlyRun(const Example& ex) {
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(ex.journal())) runs.push_back(e.path().filename());
  if (runs.size() != 1) throw std::runtime_error("expected exactly one run");
  return runs.front();
}

std::string RunIdFrom(const ProcessResult& run) {
  std::string line = run.out.substr(0, run.out.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();  // a terminal's line ending
  return line;
}

std::vector<nlohmann::json> Events(const Example& ex, const std::string& run_id) {
  const ProcessResult r = ex.Backout({"events", run_id, "--json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  std::vector<nlohmann::json> events;
  if (r.exit_code != 0) return events;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) events.push_back(nlohmann::json::parse(line));
  }
  return events;
}

nlohmann::json ReportJson(const Example& ex, const std::string& run_id) {
  const ProcessResult r = ex.Backout({"report", run_id, "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << Show(r);
  return nlohmann::json::parse(r.out);
}

std::vector<nlohmann::json> EventsOfType(const std::vector<nlohmann::json>& events,
                                         std::string_view type,
                                         std::optional<std::string_view> step) {
  std::vector<nlohmann::json> out;
  for (const nlohmann::json& e : events) {
    if (e.at("type") != type) continue;
    if (step && e.at("payload").value("step", "") != *step) continue;
    out.push_back(e);
  }
  return out;
}

}  // namespace backout::testing
