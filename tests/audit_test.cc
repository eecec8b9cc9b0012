// The auditor's checks of issue 15, end to end with the real binary: weeks later, on another
// machine, with only the export of a run made with BACKOUT_JOURNAL_KEY and a signing key, the
// JSON report, and the signing key's public half (no BACKOUT_JOURNAL_KEY). Every forgery
// detects as exit 4 naming what failed: an operator renamed, an approval deleted (each
// re-chained as plain SHA-256, with the signatures kept, stripped, or made with the forger's
// own key), the tail dropped (against the report's head), lines swapped. The genuine export
// verifies and replays. docs/audit.md.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "journal/export.h"
#include "journal/record_codec.h"
#include "testing/signing_keys.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

constexpr int kRows = 200;
constexpr char kJournalKey[] = "audit-test-journal-key";


// A finished, keyed and signed run of the media-rollback example, its export and its JSON
// report, as the runner's machine writes them.
class Audit : public ::testing::Test {
 protected:
  void SetUp() override {
    ex_ = std::make_unique<Example>("media-rollback", kRows);
    keys_ = WriteEd25519KeyPair(ex_->dir(), "runner");
    forger_keys_ = WriteEd25519KeyPair(ex_->dir(), "forger");
    const ProcessResult run = Runner({"run", "plan.yaml", "--approve=confirm=ROLLBACK_MEDIA"});
    ASSERT_EQ(run.exit_code, 0) << Show(run);
    run_id_ = RunIdFrom(run);
    const ProcessResult exported = Runner({"export", run_id_});
    ASSERT_EQ(exported.exit_code, 0) << Show(exported);
    export_text_ = exported.out;
    report_ = ex_->dir() / "report.json";
    const ProcessResult report =
        Runner({"report", run_id_, "--format", "json", "-o", report_.string()});
    ASSERT_EQ(report.exit_code, 0) << Show(report);
  }

  // On the runner's machine: the journal key and the signing key.
  ProcessResult Runner(const std::vector<std::string>& args) const {
    return ex_->Backout(args, {{"APP_DRAIN_SECONDS", "0.05"},
                               {"BACKOUT_JOURNAL_KEY", kJournalKey},
                               {"BACKOUT_SIGNING_KEY_FILE", keys_.private_pem.string()}});
  }

  // On the auditor's machine: no secret at all.
  ProcessResult Auditor(const std::vector<std::string>& args) const {
    return ex_->Backout(args, {{"BACKOUT_JOURNAL_KEY", ""}, {"BACKOUT_SIGNING_KEY_FILE", ""}});
  }

  // `verify --file` of `text` with the public key and the report.
  ProcessResult VerifyExport(const std::string& text, const std::string& name) const {
    const fs::path file = ex_->dir() / (name + ".jsonl");
    WriteFile(file, text);
    return Auditor({"verify", "--file", file.string(), "--public-key",
                    keys_.public_pem.string(), "--report", report_.string()});
  }

  // The export's records and signatures (read with the key: the forger may be an insider).
  journal::SignedRun Parsed() const {
    Result<journal::SignedRun> run =
        journal::ParseSignedExport(export_text_, "export", journal::ChainKey(kJournalKey));
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : journal::SignedRun{};
  }

  // `records` renumbered and re-chained as plain SHA-256, with `signatures` (whichever still
  // name a record) or signed afresh by `resign` (the forger's key).
  static std::string Rechained(std::vector<journal::Record> records,
                               const std::vector<journal::Signature>& signatures,
                               const journal::SigningKey* resign = nullptr) {
    for (std::size_t i = 0; i < records.size(); ++i) {
      records[i].seq = i + 1;
      records[i].chain_mode = journal::ChainMode::kSha256;
      records[i].prev_hash = i == 0 ? Digest{} : records[i - 1].hash;
      records[i].hash = journal::ComputeRecordHash(records[i], journal::ChainKey());
    }
    std::vector<journal::Signature> kept;
    if (resign != nullptr) {
      kept.push_back(journal::SignHead(*resign, records.back().run_id, records.back().seq,
                                       journal::RecordsDigest(records)));
    } else {
      std::copy_if(signatures.begin(), signatures.end(), std::back_inserter(kept),
                   [&](const journal::Signature& s) { return s.seq <= records.size(); });
    }
    Result<std::string> text = journal::ExportRecords(records, kept);
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return text.ok() ? *text : "";
  }

