// Ed25519 signatures over a run's records that anyone holding the public key can check,
// without the HMAC key of a keyed chain. docs/journal-format.md#signatures has the format,
// docs/audit.md how an auditor uses it.
//
// What is signed. Every record's full encoding (record_codec.h, including its `hash`) is
// folded into a public running digest that needs no secret:
//   P_0 = 32 zero bytes
//   P_i = SHA-256("backout-records-v1" || P_{i-1} || EncodeRecord(record i))
// A signature over seq N signs the message
//   "backout-signature-v1" 0x00 || u32 big-endian length of run_id || run_id ||
//   u64 big-endian N || P_N
// so it covers every byte of records 1..N (their order too), whatever their chain mode, and
// cannot be moved to another run or another seq. The runner signs the head after every
// append batch, in the batch's own RocksDB WriteBatch (journal.h): a batch and its signature
// are durable together or not at all.
//
// A run created while a signing key is set is a signed run: every batch of it is signed, and
// it can only be appended to with the same key (Journal::OpenRun refuses otherwise). Whether a
// run *should* be signed is the checker's assertion: CheckSignatures with a public key
// refuses a run that has no signature through its last record, so stripping the signatures,
// re-chaining, cutting a record out or appending unsigned records all fail there.
//
// Keys never leave their OpenSSL EVP_PKEY: SigningKey cannot print or return the private key.
// Thread safety: keys are immutable; Sign and Verify may be called concurrently.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/sha256.h"
#include "base/status.h"

namespace backout::journal {

struct Record;  // journal/journal.h

using RawPublicKey = std::array<std::uint8_t, 32>;
using SignatureBytes = std::array<std::uint8_t, 64>;

// "ed25519:SHA256:<64 hex digits of SHA-256 of the 32-byte raw public key>": how a key is
// named in messages, exports and reports.
std::string KeyFingerprint(const RawPublicKey& key);

// An Ed25519 public key.
class PublicKey {
 public:
  // A PEM file holding a SubjectPublicKeyInfo ("BEGIN PUBLIC KEY", as written by
  // `openssl pkey -in KEY -pubout`). kNotFound / kIOError if it cannot be read,
  // kInvalidArgument naming the file if it is not an Ed25519 public key.
  static Result<PublicKey> LoadPemFile(const std::filesystem::path& path);
  // The 32 raw bytes (as a signature entry carries them). kInvalidArgument if unusable.
  static Result<PublicKey> FromRaw(const RawPublicKey& raw);

  const RawPublicKey& raw() const { return raw_; }
  std::string fingerprint() const { return KeyFingerprint(raw_); }
  bool Verify(std::string_view message, const SignatureBytes& signature) const;

 private:
  PublicKey(std::shared_ptr<EVP_PKEY> pkey, const RawPublicKey& raw)
      : pkey_(std::move(pkey)), raw_(raw) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  RawPublicKey raw_{};
};

// An Ed25519 private key, for the runner.
class SigningKey {
 public:
  // A PEM file holding a PKCS#8 private key ("BEGIN PRIVATE KEY", as written by
  // `openssl genpkey -algorithm ed25519 -out KEY`). The file is read as a secret
  // (base/secret_env.h ReadSecretFile): kFailedPrecondition if it is not a regular file owned
  // by this user with mode 0600 or stricter, kNotFound / kIOError if it cannot be read;
  // kInvalidArgument naming the file (never its contents) if it is not an Ed25519 private
  // key. An encrypted key is refused (no prompt).
  static Result<SigningKey> LoadPemFile(const std::filesystem::path& path);

  const PublicKey& public_key() const { return public_key_; }
  std::string fingerprint() const { return public_key_.fingerprint(); }
  SignatureBytes Sign(std::string_view message) const;

