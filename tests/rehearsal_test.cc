// `backout run --rehearse` end to end on the seed-004 example (SQLite): the rehearsal works
// on a copy, leaves the real database byte-identical, is journaled and reported as a
// rehearsal, survives a SIGKILL (the resumed run finds the same copy), and drops its copy at
// the end. A plan with a target that cannot be copied is refused before anything runs.
// Side effects beyond the databases: http targets skipped and redirected (two scripted HTTP
// servers, the real one must record nothing), notifications marked and kept off the real
// log and webhook, backups in the run's scratch directory, `status` saying rehearsal; and
// every example that needs no server of its own rehearses as shipped.
#include <gtest/gtest.h>

#include <algorithm>
#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/example.h"
#include "tests/support/http_server.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kRows = 300;
const std::string kApprove = "--approve=confirm=ROLLBACK_MEDIA";
const std::map<std::string, std::string> kFastApp = {{"APP_DRAIN_SECONDS", "0.05"}};

fs::path AppDb(const Example& ex) { return ex.dir() / "data" / "app.db"; }

// The example's plan with its command target (the stand-in service manager) set to
// `rehearsal` instead of the shipped `skip` ("" leaves the setting out: the default).
void SetAppRehearsal(const Example& ex, const std::string& rehearsal) {
  std::string plan = ReadFile(ex.plan());
  const std::string from = "app:   { type: command, cwd: ., rehearsal: skip }";
  const std::size_t at = plan.find(from);
  ASSERT_NE(at, std::string::npos) << "the example's app target changed; update this test";
  plan.replace(at, from.size(),
               "app:   { type: command, cwd: ." +
                   (rehearsal.empty() ? std::string() : ", rehearsal: " + rehearsal) + " }");
  WriteFile(ex.plan(), plan);
}

// The example's plan with its command target declared safe to run for real during a
// rehearsal.
void MarkAppLive(const Example& ex) { SetAppRehearsal(ex, "live"); }

fs::path ScratchDir(const Example& ex, const std::string& run_id) {
  return ex.journal() / run_id / "scratch";
}

// The copies in the run's scratch directory; a copy's runner lock file beside it
// (<copy>.backout-lock, docs/adapters/sqlite.md) is not a copy, nor is the folder of the
// files the rehearsal wrote instead of the plan's destinations (scratch/files: backups).
std::size_t ScratchFiles(const Example& ex, const std::string& run_id) {
  const fs::path dir = ScratchDir(ex, run_id);
  if (!fs::exists(dir)) return 0;
  return static_cast<std::size_t>(
      std::count_if(fs::directory_iterator(dir), fs::directory_iterator(), [](const auto& entry) {
        return !entry.path().string().ends_with(".backout-lock") &&
               entry.path().filename() != "files";
      }));
}

// Every file under `dir` (relative path -> content): a folder's complete state.
std::map<std::string, std::string> FolderContents(const fs::path& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      out[fs::relative(entry.path(), dir).string()] = ReadFile(entry.path());
    }
  }
  return out;
}

TEST(Rehearsal, RefusedBeforeAnythingRunsWhenATargetCannotBeCopied) {
  Example ex("media-rollback", kRows);
  SetAppRehearsal(ex, "");  // the default: a command target cannot be copied
  const std::string before = DumpDatabase(AppDb(ex));
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
  EXPECT_EQ(run.exit_code, 2) << Show(run);
  EXPECT_TRUE(Contains(run.err, "'app' (command)")) << run.err;
  EXPECT_TRUE(Contains(run.err, "rehearsal: live")) << run.err;
  EXPECT_FALSE(fs::exists(ex.journal())) << "no run may be created";
  EXPECT_EQ(DumpDatabase(AppDb(ex)), before);
}

