#include "journal/signing.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "journal/export.h"
#include "journal/journal.h"
#include "journal/record_codec.h"
#include "testing/signing_keys.h"
#include "testing/assert_ok.h"
#include "testing/temp_dir.h"

namespace backout::journal {
namespace {
namespace fs = std::filesystem;

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

class SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    keys_ = testing::WriteEd25519KeyPair(root_, "runner");
    other_keys_ = testing::WriteEd25519KeyPair(root_, "forger");
    Result<SigningKey> signer = SigningKey::LoadPemFile(keys_.private_pem);
    ASSERT_TRUE(signer.ok()) << signer.status().ToString();
    signer_ = std::make_shared<const SigningKey>(std::move(signer).value());
    Result<PublicKey> public_key = PublicKey::LoadPemFile(keys_.public_pem);
    ASSERT_TRUE(public_key.ok()) << public_key.status().ToString();
    public_key_ = std::make_unique<PublicKey>(std::move(public_key).value());
  }

  static std::vector<NewRecord> Batch(int count, const std::string& who = "alice") {
    std::vector<NewRecord> batch;
    for (int n = 1; n <= count; ++n) {
      batch.push_back(NewRecord{.time_us = 1'763'747'481'000'000 + n,
                                .type = "NoteAdded",
                                .operator_name = who,
                                .host = "vm",
                                .payload = fmt::format("{{\"text\":\"n{}\"}}", n)});
    }
    return batch;
  }

  // A run "r1" of three batches (2, 1 and 3 events) in journal `name`, signed by signer_.
  SignedRun MakeSignedRun(const std::string& name, const ChainKey& key = ChainKey()) {
    Journal journal(root_ / name, key, signer_);
    Result<std::unique_ptr<RunWriter>> writer = journal.CreateRun("r1");
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    if (!writer.ok()) return {};
    for (int size : {2, 1, 3}) EXPECT_TRUE((*writer)->Append(Batch(size)).ok());
    writer->reset();
    Result<SignedRun> run = journal.ReadSignedRun("r1");
    EXPECT_TRUE(run.ok()) << run.status().ToString();
    return run.ok() ? *run : SignedRun{};
  }

  const testing::TempDir tmp_;
  const fs::path root_ = tmp_.path();
  testing::KeyFiles keys_, other_keys_;
  std::shared_ptr<const SigningKey> signer_;
  std::unique_ptr<PublicKey> public_key_;
};

TEST_F(SigningTest, SignedMessagesVerifyOnlyUnchangedAndWithTheirKey) {
  EXPECT_EQ(signer_->fingerprint(), public_key_->fingerprint());
  EXPECT_TRUE(signer_->fingerprint().starts_with("ed25519:SHA256:"));
  EXPECT_EQ(signer_->fingerprint().size(), 15u + 64u);
  const SignatureBytes signature = signer_->Sign("message");
  EXPECT_TRUE(public_key_->Verify("message", signature));
  EXPECT_FALSE(public_key_->Verify("messagf", signature));
  ASSERT_OK_AND_ASSIGN(other, PublicKey::LoadPemFile(other_keys_.public_pem));
  EXPECT_FALSE(other.Verify("message", signature));
  // The message binds the run and the seq.
  EXPECT_NE(SignedMessage("r1", 3, Digest{}), SignedMessage("r2", 3, Digest{}));
  EXPECT_NE(SignedMessage("r1", 3, Digest{}), SignedMessage("r1", 4, Digest{}));
  EXPECT_TRUE(SignedMessage("r1", 3, Digest{}).starts_with("backout-signature-v1"));
}

