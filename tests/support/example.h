// The examples/ plans as the end-to-end tests use them: each test gets its own copy of an
// example folder with freshly generated data, and runs the real `backout` binary on it.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/process.h"

namespace backout::testing {

// Paths baked in by CMake.
std::filesystem::path BackoutBinary();
std::filesystem::path SourceDir();

// Runs tests/report_schema_check.py (python3-jsonschema) on `reports`, files of
// `backout report --format json`: exit 0 when all match docs/report.schema.json.
ProcessResult CheckReportSchema(const std::vector<std::filesystem::path>& reports);

// A private copy of examples/NAME with its data generated (generate.sh DIR ROWS).
class Example {
 public:
  // Another folder laid out like an example (plan.yaml, generate.sh), e.g. under tests/data.
  struct FromDir {
    std::filesystem::path dir;
  };

  // `env` reaches generate.sh and every Backout() call (a server's address, a DSN); a value
  // given to Backout() for the same name wins.
  Example(const std::string& name, int rows, std::map<std::string, std::string> env = {});
  Example(const FromDir& source, int rows, std::map<std::string, std::string> env = {});

  const std::filesystem::path& dir() const { return tmp_.path(); }
  std::filesystem::path journal() const { return dir() / "journal"; }
  std::filesystem::path plan() const { return dir() / "plan.yaml"; }

  // Runs `backout ARGS...` in the example folder with --journal implied through
  // BACKOUT_JOURNAL and BACKOUT_OPERATOR=tester unless `env` says otherwise.
  ProcessResult Backout(const std::vector<std::string>& args,
                        std::map<std::string, std::string> env = {}) const;
  ProcessSpec BackoutSpec(const std::vector<std::string>& args,
                          std::map<std::string, std::string> env = {}) const;

  const std::map<std::string, std::string>& env() const { return env_; }

 private:
  TempDir tmp_;
  std::map<std::string, std::string> env_;
};

// `sqlite3 DB .dump` of a database: its complete logical content.
std::string DumpDatabase(const std::filesystem::path& db);

// The id of the one run in the example's journal (throws unless there is exactly one).
std::string OnlyRun(const Example& ex);

// The run id a `backout run` printed on its first line.
std::string RunIdFrom(const ProcessResult& run);

// The run's events (`backout events RUN --json`, one JSON object a line), oldest first. A
// failing command fails the calling test and gives no events.
std::vector<nlohmann::json> Events(const Example& ex, const std::string& run_id);

// The run's report as JSON (`backout report RUN --format json`); a failing command fails the
// calling test.
nlohmann::json ReportJson(const Example& ex, const std::string& run_id);

// Those of `events` of `type` ("StepFailed"), in order; with `step`, only those whose
// payload names that step.
std::vector<nlohmann::json> EventsOfType(const std::vector<nlohmann::json>& events,
                                         std::string_view type,
                                         std::optional<std::string_view> step = std::nullopt);

}  // namespace backout::testing