TEST(Rehearsal, WorksOnACopyAndLeavesTheRealDatabaseUnchanged) {
  Example ex("media-rollback", kRows);
  MarkAppLive(ex);
  const std::string before = DumpDatabase(AppDb(ex));
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  // The plan's verify step (media absent, counts as baselined) passed: on the copy.
  EXPECT_TRUE(Contains(run.out, "rehearsal copies dropped")) << run.out;
  EXPECT_EQ(DumpDatabase(AppDb(ex)), before) << "a rehearsal must not touch the real database";
  EXPECT_EQ(ScratchFiles(ex, run_id), 0u) << "the copy is dropped when the run finishes";

  const json report = ReportJson(ex, run_id);
  EXPECT_EQ(report["summary"]["rehearsal"], true) << report["summary"].dump(2);
  const ProcessResult md = ex.Backout({"report", run_id, "--format", "md"});
  EXPECT_TRUE(Contains(md.out, "rehearsal")) << md.out;
}

TEST(Rehearsal, ResumeAfterSigkillFindsTheSameCopy) {
  // Where to crash: just after drop-media's outcome is journaled, measured on a full run. A
  // resume that made a fresh copy would see `media` again and fail the verify step.
  Example measure("media-rollback", kRows);
  MarkAppLive(measure);
  const ProcessResult full =
      measure.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
  ASSERT_EQ(full.exit_code, 0) << Show(full);
  const std::vector<json> succeeded =
      EventsOfType(Events(measure, RunIdFrom(full)), "StepSucceeded", "drop-media");
  const int crash_after = succeeded.empty() ? 0 : succeeded.back()["seq"].get<int>();
  ASSERT_GT(crash_after, 0) << json(succeeded);

  Example ex("media-rollback", kRows);
  MarkAppLive(ex);
  const std::string before = DumpDatabase(AppDb(ex));
  std::map<std::string, std::string> env = kFastApp;
  env["BACKOUT_CRASH_AFTER_APPENDS"] = std::to_string(crash_after);
  const ProcessResult crashed = ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, env);
  ASSERT_EQ(crashed.signal, SIGKILL) << Show(crashed);
  const std::string run_id = RunIdFrom(crashed);
  EXPECT_EQ(ScratchFiles(ex, run_id), 1u) << "the copy outlives the killed runner";

  const ProcessResult resumed = ex.Backout({"resume", run_id}, kFastApp);
  ASSERT_EQ(resumed.exit_code, 0) << Show(resumed);
  EXPECT_EQ(DumpDatabase(AppDb(ex)), before);
  EXPECT_EQ(ScratchFiles(ex, run_id), 0u);
  EXPECT_EQ(ReportJson(ex, run_id)["summary"]["rehearsal"], true);
}


namespace rehearsal_side_effects {

// A plan on the seed-004 data with every kind of side effect a rehearsal must contain: a
// service manager and a production maintenance endpoint (skipped), an admin API (redirected
// to staging), a backup into the real backups folder, a notification to an incident log, one
// to a webhook on the redirected target and one to a plain webhook URL.
constexpr char kPlan[] = R"(version: 1
name: rehearsal-side-effects
incident: INC-77
targets:
  appdb: { type: sqlite, path: data/app.db }
  app:   { type: command, cwd: ., rehearsal: skip }
  site:  { type: http, base_url: "${REAL_URL}", rehearsal: skip }
  admin: { type: http, base_url: "${REAL_URL}", rehearsal: { base_url: "${STAGING_URL}" } }
steps:
  - id: stop-app
    command: { target: app, argv: [./app-ctl, stop] }
  - id: maintenance-on
    http: { target: site, method: POST, path: /admin/maintenance, body: { enabled: true } }
    idempotent: true
  - id: admin-maintenance-on
    http: { target: admin, method: POST, path: /admin/maintenance, body: { enabled: true } }
    idempotent: true
  - id: backup
    backup: { target: appdb, to: backups/ }
  - id: drop-media
    sql: { target: appdb, script: "DROP TABLE IF EXISTS media;" }
    idempotent: true
  - id: log
    notify: { message: "{plan}: media dropped", to: { file: notes/incident.log } }
  - id: page
    notify: { target: admin, path: /hooks/incident, message: "{incident}: rollback {status}" }
  - id: chat
    notify: { message: "{incident} rolled back", to: { url: "${REAL_URL}/hooks/chat" } }
  - id: maintenance-off
    http: { target: site, method: DELETE, path: /admin/maintenance }
    always: true
)";

