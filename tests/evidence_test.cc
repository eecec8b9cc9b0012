// The report as evidence, end to end on the real binary (issue 15, Deliver 4): a run of the
// media-rollback example (command steps write logs), `export --with-logs` carrying each step
// log with the sha256 its outcome journaled, `import` refusing a tampered, missing or
// unjournaled log (exit 4, naming the step) and restoring genuine ones byte for byte, the
// report listing each log's sha256 and, with --embed-plan, the journaled plan text in every
// format; the JSON checked against docs/report.schema.json.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <functional>
#include <map>

#include "adapters/common/run_log.h"
#include "base/sha256.h"
#include "testing/run_log.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;


class Evidence : public ::testing::Test {
 protected:
  void SetUp() override {
    ex_ = std::make_unique<Example>("media-rollback", 200);
    const ProcessResult run = Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"});
    ASSERT_EQ(run.exit_code, 0) << Show(run);
    run_id_ = RunIdFrom(run);
  }

  ProcessResult Backout(const std::vector<std::string>& args) const {
    return ex_->Backout(args, {{"APP_DRAIN_SECONDS", "0.05"}, {"BACKOUT_JOURNAL_KEY", ""}});
  }

  fs::path LogDir(const fs::path& journal) const { return journal / run_id_ / "logs"; }

  // An attempt's log as the run left it (a section of run.log, or a file of the old layout).
  std::string StepLog(const fs::path& journal, const std::string& file) const {
    const std::optional<std::string> log = ReadAttemptLog(LogDir(journal), file);
    EXPECT_TRUE(log) << "no log " << file;
    return log.value_or("");
  }

  // Appends the frame of an attempt whose runner died before its outcome was journaled.
  void AppendFrame(const std::string& file, std::string_view payload) const {
    const fs::path run_log = LogDir(ex_->journal()) / "run.log";
    WriteFile(run_log, ReadFile(run_log) + adapters::EncodeRunLogFrame(file, payload));
  }

  // The run's logs as the version before the run log left them: one file per attempt.
  void ConvertToPerAttemptFiles() const {
    const fs::path run_log = LogDir(ex_->journal()) / "run.log";
    Result<adapters::RunLogContents> contents = adapters::ReadRunLog(run_log);
    ASSERT_TRUE(contents.ok()) << contents.status().ToString();
    for (const adapters::RunLogSection& section : contents->sections) {
      WriteFile(LogDir(ex_->journal()) / section.name, section.content);
    }
    fs::remove(run_log);
  }

  // The offset in run.log of the first payload byte of `file`'s section.
  std::uint64_t PayloadOffset(const std::string& file) const {
    Result<adapters::RunLogReader> reader =
        adapters::RunLogReader::Open(LogDir(ex_->journal()) / "run.log");
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    while (reader.ok()) {
      Result<std::optional<adapters::RunLogFrame>> frame = reader->Next();
      if (!frame.ok() || !frame->has_value()) break;
      if ((*frame)->name == file && (*frame)->length > 0) return (*frame)->payload_offset;
    }
    ADD_FAILURE() << "no payload of " << file << " in run.log";
    return 0;
  }

  // `backout export RUN --with-logs`: its record lines and its log lines.
  void ExportWithLogs(std::vector<std::string>* records, std::vector<nlohmann::json>* logs) {
    const ProcessResult exported = Backout({"export", run_id_, "--with-logs"});
    ASSERT_EQ(exported.exit_code, 0) << Show(exported);
    for (const std::string& line : SplitLines(exported.out)) {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.contains("log")) {
        logs->push_back(j);
      } else {
        records->push_back(line);
      }
    }
  }

  ProcessResult Import(const std::vector<std::string>& lines, const std::string& journal_name) {
    const fs::path file = ex_->dir() / (journal_name + ".jsonl");
    WriteFile(file, JoinLines(lines));
    return Backout({"import", file.string(), "--journal", (ex_->dir() / journal_name).string()});
  }

  void CheckExportAndImport();

  std::unique_ptr<Example> ex_;
  std::string run_id_;
};

// A utf-8 log line rewritten to be consistent in itself (its bytes and sha256 those of its
// content): only the digest its outcome journaled can tell it was changed.
std::string Line(nlohmann::json log) {
  nlohmann::json& l = log["log"];
  const std::string content = l["content"];
  l["bytes"] = content.size();
  l["sha256"] = Sha256Hex(content);
  return log.dump();
}