  std::unique_ptr<Example> ex_;
  KeyFiles keys_, forger_keys_;
  std::string run_id_;
  std::string export_text_;
  fs::path report_;
};

TEST_F(Audit, GenuineKeyedExportVerifiesAndReplaysWithOnlyThePublicKey) {
  const std::vector<std::string> lines = SplitLines(export_text_);
  const auto signature_lines = std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
    return l.starts_with("{\"signature\":");
  });
  EXPECT_GT(signature_lines, 5);
  const ProcessResult verified = VerifyExport(export_text_, "genuine");
  ASSERT_EQ(verified.exit_code, 0) << Show(verified);
  EXPECT_TRUE(Contains(verified.out, "keyed hash chain (HMAC-SHA256) intact (HMACs not checked "
                                     "without BACKOUT_JOURNAL_KEY"))
      << verified.out;
  EXPECT_TRUE(Contains(verified.out, "verified with key ed25519:SHA256:")) << verified.out;
  EXPECT_TRUE(Contains(verified.out, "head hash is the expected one")) << verified.out;

  const fs::path file = ex_->dir() / "genuine.jsonl";
  const ProcessResult replayed =
      Auditor({"replay", "--file", file.string(), "--public-key", keys_.public_pem.string()});
  EXPECT_EQ(replayed.exit_code, 0) << Show(replayed);
  // Without the public key, the keyed export still needs the journal key.
  EXPECT_EQ(Auditor({"verify", "--file", file.string()}).exit_code, 4);

  // The runner's own journal: verify RUN with the public key, and import elsewhere with it.
  const ProcessResult local =
      Runner({"verify", run_id_, "--public-key", keys_.public_pem.string()});
  EXPECT_EQ(local.exit_code, 0) << Show(local);
  const ProcessResult imported =
      Runner({"import", file.string(), "--public-key", keys_.public_pem.string(), "--journal",
              (ex_->dir() / "other").string()});
  EXPECT_EQ(imported.exit_code, 0) << Show(imported);
  EXPECT_TRUE(Contains(imported.out, "verified with key")) << imported.out;
}

TEST_F(Audit, RenamedOperatorRechainedPlainFails) {
  journal::SignedRun run = Parsed();
  for (journal::Record& r : run.records) {
    if (r.operator_name == "tester") r.operator_name = "bob";
  }
  const ProcessResult kept = VerifyExport(Rechained(run.records, run.signatures), "renamed");
  EXPECT_EQ(kept.exit_code, 4) << Show(kept);
  EXPECT_TRUE(Contains(kept.err, "signature of event #1: the events it covers are not the ones "
                                 "signed"))
      << kept.err;
  const ProcessResult stripped = VerifyExport(Rechained(run.records, {}), "renamed-stripped");
  EXPECT_EQ(stripped.exit_code, 4) << Show(stripped);
  EXPECT_TRUE(Contains(stripped.err, "is not signed, but a public key")) << stripped.err;
}

TEST_F(Audit, DeletedApprovalRechainedFailsEvenWhenResigned) {
  journal::SignedRun run = Parsed();
  const auto approval =
      std::find_if(run.records.begin(), run.records.end(),
                   [](const journal::Record& r) { return r.type == "ApprovalGranted"; });
  ASSERT_NE(approval, run.records.end());
  run.records.erase(approval);
  const ProcessResult stripped = VerifyExport(Rechained(run.records, {}), "no-approval");
  EXPECT_EQ(stripped.exit_code, 4) << Show(stripped);
  EXPECT_TRUE(Contains(stripped.err, "is not signed")) << stripped.err;

  Result<journal::SigningKey> forger = journal::SigningKey::LoadPemFile(forger_keys_.private_pem);
  ASSERT_TRUE(forger.ok()) << forger.status().ToString();
  const ProcessResult resigned =
      VerifyExport(Rechained(run.records, {}, &*forger), "no-approval-resigned");
  EXPECT_EQ(resigned.exit_code, 4) << Show(resigned);
  EXPECT_TRUE(Contains(resigned.err, "is signed with key " + forger->fingerprint() +
                                         ", not with the given public key"))
      << resigned.err;
}