 private:
  SigningKey(std::shared_ptr<EVP_PKEY> pkey, PublicKey public_key)
      : pkey_(std::move(pkey)), public_key_(std::move(public_key)) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  PublicKey public_key_;
};

// One signature of a run's head at `seq`, as stored and exported.
struct Signature {
  std::uint64_t seq = 0;
  Digest records_digest{};  // P_seq
  RawPublicKey public_key{};
  SignatureBytes signature{};
};

// P_i from P_{i-1} and record i.
Digest NextRecordsDigest(const Digest& previous, const Record& record);
// P_n of `records` (a run from seq 1); P_0 (zero) for none.
Digest RecordsDigest(const std::vector<Record>& records);
// The message a signature over seq `seq` of run `run_id` signs (header comment).
std::string SignedMessage(std::string_view run_id, std::uint64_t seq, const Digest& records_digest);
// The signature of run `run_id`'s head `seq` whose running digest is `records_digest`.
Signature SignHead(const SigningKey& key, std::string_view run_id, std::uint64_t seq,
                   const Digest& records_digest);

// Stored form of a signature (RocksDB value): u8 version = 1, records_digest (32),
// public_key (32), signature (64); the seq is the key's (EncodeSignatureKey).
std::string EncodeSignatureValue(const Signature& signature);
Result<Signature> DecodeSignatureValue(std::string_view value, std::uint64_t seq);
// "signature:" followed by the seq as 8 bytes big-endian. Record keys are exactly 8 bytes, so
// the two key spaces never meet.
std::string EncodeSignatureKey(std::uint64_t seq);
// The seq of a signature key; nullopt for any other key (a record's).
std::optional<std::uint64_t> DecodeSignatureKey(std::string_view key);

// What checking a run's signatures established, for messages and the report.
struct SignatureCheck {
  enum class State {
    kUnsigned,    // no signature, and none was required (no public key given)
    kNotChecked,  // signed, consistent with the key it names, but no public key was given to
                  // say that key is the right one
    kVerified,    // every signature verifies with the given public key, through the last record
  };
  State state = State::kUnsigned;
  std::string fingerprint;             // of the key the run is signed with; "" when unsigned
  std::uint64_t signed_through_seq = 0;  // the last signed seq; 0 when unsigned
  std::size_t signatures = 0;
};
// "unsigned", "not_checked", "verified": the names in `verify --json` and the JSON report.
std::string_view SignatureStateName(SignatureCheck::State state);

// Checks `signatures` of the run `records` (seq 1..n, chain links already checked):
// sorted by seq without duplicates, each seq a record of the run, each records_digest the
// recomputed P_seq, one public key for all, each signature valid, the last one at seq n.
// With `expected` (the auditor's public key), the run must be signed (an unsigned run is
// kCorruption: "not signed ... stripped, or rewritten") by exactly that key. Every failure is
// kCorruption naming the signature's seq and what is wrong.
Result<SignatureCheck> CheckSignatures(const std::vector<Record>& records,
                                       const std::vector<Signature>& signatures,
                                       const PublicKey* expected);

// CheckSignatures one record at a time, for a run read in one pass (Journal::ScanRun): Start
// once, Add each record of run `run_id` in seq order (chain links already checked), then
// Finish. The first failure in signature order is the one CheckSignatures would give, and
// comes from the first call that can see it (Start for the key, Add for a signature's digest,
// Finish for a signature past the end). Holds the signatures and one running digest: memory
// is bounded by the number of signatures, not of records. Not thread-safe.
class SignatureChecker {
 public:
  // `signatures` and `expected` (may be null) must outlive the checker.
  SignatureChecker(std::string run_id, const std::vector<Signature>& signatures,
                   const PublicKey* expected)
      : run_id_(std::move(run_id)), signatures_(signatures), expected_(expected) {}
  Status Start();
  Status Add(const Record& record);
  // `last_seq`: the seq of the last record added (0 for none).
  Result<SignatureCheck> Finish(std::uint64_t last_seq);
  // P_n of the records added so far (computed only while the run has signatures).
  const Digest& records_digest() const { return digest_; }

 private:
  // Checks the next signature's place (order, key) before its digest is compared.
  Status CheckNextPlace(std::uint64_t last_seq) const;
  Status Bad(const Signature& s, std::string_view problem) const;

  std::string run_id_;
  const std::vector<Signature>& signatures_;
  const PublicKey* expected_;
  std::optional<PublicKey> signer_;
  Digest digest_{};
  std::size_t next_signature_ = 0;
  std::uint64_t previous_seq_ = 0;
};

}  // namespace backout::journal
