// `backout report` end to end: the real binary on real runs of examples/media-rollback (an
// approval pause, a crash and resume, a failed run), every format produced from the journal
// alone, the JSON checked against docs/report.schema.json with python3-jsonschema, and the
// figures cross-checked against other witnesses (the backup file on disk, `verify`, `events`).
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fmt/format.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/sha256.h"
#include "engine/plan_check.h"
#include "engine/session.h"
#include "journal/journal.h"
#include "plan/parser.h"
#include "journal/record_codec.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 500;
const std::map<std::string, std::string> kFastApp = {{"APP_DRAIN_SECONDS", "0.05"}};
// `run --approve` of the example: RunStarted, then StepStarted/StepSucceeded of stop-app,
// baseline and backup, ApprovalGranted, drop-media's two, then record-rollback's StepStarted.
constexpr int kAppendsUpToRecordRollbackStarted = 11;

const std::vector<std::string> kMarkdownHeadings = {"## Run summary",
                                                    "## Post-mortem",
                                                    "### Summary",
                                                    "### Impact",
                                                    "### Trigger and root cause",
                                                    "### Detection",
                                                    "### Resolution",
                                                    "### Timeline",
                                                    "### Action items",
                                                    "## Steps",
                                                    "## Approvals and resolves",
                                                    "## Verification",
                                                    "## Backups",
                                                    "## Errors",
                                                    "## Interruptions",
                                                    "## Operator notes",
                                                    "## Event timeline",
                                                    "## Integrity"};

std::vector<std::string> HtmlHeadings() {
  std::vector<std::string> out;
  for (const std::string& md : kMarkdownHeadings) {
    const std::size_t hashes = md.find(' ');
    const std::string level = std::to_string(hashes);
    out.push_back("<h" + level + ">" + md.substr(hashes + 1) + "</h" + level + ">");
  }
  return out;
}

// Like HasSubstr, but a failure shows only the missing part, not a whole report.
::testing::AssertionResult HasPart(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing: " << part;
}

// The three forms of a run's report, each written with -o into the example folder.
struct Reports {
  std::string md, html;
  json report;
  fs::path json_file;
};

Reports ReportAll(const Example& ex, const std::string& run_id) {
  Reports out;
  for (const std::string format : {"md", "html", "json"}) {
    const fs::path file = ex.dir() / ("report." + format);
    const ProcessResult r = ex.Backout({"report", run_id, "--format", format, "-o", file.string()});
    EXPECT_EQ(r.exit_code, 0) << Show(r);
    EXPECT_TRUE(r.out.empty()) << "with -o nothing goes to stdout\n" << Show(r);
    struct stat st {};
    EXPECT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
    const std::string text = ReadFile(file);
    if (format == "md") out.md = text;
    if (format == "html") out.html = text;
    if (format == "json") {
      out.report = json::parse(text);
      out.json_file = file;
    }
  }
  return out;
}