TEST_F(Audit, DroppedTailFailsAgainstTheReportsHead) {
  // Cut right after a signature line in the middle: what is left is a well-signed prefix.
  std::vector<std::string> lines = SplitLines(export_text_);
  std::size_t cut = lines.size() / 2;
  while (!lines[cut].starts_with("{\"signature\":")) ++cut;
  ASSERT_LT(cut + 1, lines.size());
  lines.resize(cut + 1);
  const ProcessResult verified = VerifyExport(JoinLines(lines), "cut");
  EXPECT_EQ(verified.exit_code, 4) << Show(verified);
  EXPECT_TRUE(Contains(verified.err, "does not match the expected")) << verified.err;
  EXPECT_TRUE(Contains(verified.out, "verified with key")) << verified.out;  // the prefix is
}

TEST_F(Audit, SwappedLinesFail) {
  std::vector<std::string> lines = SplitLines(export_text_);
  ASSERT_GT(lines.size(), 8u);
  // Two record lines, then a record and its signature.
  std::vector<std::string> records_swapped = lines;
  std::swap(records_swapped[3], records_swapped[5]);
  EXPECT_EQ(VerifyExport(JoinLines(records_swapped), "swapped").exit_code, 4);
  std::vector<std::string> signature_moved = lines;
  std::swap(signature_moved[0], signature_moved[1]);
  const ProcessResult moved = VerifyExport(JoinLines(signature_moved), "moved");
  EXPECT_EQ(moved.exit_code, 4) << Show(moved);
  EXPECT_TRUE(Contains(moved.err, "not right after the event it signs")) << moved.err;
}

TEST_F(Audit, AnUnsignedRunFailsWithThePublicKey) {
  const ProcessResult run = ex_->Backout({"run", "plan.yaml", "--again",
                                          "--approve=confirm=ROLLBACK_MEDIA", "--journal",
                                          (ex_->dir() / "unsigned").string()},
                                         {{"APP_DRAIN_SECONDS", "0.05"},
                                          {"BACKOUT_JOURNAL_KEY", ""},
                                          {"BACKOUT_SIGNING_KEY_FILE", ""}});
  // The database is rolled back already, so this run fails at its baseline: still a whole,
  // unsigned run.
  ASSERT_EQ(run.exit_code, 1) << Show(run);
  const std::string id = SplitLines(run.out).front();
  const ProcessResult verified =
      Auditor({"verify", id, "--journal", (ex_->dir() / "unsigned").string(), "--public-key",
               keys_.public_pem.string()});
  EXPECT_EQ(verified.exit_code, 4) << Show(verified);
  EXPECT_TRUE(Contains(verified.err, "is not signed")) << verified.err;
}

TEST_F(Audit, BadKeyFilesAreUsageErrors) {
  const ProcessResult bad_public =
      Auditor({"verify", run_id_, "--public-key", (ex_->dir() / "nope.pub").string()});
  EXPECT_EQ(bad_public.exit_code, 2) << Show(bad_public);
  EXPECT_TRUE(Contains(bad_public.err, "--public-key")) << bad_public.err;
  fs::permissions(keys_.private_pem, fs::perms::group_read, fs::perm_options::add);
  const ProcessResult open = Runner({"status"});
  EXPECT_EQ(open.exit_code, 2) << Show(open);
  EXPECT_TRUE(Contains(open.err, "BACKOUT_SIGNING_KEY_FILE")) << open.err;
  // A resume of the signed run without the key is refused.
  const ProcessResult unsigned_note = ex_->Backout(
      {"note", run_id_, "late"},
      {{"BACKOUT_JOURNAL_KEY", kJournalKey}, {"BACKOUT_SIGNING_KEY_FILE", ""}});
  EXPECT_EQ(unsigned_note.exit_code, 2) << Show(unsigned_note);
  EXPECT_TRUE(Contains(unsigned_note.err, "is signed (key ed25519:SHA256:")) << unsigned_note.err;
}

}  // namespace
}  // namespace backout::testing