// Everything an export and import of the run's logs must do, whichever layout they are in.
void Evidence::CheckExportAndImport() {
  std::vector<std::string> records;
  std::vector<nlohmann::json> logs;
  ExportWithLogs(&records, &logs);

  // Every command step's log, with the sha256 and size its outcome journaled.
  std::map<std::string, nlohmann::json> journaled;  // file -> {bytes, sha256}
  for (const nlohmann::json& e : Events(*ex_, run_id_)) {
    if (e["type"] != "StepSucceeded" && e["type"] != "StepFailed") continue;
    if (e["payload"].contains("log")) journaled[e["payload"]["log"]["file"]] = e["payload"]["log"];
  }
  ASSERT_TRUE(journaled.contains("stop-app.1.log"));
  ASSERT_TRUE(journaled.contains("start-app.1.log"));
  ASSERT_EQ(logs.size(), journaled.size() + 1);  // + the attempt in doubt's (unverified)
  for (const nlohmann::json& line : logs) {
    ASSERT_EQ(line.size(), 1u) << line;
    const nlohmann::json& log = line["log"];
    const std::string file = log["file"];
    const std::string on_disk = StepLog(ex_->journal(), file);
    EXPECT_EQ(log["encoding"], file == "drop-media.7.log" ? "base64" : "utf-8") << file;
    if (log["encoding"] == "utf-8") {
      EXPECT_EQ(log["content"], on_disk) << file;
    }
    EXPECT_EQ(log["sha256"], Sha256Hex(on_disk)) << file;
    EXPECT_EQ(log["journaled"], journaled.contains(file)) << file;
    if (journaled.contains(file)) {
      EXPECT_EQ(log["sha256"], journaled[file]["sha256"]) << file;
      EXPECT_EQ(log["bytes"], journaled[file]["bytes"]) << file;
    }
  }
  const auto stop_app = std::find_if(logs.begin(), logs.end(), [](const nlohmann::json& l) {
    return l["log"]["file"] == "stop-app.1.log";
  });
  ASSERT_NE(stop_app, logs.end());

  // A log changed in the export (consistent in itself) is refused, naming the step.
  {
    std::vector<std::string> lines = records;
    for (nlohmann::json log : logs) {
      if (log != *stop_app) {
        lines.push_back(log.dump());
        continue;
      }
      log["log"]["content"] = log["log"]["content"].get<std::string>() + "x";
      lines.push_back(Line(log));
    }
    const ProcessResult imported = Import(lines, "tampered");
    EXPECT_EQ(imported.exit_code, 4) << Show(imported);
    EXPECT_TRUE(Contains(imported.err, "step stop-app attempt 1: log stop-app.1.log in the export "
                                       "does not match the digest journaled"))
        << Show(imported);
    EXPECT_FALSE(fs::exists(ex_->dir() / "tampered" / run_id_));
  }
  // A log left out of an export that carries logs is refused too.
  {
    std::vector<std::string> lines = records;
    for (const nlohmann::json& log : logs) {
      if (log != *stop_app) lines.push_back(log.dump());
    }
    const ProcessResult imported = Import(lines, "missing");
    EXPECT_EQ(imported.exit_code, 4) << Show(imported);
    EXPECT_TRUE(Contains(imported.err, "step stop-app attempt 1: log stop-app.1.log is missing "
                                       "from the export"))
        << Show(imported);
  }
  // A line whose content does not match its own sha256, and one naming a path, are refused.
  for (const auto& [what, edit] :
       std::vector<std::pair<std::string, std::function<void(nlohmann::json&)>>>{
           {"does not match its bytes and sha256",
            [](nlohmann::json& l) { l["log"]["content"] = "forged"; }},
           {"is not a plain file name",
            [](nlohmann::json& l) { l["log"]["file"] = "../../escape.log"; }}}) {
    std::vector<std::string> lines = records;
    for (nlohmann::json log : logs) {
      if (log == *stop_app) edit(log);
      lines.push_back(log.dump());
    }
    const ProcessResult imported = Import(lines, "bad-line");
    EXPECT_EQ(imported.exit_code, 4) << Show(imported);
    EXPECT_TRUE(Contains(imported.err, what)) << Show(imported);
    EXPECT_FALSE(fs::exists(ex_->dir() / "escape.log"));
  }

  // The genuine export: imported, every log restored byte for byte, privately.
  std::vector<std::string> lines = records;
  for (const nlohmann::json& log : logs) lines.push_back(log.dump());
  const ProcessResult imported = Import(lines, "other");
  ASSERT_EQ(imported.exit_code, 0) << Show(imported);
  EXPECT_TRUE(Contains(imported.out, fmt::format("restored {} step logs, {} checked against their "
                                                 "journaled digest\n",
                                                 logs.size(), journaled.size())))
      << Show(imported);
  EXPECT_TRUE(Contains(imported.err, "restored unverified")) << Show(imported);
  const fs::path other = ex_->dir() / "other";
  for (const nlohmann::json& log : logs) {
    const std::string file = log["log"]["file"];
    EXPECT_EQ(StepLog(other, file), StepLog(ex_->journal(), file)) << file;
  }
  // Restored as the frames of one run log, privately.
  EXPECT_EQ(std::distance(fs::directory_iterator(LogDir(other)), fs::directory_iterator()), 1);
  struct stat st {};
  ASSERT_EQ(::stat((LogDir(other) / "run.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // The imported run's report shows each journaled log's sha256, in every format.
  const fs::path json_file = ex_->dir() / "report.json";
  const ProcessResult report = Backout(
      {"report", run_id_, "--format", "json", "-o", json_file.string(), "--journal", other.string()});
  ASSERT_EQ(report.exit_code, 0) << Show(report);
  const nlohmann::json r = nlohmann::json::parse(ReadFile(json_file));
  ASSERT_EQ(r["logs"].size(), journaled.size());
  for (const nlohmann::json& l : r["logs"]) {
    EXPECT_EQ(l["sha256"], journaled[l["file"]]["sha256"]) << l;
  }
  for (const std::string format : {"md", "html"}) {
    const ProcessResult text = Backout({"report", run_id_, "--format", format, "--journal", other.string()});
    ASSERT_EQ(text.exit_code, 0) << Show(text);
    for (const auto& [file, digest] : journaled) {
      EXPECT_TRUE(Contains(text.out, digest["sha256"].get<std::string>())) << format << " " << file;
    }
  }
  EXPECT_EQ(r["integrity"]["chain_mode"], "sha256");
  EXPECT_EQ(r["integrity"]["decisions_verified"], true);
  EXPECT_EQ(r["integrity"]["signature"]["state"], "unsigned");
  EXPECT_EQ(r["integrity"]["head_seq"], records.size());
  EXPECT_FALSE(r["integrity"]["hosts"].empty());
  const ProcessResult schema = CheckReportSchema({json_file});
  EXPECT_EQ(schema.exit_code, 0) << Show(schema);
}

TEST_F(Evidence, StepLogsTravelWithTheirJournaledSha256AndTamperingIsRefused) {
  // The run's logs are the sections of one file.
  EXPECT_EQ(std::distance(fs::directory_iterator(LogDir(ex_->journal())),
                          fs::directory_iterator()),
            1);
  // The log an attempt left when its runner died before the outcome: no digest journaled.
  AppendFrame("drop-media.7.log", "half\xff written");
  CheckExportAndImport();
}

TEST_F(Evidence, RunsOfTheEarlierLayoutStillExportImportAndVerify) {
  ConvertToPerAttemptFiles();
  WriteFile(LogDir(ex_->journal()) / "drop-media.7.log", "half\xff written");
  CheckExportAndImport();
  EXPECT_EQ(Backout({"verify", run_id_}).exit_code, 0);
}

TEST_F(Evidence, ExportRefusesALogChangedOnTheRunnersDisk) {
  // A payload byte changed inside run.log: the frames still read, the digest does not match.
  const fs::path run_log = LogDir(ex_->journal()) / "run.log";
  std::string bytes = ReadFile(run_log);
  const std::string original = bytes;
  bytes[PayloadOffset("stop-app.1.log")] ^= 0x20;
  WriteFile(run_log, bytes);
  const ProcessResult exported = Backout({"export", run_id_, "--with-logs"});
  EXPECT_EQ(exported.exit_code, 4) << Show(exported);
  EXPECT_TRUE(Contains(exported.err, "step stop-app attempt 1: log stop-app.1.log was changed "
                                     "after it was journaled"))
      << Show(exported);
  // Without --with-logs the export is what it always was.
  EXPECT_EQ(Backout({"export", run_id_}).exit_code, 0);

  // A frame's length one more than its payload (the first frame: others follow it): the run
  // log is damaged there, and the export says where.
  const std::string prefix = "=== backout log v1 ";
  ASSERT_TRUE(original.starts_with(prefix));
  const std::size_t end = original.find(" ===\n");
  const std::size_t count = original.rfind(' ', end - 1) + 1;
  const std::uint64_t length = std::stoull(original.substr(count, end - count));
  bytes = original.substr(0, count) + std::to_string(length + 1) + original.substr(end);
  WriteFile(run_log, bytes);
  const ProcessResult damaged = Backout({"export", run_id_, "--with-logs"});
  EXPECT_EQ(damaged.exit_code, 4) << Show(damaged);
  EXPECT_TRUE(Contains(damaged.err, "frame at offset 0: expected a newline after"))
      << Show(damaged);
}

TEST_F(Evidence, ExportRefusesALogChangedOnTheRunnersDiskInTheEarlierLayout) {
  ConvertToPerAttemptFiles();
  const fs::path log = LogDir(ex_->journal()) / "stop-app.1.log";
  WriteFile(log, ReadFile(log) + "edited afterwards\n");
  const ProcessResult exported = Backout({"export", run_id_, "--with-logs"});
  EXPECT_EQ(exported.exit_code, 4) << Show(exported);
  EXPECT_TRUE(Contains(exported.err, "step stop-app attempt 1: log stop-app.1.log was changed "
                                     "after it was journaled"))
      << Show(exported);
}

TEST_F(Evidence, ReportEmbedsTheJournaledPlanInEveryFormat) {
  const std::string plan = ReadFile(ex_->plan());
  const ProcessResult md = Backout({"report", run_id_, "--embed-plan"});
  ASSERT_EQ(md.exit_code, 0) << Show(md);
  EXPECT_TRUE(Contains(md.out, "## Plan as journaled\n\n```yaml\n" + plan + "```\n")) << md.out;
  const ProcessResult html = Backout({"report", run_id_, "--format", "html", "--embed-plan"});
  ASSERT_EQ(html.exit_code, 0) << Show(html);
  EXPECT_TRUE(Contains(html.out, "<pre>#"));
  EXPECT_TRUE(Contains(html.out, "name: media-unification-rollback\ndescription: &gt;\n"));
  const fs::path json_file = ex_->dir() / "embedded.json";
  const ProcessResult json = Backout(
      {"report", run_id_, "--format", "json", "--embed-plan", "-o", json_file.string()});
  ASSERT_EQ(json.exit_code, 0) << Show(json);
  EXPECT_EQ(nlohmann::json::parse(ReadFile(json_file))["plan_text"], plan);
  // Without the flag, no plan text.
  EXPECT_FALSE(Contains(Backout({"report", run_id_}).out, "Plan as journaled"));

  // Every signature state the report can carry fits the schema.
  nlohmann::json report = nlohmann::json::parse(ReadFile(json_file));
  std::vector<fs::path> files = {json_file};
  for (const nlohmann::json& signature :
       {nlohmann::json{{"state", "verified"}, {"key_fingerprint", "SHA256:ab"}, {"covers_seq", 3}},
        nlohmann::json{{"state", "unchecked"}, {"key_fingerprint", "SHA256:ab"}, {"covers_seq", 3}},
        nlohmann::json{{"state", "failed"}, {"key_fingerprint", ""}, {"covers_seq", nullptr}}}) {
    report["integrity"]["signature"] = signature;
    report["integrity"]["decisions_verified"] = nullptr;
    files.push_back(ex_->dir() / (signature["state"].get<std::string>() + ".json"));
    WriteFile(files.back(), report.dump(2));
  }
  const ProcessResult schema = CheckReportSchema(files);
  EXPECT_EQ(schema.exit_code, 0) << Show(schema);
}

}  // namespace
}  // namespace backout::testing