std::unique_ptr<HttpServer> StartServer() {
  Result<std::unique_ptr<HttpServer>> started = HttpServer::Start();
  EXPECT_TRUE(started.ok()) << started.status().ToString();
  return started.ok() ? std::move(started).value() : nullptr;
}

nlohmann::json RecordedBy(const HttpServer& server) {
  Result<nlohmann::json> recorded = server.Recorded();
  EXPECT_TRUE(recorded.ok()) << recorded.status().ToString();
  return recorded.ok() ? *recorded : nlohmann::json::array();
}

TEST(Rehearsal, SkipsAndRedirectsHttpTargetsAndKeepsEveryFileWhereItWas) {
  const std::unique_ptr<HttpServer> real = StartServer();
  const std::unique_ptr<HttpServer> staging = StartServer();
  ASSERT_TRUE(real && staging);
  Example ex("media-rollback", kRows,
             {{"REAL_URL", real->base_url()}, {"STAGING_URL", staging->base_url()}});
  WriteFile(ex.plan(), kPlan);
  WriteFile(ex.dir() / "backups" / "earlier.db", "an earlier backup");
  const std::string db_before = ReadFile(AppDb(ex));
  const auto data_before = FolderContents(ex.dir() / "data");
  const auto backups_before = FolderContents(ex.dir() / "backups");
  const std::string app_state_before = ReadFile(ex.dir() / "app.state");  // generate.sh's

  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse"});
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  const std::string run_id = RunIdFrom(run);
  EXPECT_TRUE(Contains(run.out, "target site is skipped in this rehearsal")) << run.out;
  EXPECT_TRUE(Contains(run.out, "target admin is redirected in this rehearsal (base_url)"))
      << run.out;

  // The real server saw nothing; staging got the maintenance call and the marked page.
  EXPECT_EQ(RecordedBy(*real), nlohmann::json::array()) << "the real URL must not be called";
  const nlohmann::json on_staging = RecordedBy(*staging);
  ASSERT_EQ(on_staging.size(), 2u) << on_staging.dump(2);
  EXPECT_EQ(on_staging[0]["method"], "POST");
  EXPECT_EQ(on_staging[0]["path"], "/admin/maintenance");
  EXPECT_EQ(on_staging[1]["path"], "/hooks/incident");
  EXPECT_TRUE(Contains(on_staging[1]["body"].get<std::string>(), "[REHEARSAL] INC-77: rollback"))
      << on_staging[1].dump(2);
  EXPECT_EQ(ReadFile(ex.dir() / "app.state"), app_state_before)
      << "the service manager must not run";

  // The real database, its folder and the real backups folder are exactly as they were.
  EXPECT_EQ(ReadFile(AppDb(ex)), db_before) << "the real SQLite file must be byte-identical";
  EXPECT_EQ(FolderContents(ex.dir() / "data"), data_before);
  EXPECT_EQ(FolderContents(ex.dir() / "backups"), backups_before);
  EXPECT_FALSE(fs::exists(ex.dir() / "notes")) << "the real incident log must not be written";

  // What the rehearsal wrote is in its scratch directory: the backup and the marked log.
  const fs::path files = ScratchDir(ex, run_id) / "files";
  EXPECT_EQ(FolderContents(files / "backups").size(), 1u);
  const std::string log = ReadFile(files / "notes" / "incident.log");
  EXPECT_TRUE(log.starts_with("[REHEARSAL] rehearsal-side-effects: media dropped")) << log;
  // The plain webhook was not posted to (that is the real server): the line went to stdout.
  EXPECT_TRUE(Contains(run.out, "[REHEARSAL] INC-77 rolled back")) << run.out;

  // The skipped steps are journaled as such, with the reason.
  const std::vector<nlohmann::json> events = Events(ex, run_id);
  for (const std::string step : {"stop-app", "maintenance-on", "maintenance-off"}) {
    const std::vector<nlohmann::json> skipped = EventsOfType(events, "StepSkipped", step);
    ASSERT_EQ(skipped.size(), 1u) << step;
    EXPECT_TRUE(Contains(skipped[0]["payload"]["reason"].get<std::string>(), "rehearsal: skip"))
        << skipped[0].dump();
  }
  EXPECT_TRUE(EventsOfType(events, "StepStarted", "maintenance-on").empty());
  const ProcessResult replay = ex.Backout({"replay", run_id});
  EXPECT_EQ(replay.exit_code, 0) << "a rehearsal's skips are the state machine's: " << Show(replay);

  // status says rehearsal, in text and JSON.
  const ProcessResult text = ex.Backout({"status", run_id});
  EXPECT_TRUE(Contains(text.out, "\nkind     rehearsal")) << text.out;
  const ProcessResult status = ex.Backout({"status", run_id, "--json"});
  ASSERT_EQ(status.exit_code, 0) << Show(status);
  EXPECT_EQ(json::parse(status.out)["rehearsal"], true) << status.out;
  const ProcessResult list = ex.Backout({"status"});
  EXPECT_TRUE(Contains(list.out, "Z  rehearsal\n")) << list.out;

  // The report says what the rehearsal did with each target, and matches its schema.
  const fs::path report_file = ex.dir() / "report.json";
  const ProcessResult report =
      ex.Backout({"report", run_id, "--format", "json", "-o", report_file.string()});
  ASSERT_EQ(report.exit_code, 0) << Show(report);
  const json targets = json::parse(ReadFile(report_file))["summary"]["rehearsal_targets"];
  const json expected = json::parse(R"([
    {"target": "admin", "type": "http", "handling": "redirected", "redirected_keys": ["base_url"]},
    {"target": "app", "type": "command", "handling": "skipped", "redirected_keys": []},
    {"target": "appdb", "type": "sqlite", "handling": "copied", "redirected_keys": []},
    {"target": "site", "type": "http", "handling": "skipped", "redirected_keys": []}])");
  EXPECT_EQ(targets, expected) << targets.dump(2);
  const ProcessResult schema = CheckReportSchema({report_file});
  EXPECT_EQ(schema.exit_code, 0) << Show(schema);
  const ProcessResult md = ex.Backout({"report", run_id, "--format", "md"});
  EXPECT_TRUE(Contains(md.out, "admin (http) redirected (base_url)")) << md.out;
  EXPECT_TRUE(Contains(md.out, "Real targets it used as they are (`rehearsal: live`): none"))
      << md.out;
}