// What every report must show, whatever the run: all sections, valid JSON per the schema,
// the event count and head hash that `events` and `verify` see, and the backup's digest as
// computed from the file on disk.
void ExpectCompleteReports(const Example& ex, const std::string& run_id, const Reports& r) {
  for (const std::string& heading : kMarkdownHeadings) {
    EXPECT_TRUE(HasPart(r.md, "\n" + heading + "\n"));
  }
  for (const std::string& heading : HtmlHeadings()) EXPECT_TRUE(HasPart(r.html, heading));
  EXPECT_TRUE(HasPart(r.md, "_to be filled in_"));
  EXPECT_TRUE(HasPart(r.html, "<em>to be filled in</em>"));

  const ProcessResult schema = CheckReportSchema({r.json_file});
  EXPECT_EQ(schema.exit_code, 0) << "the JSON report does not match docs/report.schema.json\n"
                                 << Show(schema);

  const ProcessResult events = ex.Backout({"events", run_id, "--json"});
  ASSERT_EQ(events.exit_code, 0) << Show(events);
  const auto lines = std::count(events.out.begin(), events.out.end(), '\n');
  EXPECT_EQ(r.report["integrity"]["events"], lines);
  EXPECT_EQ(r.report["timeline"].size(), static_cast<std::size_t>(lines));
  const ProcessResult verify = ex.Backout({"verify", run_id});
  ASSERT_EQ(verify.exit_code, 0) << Show(verify);
  const std::string head = r.report["integrity"]["head_hash"];
  EXPECT_TRUE(HasPart(verify.out, "head hash " + head));
  EXPECT_EQ(r.report["integrity"]["chain_verified"], true);

  ASSERT_EQ(r.report["backups"].size(), 1u);
  const json& backup = r.report["backups"][0];
  Result<FileDigest> on_disk = Sha256File(backup["path"].get<std::string>());
  ASSERT_TRUE(on_disk.ok()) << on_disk.status().message();
  EXPECT_EQ(backup["sha256"], on_disk->sha256_hex);
  EXPECT_EQ(backup["bytes"], on_disk->bytes);
  EXPECT_TRUE(HasPart(r.md, on_disk->sha256_hex));
  EXPECT_TRUE(HasPart(r.html, on_disk->sha256_hex));
}

const json& StepOf(const json& report, const std::string& id) {
  for (const json& step : report.at("steps")) {
    if (step.at("id") == id) return step;
  }
  throw std::runtime_error("no step " + id);
}

TEST(CliReport, ApprovalPauseApproveAndResume) {
  // Given a run that paused at the approval, a note, carol's approval and a resume
  Example ex("media-rollback", kRows);
  const ProcessResult run = ex.Backout({"run", "plan.yaml"}, kFastApp);
  ASSERT_EQ(run.exit_code, 3) << Show(run);
  const std::string run_id = RunIdFrom(run);
  ASSERT_EQ(ex.Backout({"note", run_id, "waiting for the DBA", "--operator", "carol"}).exit_code,
            0);
  const ProcessResult approve = ex.Backout(
      {"approve", run_id, "confirm", "--phrase", "ROLLBACK_MEDIA", "--operator", "carol"});
  ASSERT_EQ(approve.exit_code, 0) << Show(approve);
  const ProcessResult resume = ex.Backout({"resume", run_id}, kFastApp);
  ASSERT_EQ(resume.exit_code, 0) << Show(resume);

  // When every format is produced
  const Reports r = ReportAll(ex, run_id);

  // Then they are complete, and show the approval, the pause and the downtime window
  ExpectCompleteReports(ex, run_id, r);
  const json& summary = r.report["summary"];
  EXPECT_EQ(summary["outcome"], "succeeded");
  EXPECT_EQ(summary["incident"], "INC-2041");
  EXPECT_EQ(summary["operators"], json({"tester", "carol"}));
  EXPECT_EQ(summary["downtime"]["state"], "closed");
  EXPECT_EQ(summary["downtime"]["start_step"], "stop-app");
  EXPECT_EQ(summary["downtime"]["end_step"], "start-app");
  EXPECT_EQ(summary["downtime"]["start"], StepOf(r.report, "stop-app")["started"]);
  EXPECT_EQ(summary["downtime"]["end"], StepOf(r.report, "start-app")["finished"]);

  ASSERT_EQ(r.report["decisions"].size(), 1u);
  const json& approval = r.report["decisions"][0];
  EXPECT_EQ(approval["kind"], "approval");
  EXPECT_EQ(approval["by"], "carol");
  EXPECT_EQ(approval["answer"], "ROLLBACK_MEDIA");
  EXPECT_EQ(approval["via"], "approve");
  EXPECT_FALSE(approval["waited_ms"].is_null());

  ASSERT_EQ(r.report["interruptions"].size(), 1u);
  EXPECT_EQ(r.report["interruptions"][0]["kind"], "pause");
  EXPECT_EQ(r.report["interruptions"][0]["reason"], "approval");
  EXPECT_EQ(r.report["interruptions"][0]["resumed_by"], "tester");
  EXPECT_EQ(r.report["notes"][0]["text"], "waiting for the DBA");

  EXPECT_EQ(r.report["verification"].size(), 10u);  // table_present counts each table
  for (const json& check : r.report["verification"]) EXPECT_EQ(check["pass"], true) << check;

  EXPECT_TRUE(HasPart(r.md, "| `confirm` | approved with phrase ROLLBACK_MEDIA | carol |"));
  EXPECT_TRUE(HasPart(r.html, ">carol</td>"));
  EXPECT_TRUE(HasPart(r.html, "<svg xmlns="));

  // Default format is Markdown on stdout, the same bytes as the file; and it is stable.
  const ProcessResult stdout_md = ex.Backout({"report", run_id});
  ASSERT_EQ(stdout_md.exit_code, 0) << Show(stdout_md);
  EXPECT_TRUE(stdout_md.out == r.md) << "stdout and -o differ";
  EXPECT_TRUE(ex.Backout({"report", run_id, "--format", "html"}).out == r.html)
      << "a second rendering differs";
}

