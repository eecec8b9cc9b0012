// Bytes that are not UTF-8 end to end (issue 12 item 4, docs/reliability.md "Hostile
// bytes"): the real `backout` binary with such bytes in an environment value that reaches a
// step's outputs, in the journal directory's path, in command output and in the operator's
// name. Each must be journaled marked (docs/events.md, "Bytes that are not UTF-8"), every
// reader must work, and an effect that completed must be journaled as an outcome. (A plan
// holding such a byte is refused like any malformed plan: cli_test's MalformedPlan cases.)
#include <gtest/gtest.h>

#include <csignal>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 200;
constexpr char kMark[] = "\xEF\xBF\xBD";  // U+FFFD, followed by the byte's two hex digits

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::exists(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

json OutputsOf(const std::vector<json>& events, const std::string& step) {
  const std::vector<json> done = EventsOfType(events, "StepSucceeded", step);
  if (done.size() != 1) throw std::runtime_error("expected one StepSucceeded of " + step);
  return done.front()["payload"]["outputs"];
}

// Every reader of a run: status, events, verify, report in all three formats, export.
void ReadersWork(const Example& ex, const std::string& run_id,
                 std::map<std::string, std::string> env = {}) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"status", run_id, "--json"},
                                             {"status", "--json"},
                                             {"events", run_id},
                                             {"events", run_id, "--json"},
                                             {"verify", run_id},
                                             {"replay", run_id},
                                             {"report", run_id, "--format", "md"},
                                             {"report", run_id, "--format", "html"},
                                             {"report", run_id, "--format", "json"},
                                             {"export", run_id}}) {
    SCOPED_TRACE(args.front() + " " + args.back());
    const ProcessResult r = ex.Backout(args, env);
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    // Every line of JSON output parses (events --json is JSON Lines).
    if (args.back() == "--json" || args.back() == "json") {
      const bool lines = args.front() == "events";
      std::size_t from = 0;
      while (from < r.out.size()) {
        const std::size_t end = lines ? r.out.find('\n', from) : std::string::npos;
        const std::string part = r.out.substr(from, end == std::string::npos ? end : end - from);
        EXPECT_FALSE(json::parse(part, nullptr, false).is_discarded()) << part;
        from = end == std::string::npos ? r.out.size() : end + 1;
      }
    }
  }
}

// The reproduction of issue 12: `backup: {to: "bk-${D}/"}` with a 0xFF byte in D aborted the
// runner after the backup was written, and every resume wrote another one.
TEST(HostileBytes, BackupPathWithAByteThatIsNotUtf8IsJournaledAndNothingRepeats) {
  Example ex("media-rollback", kRows);
  WriteFile(ex.dir() / "hostile.yaml", R"yaml(version: 1
name: hostile-backup
targets:
  appdb: { type: sqlite, path: data/app.db }
  ops: { type: command, cwd: . }
steps:
  - id: backup
    backup: { target: appdb, to: "bk-${D}/" }
  - id: backup-is-there
    command: { target: ops, argv: [test, -s, "${steps.backup.outputs.path}"] }
  - id: odd-text
    query: { target: appdb, sql: "SELECT CAST(x'61ff62' AS TEXT)" }
)yaml");
  const std::map<std::string, std::string> env = {{"D", "x\xFFy"}};
  const fs::path backups = ex.dir() / "bk-x\xFFy";

  const ProcessResult run = ex.Backout({"run", "hostile.yaml"}, env);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  ASSERT_EQ(FilesIn(backups).size(), 1u);

  // Journaled marked; the next step was given the original bytes (its `test -s` passed).
  const std::vector<json> events = Events(ex, run_id);
  const std::string path = OutputsOf(events, "backup").at("path");
  EXPECT_NE(path.find(std::string("bk-x") + kMark + "FFy/"), std::string::npos) << path;
  EXPECT_EQ(EventsOfType(events, "StepSucceeded", "backup-is-there").size(), 1u);
  // SQLite TEXT that is not UTF-8, marked the same way.
  EXPECT_EQ(OutputsOf(events, "odd-text").at("value"), std::string("a") + kMark + "FFb");

  const ProcessResult resume = ex.Backout({"resume", run_id}, env);
  EXPECT_NE(resume.signal, SIGABRT) << Show(resume);
  EXPECT_EQ(FilesIn(backups).size(), 1u) << "resume repeated the backup";
  EXPECT_EQ(EventsOfType(Events(ex, run_id), "StepStarted", "backup").size(), 1u);
  ReadersWork(ex, run_id, env);
}

TEST(HostileBytes, JournalDirectoryWithAByteThatIsNotUtf8) {
  Example ex("media-rollback", kRows);
  const fs::path journal = ex.dir() / "journal-\xFE\xFF";
  const std::map<std::string, std::string> env = {{"BACKOUT_JOURNAL", journal.string()},
                                                  {"APP_DRAIN_SECONDS", "0.05"}};
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"}, env);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  ASSERT_TRUE(fs::exists(journal / run_id));

  // The command steps' `log` outputs name a file under the journal directory.
  const ProcessResult events = ex.Backout({"events", run_id, "--json"}, env);
  ASSERT_EQ(events.exit_code, 0) << Show(events);
  EXPECT_NE(events.out.find(std::string("journal-") + kMark + "FE" + kMark + "FF"),
            std::string::npos)
      << events.out;
  ReadersWork(ex, run_id, env);
}

TEST(HostileBytes, CommandOutputAndOperatorThatAreNotUtf8RoundTripThroughExport) {
  Example ex("media-rollback", kRows);
  WriteFile(ex.dir() / "output.yaml", R"(version: 1
name: hostile-output
targets:
  ops: { type: command, cwd: . }
steps:
  - id: noisy
    command: { target: ops, shell: "printf 'a\\377b \\357\\277\\275 c\\n'" }
)");
  const ProcessResult run = ex.Backout({"run", "output.yaml", "--operator", "op-\xFF"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);

  const std::vector<json> events = Events(ex, run_id);
  // 0xFF marked; the U+FFFD the command really wrote marked byte by byte, so that the two
  // stay apart.
  EXPECT_EQ(OutputsOf(events, "noisy").at("output_tail"),
            std::string("a") + kMark + "FFb " + kMark + "EF" + kMark + "BF" + kMark + "BD c\n");
  EXPECT_EQ(events.front().at("operator"), std::string("op-") + kMark + "FF");
  ReadersWork(ex, run_id);

  const ProcessResult report = ex.Backout({"report", run_id, "--format", "md"});
  EXPECT_NE(report.out.find(std::string("op-") + kMark + "FF"), std::string::npos)
      << report.out;

  const fs::path file = ex.dir() / "export.jsonl";
  const ProcessResult exported = ex.Backout({"export", run_id, "-o", file.string()});
  ASSERT_EQ(exported.exit_code, 0) << Show(exported);
  const fs::path other = ex.dir() / "other-journal";
  const ProcessResult imported =
      ex.Backout({"import", file.string()}, {{"BACKOUT_JOURNAL", other.string()}});
  ASSERT_EQ(imported.exit_code, 0) << Show(imported);
  const ProcessResult again =
      ex.Backout({"events", run_id, "--json"}, {{"BACKOUT_JOURNAL", other.string()}});
  ASSERT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_EQ(again.out, ex.Backout({"events", run_id, "--json"}).out);
  EXPECT_EQ(ex.Backout({"verify", run_id}, {{"BACKOUT_JOURNAL", other.string()}}).exit_code, 0);
}

}  // namespace
}  // namespace backout::testing