TEST_F(SigningTest, BadKeyFilesAreRefusedWithOneClearError) {
  const Result<SigningKey> missing = SigningKey::LoadPemFile(root_ / "nope.pem");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  ASSERT_EQ(::chmod(keys_.private_pem.c_str(), 0640), 0);
  const Result<SigningKey> open = SigningKey::LoadPemFile(keys_.private_pem);
  EXPECT_EQ(open.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(open.status().message(), "too open")) << open.status().message();

  const fs::path garbage = root_ / "garbage.pem";
  std::ofstream(garbage) << "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
  ASSERT_EQ(::chmod(garbage.c_str(), 0600), 0);
  const Result<SigningKey> not_a_key = SigningKey::LoadPemFile(garbage);
  EXPECT_EQ(not_a_key.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(Contains(not_a_key.status().message(), "not an unencrypted Ed25519 private key"));
  EXPECT_FALSE(Contains(not_a_key.status().message(), "not a key"));  // never the contents

  // A public key is not a private key, and the other way round.
  ASSERT_EQ(::chmod(keys_.public_pem.c_str(), 0600), 0);
  EXPECT_EQ(SigningKey::LoadPemFile(keys_.public_pem).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(PublicKey::LoadPemFile(garbage).status().code(), Code::kInvalidArgument);
}

TEST_F(SigningTest, EveryBatchIsSignedAndTheRunVerifiesWithThePublicKey) {
  const SignedRun run = MakeSignedRun("j");
  ASSERT_EQ(run.records.size(), 6u);
  ASSERT_EQ(run.signatures.size(), 3u);
  EXPECT_EQ(run.signatures[0].seq, 2u);
  EXPECT_EQ(run.signatures[1].seq, 3u);
  EXPECT_EQ(run.signatures[2].seq, 6u);
  ASSERT_OK_AND_ASSIGN(verified, CheckSignatures(run.records, run.signatures, public_key_.get()));
  EXPECT_EQ(verified.state, SignatureCheck::State::kVerified);
  EXPECT_EQ(verified.signed_through_seq, 6u);
  EXPECT_EQ(verified.fingerprint, signer_->fingerprint());
  ASSERT_OK_AND_ASSIGN(unchecked, CheckSignatures(run.records, run.signatures, nullptr));
  EXPECT_EQ(unchecked.state, SignatureCheck::State::kNotChecked);
  // Signatures live in their own key space: ReadRun sees the records only.
  ASSERT_OK_AND_ASSIGN(records, Journal(root_ / "j").ReadRun("r1"));
  EXPECT_EQ(records.size(), 6u);
}

TEST_F(SigningTest, AlteredStrippedUnsignedOrForeignRunsFail) {
  SignedRun run = MakeSignedRun("j");
  // An event altered and the chain recomputed: the chain is fine, the signatures are not.
  std::vector<Record> forged = run.records;
  forged[1].operator_name = "mallory";
  for (std::size_t i = 1; i < forged.size(); ++i) {
    forged[i].prev_hash = forged[i - 1].hash;
    forged[i].hash = ComputeRecordHash(forged[i], ChainKey());
  }
  ASSERT_TRUE(VerifyChain(forged, ChainKey()).ok());
  const Status altered = CheckSignatures(forged, run.signatures, public_key_.get()).status();
  EXPECT_EQ(altered.message(),
            "run r1: signature of event #2: the events it covers are not the ones signed (an "
            "event up to it was altered, removed or reordered)");

  // Stripped: unsigned is fine only when nobody asks for a signature.
  const Status stripped = CheckSignatures(forged, {}, public_key_.get()).status();
  EXPECT_EQ(stripped.code(), Code::kCorruption);
  EXPECT_TRUE(Contains(stripped.message(), "is not signed")) << stripped.message();
  ASSERT_OK_AND_ASSIGN(unsigned_run, CheckSignatures(forged, {}, nullptr));
  EXPECT_EQ(unsigned_run.state, SignatureCheck::State::kUnsigned);

  // Events after the last signature.
  std::vector<Signature> partial(run.signatures.begin(), run.signatures.end() - 1);
  EXPECT_EQ(CheckSignatures(run.records, partial, public_key_.get()).status().message(),
            "run r1: events #4 to #6 are not signed (the last signature is of event #3): they "
            "were appended by someone without the signing key");

  // Another key than the auditor's.
  ASSERT_OK_AND_ASSIGN(other, PublicKey::LoadPemFile(other_keys_.public_pem));
  const Status foreign = CheckSignatures(run.records, run.signatures, &other).status();
  EXPECT_TRUE(Contains(foreign.message(), "is signed with key " + signer_->fingerprint()))
      << foreign.message();

  // A flipped bit in one signature.
  run.signatures[1].signature[5] ^= 1;
  EXPECT_TRUE(Contains(CheckSignatures(run.records, run.signatures, nullptr).status().message(),
                       "signature of event #3: does not verify"));
}

TEST_F(SigningTest, KeyedRunVerifiesFromItsExportWithOnlyThePublicKey) {
  const ChainKey hmac("the-journal-key");
  const SignedRun run = MakeSignedRun("keyed", hmac);
  ASSERT_EQ(run.records.front().chain_mode, ChainMode::kHmacSha256);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(run.records, run.signatures));
  // Without the HMAC key, the default refuses; leaving the HMACs to the signatures accepts.
  EXPECT_TRUE(Contains(ParseSignedExport(text, "x.jsonl", ChainKey()).status().message(),
                       "is keyed"));
  ASSERT_OK_AND_ASSIGN(parsed, ParseSignedExport(text, "x.jsonl", ChainKey(),
                                                 KeyedHashes::kLeaveToSignatures));
  EXPECT_EQ(parsed.records.size(), 6u);
  EXPECT_EQ(parsed.signatures.size(), 3u);
  ASSERT_OK_AND_ASSIGN(check, CheckSignatures(parsed.records, parsed.signatures,
                                              public_key_.get()));
  EXPECT_EQ(check.state, SignatureCheck::State::kVerified);

  // A keyed record edited (its HMAC cannot be checked here): the signatures catch it.
  std::string edited = text;
  const std::size_t at = edited.find("\"operator\":\"alice\"");
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 18, "\"operator\":\"bobby\"");
  ASSERT_OK_AND_ASSIGN(forged, ParseSignedExport(edited, "x.jsonl", ChainKey(),
                                                 KeyedHashes::kLeaveToSignatures));
  EXPECT_EQ(CheckSignatures(forged.records, forged.signatures, public_key_.get()).status().code(),
            Code::kCorruption);
}