TEST(CliReport, CrashedAndResumedRun) {
  // Given a run killed right after record-rollback's StepStarted, a triage, and a resume
  Example ex("media-rollback", kRows);
  const ProcessResult crashed = ex.Backout(
      {"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"},
      {{"APP_DRAIN_SECONDS", "0.05"},
       {"BACKOUT_CRASH_AFTER_APPENDS", std::to_string(kAppendsUpToRecordRollbackStarted)}});
  ASSERT_EQ(crashed.signal, SIGKILL) << Show(crashed);
  const std::string run_id = RunIdFrom(crashed);
  const ProcessResult triage =
      ex.Backout({"triage", "plan.yaml", "--issue", "data_corruption", "--severity", "critical",
                  "--run", run_id, "--operator", "erin"});
  ASSERT_EQ(triage.exit_code, 0) << Show(triage);
  const ProcessResult resume = ex.Backout({"resume", run_id, "--operator", "bob"}, kFastApp);
  ASSERT_EQ(resume.exit_code, 0) << Show(resume);

  const Reports r = ReportAll(ex, run_id);

  ExpectCompleteReports(ex, run_id, r);
  ASSERT_EQ(r.report["interruptions"].size(), 1u);
  const json& crash = r.report["interruptions"][0];
  EXPECT_EQ(crash["kind"], "crash");
  EXPECT_EQ(crash["resumed_by"], "bob");
  EXPECT_EQ(crash["in_doubt_steps"], json({"record-rollback"}));
  // The gap runs from the runner's last event, record-rollback's StepStarted, to the resume:
  // the triage journaled in between by another command does not end it.
  EXPECT_EQ(crash["from"], StepOf(r.report, "record-rollback")["started"]);
  const json& in_doubt = StepOf(r.report, "record-rollback")["in_doubt"];
  ASSERT_EQ(in_doubt.size(), 1u);
  EXPECT_EQ(in_doubt[0]["settled"], "check");
  EXPECT_EQ(in_doubt[0]["effect_in_place"], false) << "killed before the INSERT ran";
  EXPECT_EQ(StepOf(r.report, "record-rollback")["attempts"], 2);
  EXPECT_EQ(r.report["summary"]["outcome"], "succeeded");
  ASSERT_EQ(r.report["triage"].size(), 1u);
  EXPECT_EQ(r.report["triage"][0]["by"], "erin");
  EXPECT_EQ(r.report["triage"][0]["action"], "rollback_now");

  EXPECT_TRUE(HasPart(r.md, "| **crash** |"));
  EXPECT_TRUE(HasPart(r.md, "found in doubt on resume: record-rollback"));
  EXPECT_TRUE(HasPart(r.md, "- Triage by erin at "));
  EXPECT_TRUE(HasPart(r.html, "<span class=\"bad\">crash</span>"));
  EXPECT_TRUE(HasPart(r.html, "after the runner stopped without pausing (crash)"));
}

