#include "capture/capture.h"
#include "capture/find.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "plan/parser.h"
#include "testing/assert_ok.h"
#include "plan/test_vocabulary.h"

namespace backout::capture {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

plan::Plan Parse(const std::string& yaml) {
  plan::ParseOutcome parsed = plan::ParsePlan(yaml, "/plans/plan.yaml",
                                              plan::DefaultVocabularyForTests());
  for (const plan::Diagnostic& d : parsed.diagnostics) ADD_FAILURE() << d.ToString();
  return *parsed.plan;
}

constexpr const char* kCapturePlan = R"(version: 1
name: pre-migration
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: capture-db
    capture:
      target: db
      name: pre
      baseline: { tables: [images, docs] }
      backup: { to: backups/ }
)";

constexpr const char* kRollbackPlan = R"(version: 1
name: rollback
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: restore
    restore: { target: db, from: capture.pre }
  - id: verify
    verify:
      target: db
      checks:
        - row_count: { table: images, equals: capture.pre }
        - checksum: { table: docs, equals: capture.pre }
        - integrity: true
)";

sm::Event At(std::int64_t time_us, sm::EventBody body) {
  return sm::Event{.seq = 0, .time_us = time_us, .operator_name = "alice", .host = "h1",
                   .body = std::move(body)};
}

const json kBaseline = {{"tables", {{"images", {{"rows", 3}, {"checksum", "c1"}}}}}};
const json kBackup = {{"path", "backups/app-1.db"}, {"bytes", 4096}, {"sha256", "ab12"}};

std::vector<Capture> CapturesOfSucceededRun() {
  const plan::Plan plan = Parse(kCapturePlan);
  sm::RunStarted start;
  start.plan_name = plan.name;
  return CapturesOfRun("R1",
                       {At(1, start), At(2, sm::StepStarted{"capture-db", 1}),
                        At(7, sm::StepSucceeded{"capture-db", 1,
                                                StepOutputs("pre", kBaseline, kBackup), {}})},
                       plan, "/plans");
}

TEST(CaptureTest, RefsAndNames) {
  EXPECT_EQ(CaptureRef(json("capture.pre")), "pre");
  EXPECT_EQ(CaptureRef(json("baseline")), std::nullopt);
  EXPECT_EQ(CaptureRef(json(3)), std::nullopt);
  EXPECT_TRUE(IsCaptureName("pre-migration_2"));
  EXPECT_FALSE(IsCaptureName(""));
  EXPECT_FALSE(IsCaptureName("a.b"));
}

TEST(CaptureTest, PartsAreTheTargetsBaselineThenBackup) {
  const json params = {{"target", "db"}, {"name", "pre"}, {"backup", {{"to", "b/"}}},
                       {"baseline", {{"tables", {"t"}}}}};
  const std::vector<CapturePart> parts = PartsOf(params);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].action, "baseline");
  EXPECT_EQ(parts[0].params, (json{{"tables", {"t"}}, {"target", "db"}}));
  EXPECT_EQ(parts[1].action, "backup");
  EXPECT_EQ(parts[1].pointer, "/backup");
}

TEST(CaptureTest, ARunsSucceededCaptureStepsMakeItsCapture) {
  const std::vector<Capture> captures = CapturesOfSucceededRun();
  ASSERT_EQ(captures.size(), 1u);
  const Capture& c = captures[0];
  EXPECT_EQ(c.name, "pre");
  EXPECT_EQ(c.run_id, "R1");
  EXPECT_EQ(c.taken_us, 7);
  EXPECT_EQ(c.operator_name, "alice");
  EXPECT_EQ(c.targets.at("db").backup_location, "/plans/backups/app-1.db");
  // It survives the journal.
  Result<Capture> back = CaptureFromJson(ToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(c));
  // What the catalog must keep.
  const std::vector<CapturedBackup> backups = BackupsOf(c);
  ASSERT_EQ(backups.size(), 1u);
  EXPECT_EQ(backups[0].location, "/plans/backups/app-1.db");
  EXPECT_EQ(backups[0].sha256, "ab12");
  EXPECT_EQ(backups[0].bytes, 4096u);
  EXPECT_EQ(backups[0].capture, "pre");
}