TEST_F(SigningTest, SignatureLinesMustFollowTheirEventAndNameTheirKey) {
  const SignedRun run = MakeSignedRun("j");
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(run.records, run.signatures));
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_TRUE(lines[2].starts_with("{\"signature\":{\"seq\":2,")) << lines[2];
  // Moved one line up: before the event it signs.
  std::swap(lines[1], lines[2]);
  std::string moved;
  for (const std::string& line : lines) moved += line + "\n";
  EXPECT_EQ(ParseSignedExport(moved, "x.jsonl", ChainKey()).status().message(),
            "x.jsonl:2: signature of event #2: not right after the event it signs (lines were "
            "moved)");
  // A fingerprint that is not the public key's.
  std::swap(lines[1], lines[2]);
  const std::size_t key_at = lines[2].find("ed25519:SHA256:") + 15;
  lines[2][key_at] = lines[2][key_at] == '0' ? '1' : '0';
  std::string renamed;
  for (const std::string& line : lines) renamed += line + "\n";
  EXPECT_TRUE(Contains(ParseSignedExport(renamed, "x.jsonl", ChainKey()).status().message(),
                       "x.jsonl:3: signature of event #2: field 'key' is"));
}

TEST_F(SigningTest, ASignedRunIsAppendedToOnlyWithItsKey) {
  MakeSignedRun("j");
  const Result<std::unique_ptr<RunWriter>> unsigned_writer = Journal(root_ / "j").OpenRun("r1");
  EXPECT_EQ(unsigned_writer.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(unsigned_writer.status().message(),
                       "run r1 is signed (key " + signer_->fingerprint() +
                           "): set BACKOUT_SIGNING_KEY_FILE"))
      << unsigned_writer.status().message();
  ASSERT_OK_AND_ASSIGN(forger, SigningKey::LoadPemFile(other_keys_.private_pem));
  const Result<std::unique_ptr<RunWriter>> other_writer =
      Journal(root_ / "j", ChainKey(), std::make_shared<const SigningKey>(forger)).OpenRun("r1");
  EXPECT_EQ(other_writer.status().code(), Code::kFailedPrecondition);
  {
    ASSERT_OK_AND_ASSIGN(writer, Journal(root_ / "j", ChainKey(), signer_).OpenRun("r1"));
    ASSERT_TRUE(writer->Append(Batch(2)).ok());
  }
  ASSERT_OK_AND_ASSIGN(run, Journal(root_ / "j").ReadSignedRun("r1"));
  ASSERT_OK_AND_ASSIGN(check, CheckSignatures(run.records, run.signatures, public_key_.get()));
  EXPECT_EQ(check.signed_through_seq, 8u);

  // An import keeps the signatures (and checks them).
  ASSERT_TRUE(Journal(root_ / "other").ImportRun(run).ok());
  ASSERT_OK_AND_ASSIGN(imported, Journal(root_ / "other").ReadSignedRun("r1"));
  EXPECT_EQ(imported.signatures.size(), run.signatures.size());
  run.signatures.back().signature[0] ^= 1;
  EXPECT_EQ(Journal(root_ / "third").ImportRun(run).code(), Code::kCorruption);
}

}  // namespace
}  // namespace backout::journal