TEST(CliReport, FailedRunListsItsErrorsAndSkippedSteps) {
  Example ex("media-rollback", kRows);
  fs::copy_file(SourceDir() / "tests" / "data" / "plans" / "abort-on-failure.yaml",
                ex.dir() / "abort-on-failure.yaml");
  const ProcessResult run = ex.Backout({"run", "abort-on-failure.yaml"});
  ASSERT_EQ(run.exit_code, 1) << Show(run);
  const std::string run_id = RunIdFrom(run);
  const fs::path file = ex.dir() / "failed.json";
  const ProcessResult report =
      ex.Backout({"report", run_id, "--format", "json", "-o", file.string()});
  ASSERT_EQ(report.exit_code, 0) << Show(report);
  const ProcessResult schema = CheckReportSchema({file});
  EXPECT_EQ(schema.exit_code, 0) << Show(schema);
  const json j = json::parse(ReadFile(file));
  EXPECT_EQ(j["summary"]["outcome"], "failed");
  ASSERT_FALSE(j["errors"].empty());
  EXPECT_EQ(j["errors"][0]["step"], "broken");
  EXPECT_EQ(StepOf(j, "after")["status"], "skipped");
  EXPECT_EQ(j["summary"]["downtime"]["state"], "not_marked");
}

TEST(CliReport, SchemaCheckRejectsAReportThatDoesNotMatch) {
  // The schema check must be able to fail: a field the schema does not know, and a missing one.
  TempDir dir;
  Example ex("media-rollback", kRows);
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"}, kFastApp);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const ProcessResult report = ex.Backout({"report", RunIdFrom(run), "--format", "json"});
  ASSERT_EQ(report.exit_code, 0) << Show(report);
  const json good = json::parse(report.out);

  json extra = good;
  extra["steps"][0]["surprise"] = 1;
  json missing = good;
  missing["summary"].erase("downtime");
  WriteFile(dir.path() / "good.json", good.dump());
  WriteFile(dir.path() / "extra.json", extra.dump());
  WriteFile(dir.path() / "missing.json", missing.dump());
  EXPECT_EQ(CheckReportSchema({dir.path() / "good.json"}).exit_code, 0);
  const ProcessResult bad =
      CheckReportSchema({dir.path() / "extra.json", dir.path() / "missing.json"});
  EXPECT_EQ(bad.exit_code, 1) << Show(bad);
  EXPECT_TRUE(HasPart(bad.err, "extra.json: /steps/0: Additional properties are not allowed"));
  EXPECT_TRUE(HasPart(bad.err, "missing.json: /summary: 'downtime' is a required property"));
}

TEST(CliReport, DamagedJournalExits4NamingTheEvent) {
  Example ex("media-rollback", kRows);
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"}, kFastApp);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  {
    // Change one byte of event #3's payload in place, leaving its hash as it was.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::Options(), (ex.journal() / run_id / "db").string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const std::string key = journal::EncodeKey(3);
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &value).ok());
    const std::size_t at = value.find("stop-app");
    ASSERT_NE(at, std::string::npos);
    value[at] = 'S';
    rocksdb::WriteOptions sync;
    sync.sync = true;
    ASSERT_TRUE(db->Put(sync, key, value).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  const fs::path file = ex.dir() / "damaged.md";
  const ProcessResult report = ex.Backout({"report", run_id, "-o", file.string()});
  EXPECT_EQ(report.exit_code, 4) << Show(report);
  EXPECT_TRUE(HasPart(report.err, "report: "));
  EXPECT_TRUE(HasPart(report.err, "event #3"));
  EXPECT_FALSE(fs::exists(file)) << "no report from a damaged journal";
}