TEST(CaptureTest, ABackupInObjectStorageIsReferredToByItsUrl) {
  const plan::Plan plan = Parse(kCapturePlan);
  const json uploaded = {{"url", "s3://backups/pre/app-1.db"}, {"bytes", 4096},
                         {"sha256", "ab12"}, {"endpoint", "http://127.0.0.1:4568"}};
  const std::vector<Capture> captures = CapturesOfRun(
      "R1",
      {At(1, sm::RunStarted{}), At(2, sm::StepStarted{"capture-db", 1}),
       At(7, sm::StepSucceeded{"capture-db", 1, StepOutputs("pre", kBaseline, uploaded), {}})},
      plan, "/plans");
  ASSERT_EQ(captures.size(), 1u);
  EXPECT_EQ(captures[0].targets.at("db").backup_location, "s3://backups/pre/app-1.db");
  ASSERT_EQ(BackupsOf(captures[0]).size(), 1u);
  EXPECT_EQ(BackupsOf(captures[0])[0].location, "s3://backups/pre/app-1.db");
}

// Preflight asks the store for a backup at a URL: there with the journaled size and sha256,
// missing, or different.
TEST(CaptureTest, ABackupInObjectStorageIsCheckedByTheStoresHead) {
  const plan::Plan plan = Parse(kCapturePlan);
  const json uploaded = {{"url", "s3://backups/pre/app-1.db"}, {"bytes", 4096},
                         {"sha256", "ab12"}, {"endpoint", "http://127.0.0.1:4568"},
                         {"region", "us-east-1"}, {"path_style", true}};
  const Capture taken = CapturesOfRun(
      "R1",
      {At(1, sm::RunStarted{}), At(2, sm::StepStarted{"capture-db", 1}),
       At(7, sm::StepSucceeded{"capture-db", 1, StepOutputs("pre", kBaseline, uploaded), {}})},
      plan, "/plans")[0];
  const json store = {{"endpoint", "http://127.0.0.1:4568"}, {"region", "us-east-1"},
                      {"path_style", true}};
  EXPECT_EQ(BackupsOf(taken)[0].store, store);
  const auto answering = [](Result<StoredObject> answer) {
    return [answer](const CapturedBackup&) { return answer; };
  };
  std::vector<BackupCheck> checks = CheckBackups(taken, answering(StoredObject{4096, "ab12"}));
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_TRUE(checks[0].status.ok()) << checks[0].status.ToString();
  EXPECT_THAT(checks[0].check,
              HasSubstr("s3://backups/pre/app-1.db (4096 bytes, recorded sha256 matches)"));
  checks = CheckBackups(taken, answering(Status::NotFound("no such key")));
  EXPECT_EQ(checks[0].status.code(), Code::kNotFound);
  EXPECT_THAT(checks[0].status.message(), HasSubstr("not in the store"));
  checks = CheckBackups(taken, answering(StoredObject{10, ""}));
  EXPECT_EQ(checks[0].status.code(), Code::kExpectationFailed);
  EXPECT_THAT(checks[0].status.message(), HasSubstr("holds 10 bytes, not the 4096"));
  checks = CheckBackups(taken, answering(StoredObject{4096, "cd34"}));
  EXPECT_EQ(checks[0].status.code(), Code::kExpectationFailed);
}

TEST(CaptureTest, AFailedCaptureStepIsNoCapture) {
  const plan::Plan plan = Parse(kCapturePlan);
  EXPECT_TRUE(CapturesOfRun("R1",
                            {At(1, sm::RunStarted{}), At(2, sm::StepStarted{"capture-db", 1}),
                             At(3, sm::StepFailed{"capture-db", 1, "no", {}, {}})},
                            plan, "/plans")
                  .empty());
}

TEST(CaptureTest, ResolvesVerifyAndRestoreFromTheJournaledCapture) {
  const json captures = json::array({ToJson(CapturesOfSucceededRun().at(0))});
  const json verify = {{"target", "db"},
                       {"checks", {{{"row_count", {{"table", "images"}, {"equals", "capture.pre"}}}}}}};
  Result<ResolvedAction> v = ResolveAction("verify", verify, "db", captures);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->params["checks"][0]["row_count"]["equals"], "baseline");
  EXPECT_EQ(v->baseline, kBaseline);

  Result<ResolvedAction> r =
      ResolveAction("restore", {{"target", "db"}, {"from", "capture.pre"}}, "db", captures);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->params["from"], "/plans/backups/app-1.db");
  EXPECT_EQ(r->params["sha256"], "ab12");

  Result<ResolvedAction> other = ResolveAction("verify", verify, "otherdb", captures);
  EXPECT_EQ(other.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("took nothing of target 'otherdb'"));
  Result<ResolvedAction> missing = ResolveAction("verify", verify, "db", json::array());
  EXPECT_THAT(missing.status().message(), HasSubstr("capture 'pre' was not resolved"));
}