// A redirect to a variable that is not set refuses the rehearsal before a run exists.
TEST(Rehearsal, RedirectToAnUnsetVariableIsRefusedBeforeARunExists) {
  const std::unique_ptr<HttpServer> real = StartServer();
  ASSERT_TRUE(real);
  Example ex("media-rollback", kRows, {{"REAL_URL", real->base_url()}});
  WriteFile(ex.plan(), kPlan);
  const ProcessResult run = ex.Backout({"run", "plan.yaml", "--rehearse"});
  EXPECT_EQ(run.exit_code, 2) << Show(run);
  EXPECT_TRUE(Contains(run.err, "'admin' redirected")) << run.err;
  EXPECT_TRUE(Contains(run.err, "STAGING_URL")) << run.err;
  EXPECT_FALSE(fs::exists(ex.journal())) << "no run may be created";
  EXPECT_EQ(RecordedBy(*real), nlohmann::json::array());
}

}  // namespace rehearsal_side_effects

// Every shipped example whose targets are all local (no database server of its own to
// start) rehearses as shipped, and its real files stay as they were. The PostgreSQL
// examples are rehearsed by their own tests (tests/examples/), which start the server.
TEST(Rehearsal, EveryLocalExampleRehearsesAsShipped) {
  for (const std::string example : {"media-rollback"}) {
    SCOPED_TRACE(example);
    Example ex(example, kRows);
    const auto before = FolderContents(ex.dir());
    const ProcessResult run =
        ex.Backout({"run", "plan.yaml", "--rehearse", kApprove}, kFastApp);
    ASSERT_EQ(run.exit_code, 0) << Show(run);
    auto after = FolderContents(ex.dir());
    std::erase_if(after, [](const auto& file) { return file.first.starts_with("journal/"); });
    EXPECT_EQ(after, before) << "a rehearsal of a shipped example must leave its files alone";
  }
}

}  // namespace
}  // namespace backout::testing