TEST(CliReport, UsageErrorsExit2) {
  Example ex("media-rollback", kRows);
  EXPECT_EQ(ex.Backout({"report", "20260101T000000Z-0000"}).exit_code, 2);  // no such run
  const ProcessResult run =
      ex.Backout({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"}, kFastApp);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_EQ(ex.Backout({"report", run_id, "--format", "pdf"}).exit_code, 2);
  const ProcessResult unwritable =
      ex.Backout({"report", run_id, "-o", (ex.dir() / "no-such-dir" / "r.md").string()});
  EXPECT_EQ(unwritable.exit_code, 2) << Show(unwritable);
  EXPECT_TRUE(HasPart(unwritable.err, "cannot write the report"));
}

// ---------------------------------------------------------------------------------------
// Golden reports: the fixture exports under tests/fixtures/ (tests/fixtures/make-fixtures.sh)
// are imported into a fresh journal and reported in every format; each output must equal
// tests/fixtures/golden/NAME.report.{md,json,html} byte for byte. BACKOUT_UPDATE_GOLDEN=1
// rewrites the golden files instead (docs/report.md).
// ---------------------------------------------------------------------------------------

fs::path FixturesDir() { return SourceDir() / "tests" / "fixtures"; }

std::vector<std::string> FixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(FixturesDir())) {
    if (entry.path().extension() == ".jsonl") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool UpdatingGoldens() {
  const char* update = std::getenv("BACKOUT_UPDATE_GOLDEN");
  return update != nullptr && std::string(update) == "1";
}

// Where two texts first differ, as "line N", with both lines.
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la));
    const bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "they differ only in a final newline";
    if (la != lb || more_a != more_b) {
      return "first difference at line " + std::to_string(line) +
             "\n  golden: " + (more_a ? la : "<end>") + "\n  now:    " + (more_b ? lb : "<end>");
    }
  }
}

class GoldenReport : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenReport, EveryFormatMatchesItsGoldenFile) {
  const std::string name = GetParam();
  const fs::path fixture = FixturesDir() / (name + ".jsonl");
  TempDir journal;
  const ProcessResult imported =
      RunProcess({.argv = {BackoutBinary().string(), "import", fixture.string(), "--journal",
                           journal.path().string()}});
  ASSERT_EQ(imported.exit_code, 0) << Show(imported);
  std::string first_line = ReadFile(fixture);
  first_line.resize(first_line.find('\n'));
  const std::string run_id = json::parse(first_line).at("run_id");