TEST(CaptureTest, UsesOfARollbackPlan) {
  const plan::Plan plan = Parse(kRollbackPlan);
  const std::vector<CaptureUse> uses = UsesOf(plan);
  ASSERT_EQ(uses.size(), 3u);
  EXPECT_EQ(uses[0].action, "restore");
  EXPECT_EQ(uses[1].pointer, "/checks/0/row_count/equals");
  EXPECT_EQ(uses[1].subject, "images");
  EXPECT_EQ(uses[2].subject, "docs");
  EXPECT_THAT(NamesUsed(plan), ElementsAre("pre"));
  EXPECT_TRUE(CheckCaptures(plan).empty());
}

TEST(CaptureTest, TheCaptureOfAPlanBacksUpWhatItsRestoresPutBack) {
  const plan::Plan plan = Parse(R"(version: 1
name: rollback
targets:
  pg: { type: postgres, dsn: "postgresql:///app" }
  lite: { type: sqlite, path: app.db }
steps:
  - id: restore-items
    restore: { target: pg, from: capture.pre, tables: [order_items] }
  - id: restore-orders
    restore: { target: pg, from: capture.pre, tables: [orders, order_items] }
  - id: restore-lite
    restore: { target: lite, from: capture.pre }
  - id: verify
    verify:
      target: pg
      checks:
        - row_count: { table: customers, equals: capture.pre }
  - id: verify-lite
    verify:
      target: lite
      checks:
        - row_count: { table: images, equals: capture.pre }
)");
  ASSERT_OK_AND_ASSIGN(made, CapturePlanFor(plan, "pre", "backups/"));
  ASSERT_EQ(made.at("steps").size(), 2u) << made.dump(2);
  const json& pg = made["steps"][0]["capture"];
  EXPECT_EQ(pg["backup"], json({{"tables", {"order_items", "orders"}}, {"to", "backups/"}}));
  EXPECT_EQ(pg["baseline"]["tables"], json({"order_items", "orders", "customers"}));
  EXPECT_EQ(made["steps"][1]["capture"]["backup"], json({{"to", "backups/"}}));
}

TEST(CaptureTest, ValidationNamesEachMisuse) {
  const plan::Plan plan = Parse(R"(version: 1
name: bad
targets:
  db: { type: sqlite, path: app.db }
steps:
  - id: c1
    capture: { target: db, name: "bad name", baseline: { tables: [t] }, extra: 1 }
  - id: c2
    capture: { target: db, name: ok, backup: { to: b/ } }
  - id: c3
    capture: { target: db, name: ok, baseline: { tables: [t] } }
  - id: b
    backup: { target: db, to: capture.ok }
  - id: v
    verify:
      target: db
      checks:
        - row_count: { table: t, equals: baseline }
        - row_count: { table: t, equals: capture.ok }
        - row_count: { table: t, equals: capture.x.y }
)");
  std::vector<std::string> messages;
  for (const plan::Diagnostic& d : CheckCaptures(plan)) messages.push_back(d.ToString());
  const std::string all = fmt::format("{}", fmt::join(messages, "\n"));
  EXPECT_THAT(all, HasSubstr("plan.yaml:7:34: error: a capture step needs 'name'"));
  EXPECT_THAT(all, HasSubstr("a capture step has no 'extra'"));
  EXPECT_THAT(all, HasSubstr("plan.yaml:9:14: error: a capture step needs 'baseline:'"));
  EXPECT_THAT(all, HasSubstr("capture 'ok' of target 'db' is taken by an earlier step"));
  EXPECT_THAT(all, HasSubstr("'capture.ok' refers to a capture where none is read"));
  EXPECT_THAT(all, HasSubstr("'capture.x.y' is not a capture name"));
  EXPECT_THAT(all, HasSubstr("compares with baseline, capture.ok, capture.x.y"));
}

}  // namespace
}  // namespace backout::capture
