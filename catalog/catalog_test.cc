// The catalog from run events, retention verdicts, checks and deletions on real files, and
// the catalog stream in a real journal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <map>

#include "base/sha256.h"
#include "catalog/catalog.h"
#include "catalog/check.h"
#include "catalog/retention.h"
#include "catalog/stream.h"
#include "plan/parser.h"
#include "plan/test_vocabulary.h"
#include "testing/assert_ok.h"
#include "testing/fake_env.h"
#include "testing/signing_keys.h"
#include "testing/temp_dir.h"

namespace backout::catalog {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr std::int64_t kDayUs = 86'400'000'000;
constexpr std::int64_t kNow = 100 * kDayUs;

constexpr char kPlanText[] = R"(version: 1
name: nightly
targets:
  appdb: { type: sqlite, path: app.db }
retention: { keep_last: 1 }
steps:
  - id: backup
    backup: { target: appdb, to: backups/ }
  - id: restore
    restore: { target: appdb, from: "${FILE}" }
)";

plan::Plan ParsedPlan(const std::string& text = kPlanText) {
  plan::ParseOutcome parsed =
      plan::ParsePlan(text, "plan.yaml", plan::DefaultVocabularyForTests());
  EXPECT_TRUE(parsed.ok()) << (parsed.diagnostics.empty() ? "" : parsed.diagnostics[0].ToString());
  return *parsed.plan;
}

sm::Event Succeeded(const std::string& step, json outputs, std::int64_t time_us) {
  return sm::Event{.seq = 0, .time_us = time_us, .operator_name = "ana", .host = "h",
                   .body = sm::StepSucceeded{.step = step, .outputs = std::move(outputs)}};
}

sm::RunState StateOf(bool finished) {
  sm::RunState state;
  state.status = finished ? sm::RunStatus::kSucceeded : sm::RunStatus::kRunning;
  state.start.plan_text = kPlanText;
  return state;
}

json BackupOutputs(const std::string& path, std::uint64_t bytes, const std::string& sha) {
  return {{"path", path}, {"bytes", bytes}, {"sha256", sha}, {"source", "/db/app.db"}};
}

// One finished run per (path, day) taking a backup there.
Catalog CatalogOf(const std::vector<std::pair<std::string, std::int64_t>>& backups,
                  const plan::Plan& plan = ParsedPlan()) {
  CatalogBuilder builder;
  int n = 0;
  for (const auto& [path, day] : backups) {
    builder.AddRun(fmt::format("run-{}", n++),
                   {Succeeded("backup", BackupOutputs(path, 10, Sha256Hex(path)), day * kDayUs)},
                   StateOf(true), plan);
  }
  return std::move(builder).Finish();
}

