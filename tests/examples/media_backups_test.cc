// Seed 004 (examples/media-rollback) and its backups end to end with the real binary: two
// rollbacks take backups; `backups list` and `verify` find them (and a changed byte);
// restore-backup.yaml restores one chosen from the catalog; `prune` shows what it would
// delete, keeps what an unfinished run or a plan's retention needs, deletes the rest and
// journals it in the catalog stream, which `status` never lists as a run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/example.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using nlohmann::json;

constexpr int kRows = 200;

json BackupsJson(const Example& ex) {
  const ProcessResult list = ex.Backout({"backups", "list", "--json"});
  EXPECT_EQ(list.exit_code, 0) << Show(list);
  return json::parse(list.out, nullptr, /*allow_exceptions=*/false);
}

// Rebuilds the migrated database (the rollback dropped media), as before each rollback.
void Regenerate(const Example& ex) {
  const ProcessResult gen = RunProcess({.argv = {"/bin/bash", (ex.dir() / "generate.sh").string(),
                                                 ex.dir().string(), std::to_string(kRows)}});
  ASSERT_EQ(gen.exit_code, 0) << Show(gen);
}

TEST(Seed004Backups, ListVerifyRestoreAndPrune) {
  Example ex("media-rollback", kRows);
  const std::vector<std::string> rollback = {"run", "plan.yaml", "--again", "--approve",
                                             "confirm=ROLLBACK_MEDIA"};
  ProcessResult run = ex.Backout(rollback);
  ASSERT_EQ(run.exit_code, 0) << Show(run);
  Regenerate(ex);
  run = ex.Backout(rollback);
  ASSERT_EQ(run.exit_code, 0) << Show(run);

  json backups = BackupsJson(ex);
  ASSERT_EQ(backups.size(), 2u) << backups.dump(2);
  for (const json& b : backups) {
    EXPECT_EQ(b["kind"], "sqlite file");
    EXPECT_EQ(b["target"], "appdb");
    EXPECT_EQ(b["step"], "backup");
    EXPECT_EQ(b["state"], "present");
    EXPECT_TRUE(fs::exists(b["location"].get<std::string>()));
  }
  const std::string older = backups[0]["id"], newer = backups[1]["id"];
  const std::string newer_file = backups[1]["location"];

  ProcessResult verify = ex.Backout({"backups", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  EXPECT_THAT(verify.out, HasSubstr("2 of 2 backups intact"));
  // One changed byte (same size): `list` still sees it there, `verify` sees it changed.
  const std::string original = ReadFile(newer_file);
  std::string changed = original;
  changed[changed.size() / 2] ^= 1;
  WriteFile(newer_file, changed);
  verify = ex.Backout({"backups", "verify", newer});
  EXPECT_EQ(verify.exit_code, 1) << Show(verify);
  EXPECT_THAT(verify.out, HasSubstr(newer + "  changed"));
  WriteFile(newer_file, original);

  // Seed 004 option 2: restore the chosen backup (its path from the catalog).
  const ProcessResult restore =
      ex.Backout({"run", "restore-backup.yaml", "--approve", "confirm=RESTORE_MEDIA"},
                 {{"BACKUP_FILE", newer_file}});
  ASSERT_EQ(restore.exit_code, 0) << Show(restore);
  EXPECT_EQ(DumpDatabase(ex.dir() / "data" / "app.db"), DumpDatabase(newer_file));
  const ProcessResult show = ex.Backout({"backups", "show", newer.substr(0, 6)});
  EXPECT_EQ(show.exit_code, 0) << Show(show);
  EXPECT_THAT(show.out, HasSubstr("restored from by run " + RunIdFrom(restore)));

  // A restore that waits for its confirmation: the backups of appdb are not deleted under it.
  const ProcessResult paused = ex.Backout({"run", "restore-backup.yaml", "--again"},
                                          {{"BACKUP_FILE", newer_file}});
  ASSERT_EQ(paused.exit_code, 3) << Show(paused);
  ProcessResult prune = ex.Backout({"backups", "prune", "--keep-last", "1", "--dry-run"});
  EXPECT_EQ(prune.exit_code, 0) << Show(prune);
  EXPECT_THAT(prune.out, HasSubstr("has yet to restore target appdb"));
  EXPECT_THAT(prune.out, HasSubstr("0 backup(s) to delete"));

  const ProcessResult abort = ex.Backout({"abort", RunIdFrom(paused), "--reason", "wrong backup"},
                                         {{"BACKUP_FILE", newer_file}});
  ASSERT_EQ(abort.exit_code, 0) << Show(abort);
  prune = ex.Backout({"backups", "prune", "--keep-last", "1", "--dry-run"});
  EXPECT_EQ(prune.exit_code, 0) << Show(prune);
  EXPECT_THAT(prune.out, HasSubstr("delete  " + older));
  EXPECT_THAT(prune.out, HasSubstr("delete  " + newer));
  EXPECT_THAT(prune.out, HasSubstr("kept: the plan's retention"));  // restore-backup's own
  EXPECT_THAT(prune.out, HasSubstr("dry run: nothing deleted"));
  EXPECT_TRUE(fs::exists(newer_file));
  EXPECT_FALSE(fs::exists(ex.journal() / ".catalog"));

  prune = ex.Backout({"backups", "prune", "--keep-last", "1"});
  EXPECT_EQ(prune.exit_code, 0) << Show(prune);
  EXPECT_FALSE(fs::exists(newer_file));
  backups = BackupsJson(ex);
  ASSERT_EQ(backups.size(), 4u) << backups.dump(2);
  EXPECT_EQ(backups[1]["state"], "deleted");
  EXPECT_EQ(backups[1]["deleted"]["operator"], "tester");
  verify = ex.Backout({"backups", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << Show(verify);
  EXPECT_THAT(verify.out, HasSubstr("2 of 2 backups intact"));
  EXPECT_EQ(ex.Backout({"backups", "verify", older}).exit_code, 1);

  // The catalog stream is no run: status lists the four runs only, and is content.
  const ProcessResult status = ex.Backout({"status", "--json"});
  EXPECT_EQ(status.exit_code, 0) << Show(status);
  EXPECT_EQ(json::parse(status.out).size(), 4u);
  EXPECT_EQ(ex.Backout({"backups", "show", "zz"}).exit_code, 2);
  const ProcessResult typo = ex.Backout({"backups", "lst"});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_THAT(typo.err, HasSubstr("unknown command 'backups lst' (did you mean 'list'?)"));
  EXPECT_EQ(ex.Backout({"backups", "prune", "--keep-within", "30days"}).exit_code, 2);
}

}  // namespace
}  // namespace backout::testing