  for (const std::string format : {"md", "json", "html"}) {
    SCOPED_TRACE(format);
    const ProcessResult report =
        RunProcess({.argv = {BackoutBinary().string(), "report", run_id, "--format", format,
                             "--journal", journal.path().string()}});
    ASSERT_EQ(report.exit_code, 0) << Show(report);
    if (format == "json") {
      const fs::path file = journal.path() / "report.json";
      WriteFile(file, report.out);
      const ProcessResult schema = CheckReportSchema({file});
      EXPECT_EQ(schema.exit_code, 0) << Show(schema);
    }
    const fs::path golden = FixturesDir() / "golden" / (name + ".report." + format);
    if (UpdatingGoldens()) {
      fs::create_directories(golden.parent_path());
      WriteFile(golden, report.out);
      continue;
    }
    ASSERT_TRUE(fs::exists(golden))
        << golden << " is missing: create it with BACKOUT_UPDATE_GOLDEN=1 (docs/report.md)";
    const std::string want = ReadFile(golden);
    EXPECT_TRUE(want == report.out)
        << golden << " differs from today's report; " << FirstDifference(want, report.out)
        << "\nIf the change is intended, rerun with BACKOUT_UPDATE_GOLDEN=1 and review the diff.";
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenReport, ::testing::ValuesIn(FixtureNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// The golden tests above are only as good as the fixtures they find.
TEST(GoldenFixtures, ExportsExist) { EXPECT_GE(FixtureNames().size(), 1u); }

// A run long enough that `report` spools its lists to a temporary file (each list keeps 1 MiB
// in memory): the bytes are the same whether the spool works or TMPDIR cannot take it, when
// the lists are made again by passes over the run, with a note on stderr. Nothing is left in
// TMPDIR.
TEST(CliReport, ALongRunGivesTheSameReportFromItsSpoolAsFromPasses) {
  TempDir dir;
  const fs::path plan_file = dir.path() / "plan.yaml";
  WriteFile(plan_file, R"(version: 1
name: long-run
targets:
  here: { type: command, cwd: . }
steps:
  - id: next-action
    command: { target: here, argv: [/bin/true] }
)");
  const fs::path journal_dir = dir.path() / "journal";
  constexpr int kNotes = 12'000;  // about 2 MiB of timeline and 1 MiB of notes, spooled
  {
    plan::ParseOutcome parsed = plan::ParsePlan(ReadFile(plan_file), plan_file.string(),
                                                engine::DefaultPlanVocabulary());
    ASSERT_TRUE(parsed.ok());
    const journal::Journal journal(journal_dir);
    Result<std::unique_ptr<engine::RunSession>> session = engine::RunSession::Create(
        journal, "long-run", *parsed.plan, plan_file.string(),
        engine::SessionOptions{.env = Env::Default(),
                               .who = {.operator_name = "alice", .host = "db-admin-01"}});
    ASSERT_TRUE(session.ok()) << session.status().message();
    for (int i = 0; i < kNotes;) {
      std::vector<sm::EventBody> notes;
      for (int n = 0; n < 1000; ++n, ++i) {
        // Text that each form must escape: a table's bar, markup, a quote, a newline.
        notes.push_back(sm::NoteAdded{.text = fmt::format(
                                          "note {} | <b>lag</b> \"back\"\nunder 5 s", i)});
      }
      ASSERT_TRUE((*session)->Append(std::move(notes)).ok());
    }
    ASSERT_TRUE(
        (*session)->Append({sm::RunPaused{.reason = sm::RunPaused::Reason::kSignal}}).ok());
  }
  const fs::path tmp = dir.path() / "tmp";
  fs::create_directories(tmp);
  for (const std::string format : {"json", "md", "html"}) {
    SCOPED_TRACE(format);
    const auto report = [&](const fs::path& tmpdir) {
      return RunProcess({.argv = {BackoutBinary().string(), "report", "long-run", "--format",
                                  format, "--journal", journal_dir.string()},
                         .env = {{"TMPDIR", tmpdir.string()}}});
    };
    const ProcessResult spooled = report(tmp);
    ASSERT_EQ(spooled.exit_code, 0) << Show(spooled);
    EXPECT_EQ(spooled.err, "");
    EXPECT_TRUE(fs::is_empty(tmp)) << "the spool leaves no file behind";
    const ProcessResult passes = report(dir.path() / "no-such-folder");
    ASSERT_EQ(passes.exit_code, 0) << Show(passes);
    EXPECT_TRUE(HasPart(passes.err, "reading the run again for each of its lists instead"));
    EXPECT_TRUE(HasPart(passes.err, "no-such-folder"));
    EXPECT_TRUE(spooled.out == passes.out) << FirstDifference(passes.out, spooled.out);
    if (format == "json") {
      const json j = json::parse(spooled.out);
      EXPECT_EQ(j["timeline"].size(), static_cast<std::size_t>(kNotes + 2));
      ASSERT_EQ(j["notes"].size(), static_cast<std::size_t>(kNotes));
      EXPECT_EQ(j["notes"][kNotes - 1]["text"],
                fmt::format("note {} | <b>lag</b> \"back\"\nunder 5 s", kNotes - 1));
    }
  }
  // A stdout that fills up part way (the report is about 3 MB, written in chunks of 1 MiB by
  // a thread of its own): exit 2, and the report is called incomplete.
  const ProcessResult full = RunProcess(
      {.argv = {"/bin/sh", "-c",
                fmt::format("exec '{}' report long-run --format json --journal '{}' > /dev/full",
                            BackoutBinary().string(), journal_dir.string())}});
  EXPECT_EQ(full.exit_code, 2) << Show(full);
  EXPECT_TRUE(HasPart(full.err, "stdout: write: No space left on device")) << Show(full);
  EXPECT_TRUE(HasPart(full.err, "the report is INCOMPLETE and UNVERIFIED")) << Show(full);
}

}  // namespace
}  // namespace backout::testing