TEST(CatalogTest, TakenBackupsAndMaskedRestoresAreOneEntry) {
  CatalogBuilder builder;
  const std::string sha = std::string(64, 'a');
  builder.AddRun("r1", {Succeeded("backup", BackupOutputs("/b/app-1.db", 42, sha), kDayUs)},
                 StateOf(true), ParsedPlan());
  builder.AddRun("r2",
                 {Succeeded("restore", {{"from", "***"}, {"bytes", 42}, {"sha256", sha}},
                            2 * kDayUs)},
                 StateOf(false), ParsedPlan());
  const Catalog catalog = std::move(builder).Finish();
  ASSERT_EQ(catalog.backups.size(), 1u);
  const Backup& b = catalog.backups[0];
  EXPECT_EQ(b.id, BackupId("/b/app-1.db", sha));
  EXPECT_EQ(b.kind, "sqlite file");
  EXPECT_EQ(b.target, "appdb");
  EXPECT_EQ(b.bytes, 42u);
  ASSERT_EQ(b.uses.size(), 2u);
  EXPECT_EQ(b.uses[1].use, Use::kRestoredFrom);
  EXPECT_EQ(b.uses[1].run_id, "r2");
  EXPECT_EQ(b.Origin().run_id, "r1");
  ASSERT_TRUE(b.plan_retention.has_value());
  EXPECT_EQ(b.plan_retention->keep_last, 1);
  ASSERT_OK_AND_ASSIGN(found, catalog.Find(b.id.substr(0, 6)));
  EXPECT_EQ(found, &b);
  EXPECT_EQ(catalog.Find("abc").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(catalog.Find("ffffffff").status().code(), Code::kNotFound);
}

TEST(CatalogTest, ARestoreFromAMaskedPlaceOfUnknownBytesAddsNoBackup) {
  CatalogBuilder builder;
  const std::string sha = std::string(64, 'a');
  builder.AddRun("r1", {Succeeded("backup", BackupOutputs("/b/app-1.db", 42, sha), kDayUs)},
                 StateOf(true), ParsedPlan());
  for (const std::string& restored_sha : {std::string("***"), std::string(64, 'b')}) {
    builder.AddRun("r2",
                   {Succeeded("restore", {{"from", "***"}, {"bytes", 42}, {"sha256", restored_sha}},
                              2 * kDayUs)},
                   StateOf(true), ParsedPlan());
  }
  const Catalog catalog = std::move(builder).Finish();
  ASSERT_EQ(catalog.backups.size(), 1u);
  EXPECT_EQ(catalog.backups[0].uses.size(), 1u);
}

TEST(CatalogTest, AnObjectKeepsTheStoreSettingsJournaledBesideItsUrl) {
  CatalogBuilder builder;
  const json settings = {{"endpoint", "http://127.0.0.1:4568"}, {"region", "eu-west-1"},
                         {"path_style", true}};
  json outputs = {{"url", "s3://backups/emergency/app.db"}, {"path", "/tmp/staged.db"},
                  {"bytes", 7}, {"sha256", "77"}};
  outputs.update(settings);
  builder.AddRun("r1", {Succeeded("backup", outputs, kDayUs)}, StateOf(true), ParsedPlan());
  const Catalog catalog = std::move(builder).Finish();
  ASSERT_EQ(catalog.backups.size(), 1u);
  EXPECT_EQ(catalog.backups[0].location, "s3://backups/emergency/app.db");
  EXPECT_TRUE(catalog.backups[0].IsObject());
  EXPECT_EQ(catalog.backups[0].store_settings, settings);
}

TEST(CatalogTest, DynamoDbExportsAreOneBackupPerTableFile) {
  const plan::Plan plan = ParsedPlan(R"(version: 1
name: split
targets:
  ddb: { type: dynamodb, region: us-east-1 }
steps:
  - id: export
    export: { target: ddb, tables: [a, b], to: exports/ }
)");
  CatalogBuilder builder;
  const json outputs = {{"path", "/x"},
                        {"files",
                         {{"a", {{"path", "/x/a.jsonl"}, {"bytes", 1}, {"sha256", "11"}}},
                          {"b", {{"path", "/x/b.jsonl"}, {"bytes", 2}, {"sha256", "22"}}}}}};
  builder.AddRun("r1", {Succeeded("export", outputs, kDayUs)}, StateOf(true), plan);
  const Catalog catalog = std::move(builder).Finish();
  ASSERT_EQ(catalog.backups.size(), 2u);
  EXPECT_EQ(catalog.backups[0].kind, "dynamodb export");
  EXPECT_EQ(catalog.backups[0].table, "a");
  EXPECT_EQ(catalog.backups[1].location, "/x/b.jsonl");
}

std::map<std::string, std::string> Verdicts(const std::vector<Verdict>& verdicts) {
  std::map<std::string, std::string> by_location;
  for (const Verdict& v : verdicts) by_location[v.backup->location] = v.reason;
  return by_location;
}

TEST(RetentionTest, KeepLastAndKeepWithinEitherKeeps) {
  std::string text = kPlanText;
  const std::string retention_line = "retention: { keep_last: 1 }\n";
  text.erase(text.find(retention_line), retention_line.size());
  const plan::Plan no_retention = ParsedPlan(text);
  const Catalog catalog =
      CatalogOf({{"/b/1", 10}, {"/b/2", 20}, {"/b/3", 80}, {"/b/4", 90}}, no_retention);
  PruneRequest request{.rules = {.keep_last = 1, .keep_within_ms = 30 * 86'400'000LL},
                       .now_us = kNow};
  const auto reasons = Verdicts(DecidePrune(catalog, request));
  EXPECT_THAT(reasons.at("/b/4"), HasSubstr("kept: among the 1 newest of target appdb"));
  EXPECT_THAT(reasons.at("/b/3"), HasSubstr("kept: taken within 30d"));
  EXPECT_THAT(reasons.at("/b/2"), HasSubstr("not kept: number 3 of target appdb"));
  EXPECT_THAT(reasons.at("/b/1"), HasSubstr("older than 30d"));

  // Without rules nothing is deleted.
  for (const Verdict& v : DecidePrune(catalog, PruneRequest{.now_us = kNow})) {
    EXPECT_FALSE(v.remove) << v.reason;
  }
}

// Four finished runs of a plan with `retention: { keep_last: 1 }`, one backup each, one a day.
void AddFourBackups(CatalogBuilder* builder) {
  const plan::Plan plan = ParsedPlan();
  int day = 1;
  for (const char* name : {"old", "held", "named", "new"}) {
    builder->AddRun(name,
                    {Succeeded("backup",
                               BackupOutputs(fmt::format("/b/{}.db", name), 1, name), day++ * kDayUs)},
                    StateOf(true), plan);
  }
}

TEST(RetentionTest, AnUnfinishedRestoreFromAVariableHoldsItsTarget) {
  CatalogBuilder builder;
  AddFourBackups(&builder);
  builder.AddRun("busy", {}, StateOf(false), ParsedPlan());  // restore from: "${FILE}"
  const Catalog catalog = std::move(builder).Finish();
  ASSERT_EQ(catalog.unfinished_runs.size(), 1u);
  EXPECT_EQ(catalog.unfinished_runs[0].restores_from_variable, std::vector<std::string>{"appdb"});
  for (const Verdict& v : DecidePrune(catalog, PruneRequest{.now_us = kNow})) {
    EXPECT_FALSE(v.remove) << v.reason;
    EXPECT_THAT(v.reason, HasSubstr("unfinished run busy has yet to restore target appdb"));
  }
}

TEST(RetentionTest, HoldsUnfinishedRunsAndPlanRetentionKeep) {
  CatalogBuilder builder;
  AddFourBackups(&builder);
  std::string text = kPlanText;
  text.erase(text.find("  - id: restore"));
  sm::RunState unfinished = StateOf(false);
  unfinished.start.plan_text = "restore: { from: /b/named.db }";
  builder.AddRun("busy", {}, unfinished, ParsedPlan(text));
  const Catalog catalog = std::move(builder).Finish();
  PruneRequest request{.now_us = kNow,
                       .holds = {{BackupId("/b/held.db", "held"), "capture pre is taken"}}};
  const auto reasons = Verdicts(DecidePrune(catalog, request));
  EXPECT_EQ(reasons.at("/b/held.db"), "kept: capture pre is taken");
  EXPECT_THAT(reasons.at("/b/named.db"), HasSubstr("the plan of unfinished run busy"));
  EXPECT_THAT(reasons.at("/b/new.db"), HasSubstr("the plan's retention: among the 1 newest"));
  EXPECT_THAT(reasons.at("/b/old.db"), HasSubstr("not kept: the plan's retention"));
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(CheckTest, VerifyAndDeleteLocalFiles) {
  testing::TempDir dir;
  const std::filesystem::path file = dir.path() / "app.db";
  WriteFile(file, "backup bytes");
  Backup b;
  b.location = file.string();
  b.bytes = 12;
  b.sha256 = Sha256Hex("backup bytes");
  EXPECT_EQ(Look(b, nullptr).condition, Condition::kPresent);
  EXPECT_EQ(Verify(b, nullptr).condition, Condition::kIntact);

  WriteFile(file, "other bytes!");
  EXPECT_EQ(Look(b, nullptr).condition, Condition::kPresent);  // same size
  EXPECT_EQ(Verify(b, nullptr).condition, Condition::kChanged);
  EXPECT_EQ(Delete(b, nullptr).status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(file));

  WriteFile(file, "backup bytes");
  ASSERT_OK_AND_ASSIGN(deleted, Delete(b, nullptr));
  EXPECT_EQ(deleted, "deleted");
  EXPECT_EQ(Verify(b, nullptr).condition, Condition::kMissing);
  ASSERT_OK_AND_ASSIGN(again, Delete(b, nullptr));
  EXPECT_EQ(again, "already_absent");
}

class FakeObjectStore final : public ObjectStore {
 public:
  Result<std::optional<std::uint64_t>> Head(const std::string& url, const json&) override {
    const auto found = objects.find(url);
    if (found == objects.end()) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(found->second.size());
  }
  Result<ObjectDigest> Hash(const std::string& url, const json&) override {
    const auto found = objects.find(url);
    if (found == objects.end()) return Status::NotFound(url);
    return ObjectDigest{found->second.size(), Sha256Hex(found->second)};
  }
  Status Delete(const std::string& url, const json&) override {
    objects.erase(url);
    return Status::Ok();
  }
  std::map<std::string, std::string> objects;
};

TEST(CheckTest, ObjectsGoThroughTheStore) {
  Backup b;
  b.location = "s3://bucket/emergency/app.sql";
  b.bytes = 4;
  b.sha256 = Sha256Hex("dump");
  EXPECT_EQ(Verify(b, nullptr).condition, Condition::kUnknown);
  EXPECT_EQ(Delete(b, nullptr).status().code(), Code::kUnavailable);
  FakeObjectStore store;
  store.objects[b.location] = "dump";
  EXPECT_EQ(Look(b, &store).condition, Condition::kPresent);
  EXPECT_EQ(Verify(b, &store).condition, Condition::kIntact);
  ASSERT_OK_AND_ASSIGN(deleted, Delete(b, &store));
  EXPECT_EQ(deleted, "deleted");
  EXPECT_TRUE(store.objects.empty());
  EXPECT_EQ(Look(b, &store).condition, Condition::kMissing);
}

TEST(StreamTest, DecisionsAndDeletionsReadBackInOrder) {
  testing::TempDir dir;
  testing::FakeEnv env;
  const journal::Journal stream(StreamDir(dir.path()), journal::ChainKey(), nullptr, &env);
  ASSERT_OK_AND_ASSIGN(none, ReadStream(stream));
  EXPECT_TRUE(none.empty());
  {
    ASSERT_OK_AND_ASSIGN(writer, StreamWriter::Open(stream, &env, "ana", "h"));
    ASSERT_TRUE(writer
                    ->Append(RetentionDecided{.rules = {.keep_last = 2, .target = "appdb"},
                                              .deletes = {{"abc", "/b/1", "01", 3, "old"}},
                                              .kept = 2})
                    .ok());
    // A second writer waits for the first: prune is one at a time per journal.
    EXPECT_EQ(StreamWriter::Open(stream, &env, "bo", "h").status().code(), Code::kLocked);
    ASSERT_TRUE(writer->Append(BackupDeleted{"abc", "/b/1", "01", 3, "deleted"}).ok());
  }
  ASSERT_OK_AND_ASSIGN(writer, StreamWriter::Open(stream, &env, "ana", "h"));
  ASSERT_OK_AND_ASSIGN(events, ReadStream(stream));
  ASSERT_EQ(events.size(), 2u);
  const auto& decided = std::get<RetentionDecided>(events[0].body);
  EXPECT_EQ(decided.rules.keep_last, 2);
  EXPECT_EQ(decided.rules.target, "appdb");
  ASSERT_EQ(decided.deletes.size(), 1u);
  EXPECT_EQ(decided.deletes[0].location, "/b/1");
  EXPECT_EQ(std::get<BackupDeleted>(events[1].body).outcome, "deleted");
  EXPECT_EQ(events[1].operator_name, "ana");
  // The stream is not a run of the journal.
  const journal::Journal runs(dir.path());
  ASSERT_OK_AND_ASSIGN(run_ids, runs.ListRuns());
  EXPECT_TRUE(run_ids.empty());
}

TEST(StreamTest, ASignedStreamIsAppendedToOnlyWithItsKey) {
  testing::TempDir dir;
  testing::FakeEnv env;
  const testing::KeyFiles keys = testing::WriteEd25519KeyPair(dir.path(), "ops");
  ASSERT_OK_AND_ASSIGN(key, journal::SigningKey::LoadPemFile(keys.private_pem));
  const journal::Journal signed_stream(StreamDir(dir.path()), journal::ChainKey(),
                                       std::make_shared<const journal::SigningKey>(std::move(key)),
                                       &env);
  {
    ASSERT_OK_AND_ASSIGN(writer, StreamWriter::Open(signed_stream, &env, "ana", "h"));
    ASSERT_TRUE(writer->Append(BackupDeleted{"abc", "/b/1", "01", 3, "deleted"}).ok());
  }
  ASSERT_OK_AND_ASSIGN(signed_run, signed_stream.ReadSignedRun(kStreamId));
  EXPECT_FALSE(signed_run.signatures.empty());
  const journal::Journal unsigned_stream(StreamDir(dir.path()), journal::ChainKey(), nullptr,
                                         &env);
  ASSERT_OK_AND_ASSIGN(events, ReadStream(unsigned_stream));
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(StreamWriter::Open(unsigned_stream, &env, "bo", "h").status().code(),
            Code::kFailedPrecondition);
}

}  // namespace
}  // namespace backout::catalog
