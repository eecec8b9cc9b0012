#include "journal/signing.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cstring>

#include "base/file_util.h"
#include "base/secret_env.h"
#include "journal/journal.h"
#include "journal/record_codec.h"

namespace backout::journal {
namespace {

constexpr std::string_view kRecordsDomain = "backout-records-v1";
constexpr std::string_view kSignatureDomain = "backout-signature-v1";
constexpr std::string_view kSignatureKeyPrefix = "signature:";
constexpr std::uint8_t kSignatureFormatVersion = 1;

void PutBigEndian(std::string* out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t LoadU64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

template <std::size_t N>
std::string_view View(const std::array<std::uint8_t, N>& bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), N);
}

template <std::size_t N>
void CopyInto(std::string_view from, std::array<std::uint8_t, N>* to) {
  std::memcpy(to->data(), from.data(), N);
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

// The raw public key of an Ed25519 key; nullopt for any other kind of key.
std::optional<RawPublicKey> RawEd25519PublicKey(EVP_PKEY* pkey) {
  if (pkey == nullptr || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) return std::nullopt;
  RawPublicKey raw{};
  std::size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey, raw.data(), &length) != 1 || length != raw.size()) {
    return std::nullopt;
  }
  return raw;
}

// PEM_read_bio_* would prompt on the terminal for the pass phrase of an encrypted key.
int RefusePassphrase(char*, int, int, void*) { return 0; }

std::unique_ptr<BIO, decltype(&BIO_free)> MemoryBio(const std::string& text) {
  return {BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free};
}

}  // namespace

std::string KeyFingerprint(const RawPublicKey& key) {
  return "ed25519:SHA256:" + Sha256Hex(View(key));
}

Result<PublicKey> PublicKey::LoadPemFile(const std::filesystem::path& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  auto bio = MemoryBio(*text);
  std::shared_ptr<EVP_PKEY> pkey =
      Own(PEM_read_bio_PUBKEY(bio.get(), nullptr, RefusePassphrase, nullptr));
  const std::optional<RawPublicKey> raw = RawEd25519PublicKey(pkey.get());
  if (!raw) {
    return Status::InvalidArgument(fmt::format(
        "{}: not an Ed25519 public key in PEM (write one with `openssl pkey -in KEY -pubout "
        "-out {}`)", path.string(), path.filename().string()));
  }
  return PublicKey(std::move(pkey), *raw);
}

Result<PublicKey> PublicKey::FromRaw(const RawPublicKey& raw) {
  std::shared_ptr<EVP_PKEY> pkey =
      Own(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw.data(), raw.size()));
  if (pkey == nullptr) return Status::InvalidArgument("not a usable Ed25519 public key");
  return PublicKey(std::move(pkey), raw);
}

bool PublicKey::Verify(std::string_view message, const SignatureBytes& signature) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return ctx != nullptr &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

Result<SigningKey> SigningKey::LoadPemFile(const std::filesystem::path& path) {
  Result<std::string> text = ReadSecretFile(path);
  if (!text.ok()) return text.status();
  std::shared_ptr<EVP_PKEY> pkey;
  {
    auto bio = MemoryBio(*text);
    pkey = Own(PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassphrase, nullptr));
  }
  OPENSSL_cleanse(text->data(), text->size());
  const std::optional<RawPublicKey> raw = RawEd25519PublicKey(pkey.get());
  if (!raw) {
    return Status::InvalidArgument(fmt::format(
        "{}: not an unencrypted Ed25519 private key in PEM (make one with `openssl genpkey "
        "-algorithm ed25519 -out {}`)", path.string(), path.filename().string()));
  }
  Result<PublicKey> public_key = PublicKey::FromRaw(*raw);
  if (!public_key.ok()) return public_key.status().WithContext(path.string());
  return SigningKey(std::move(pkey), std::move(public_key).value());
}

SignatureBytes SigningKey::Sign(std::string_view message) const {
  SignatureBytes signature{};
  std::size_t length = signature.size();
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  // Ed25519 signing with a loaded key fails only when memory runs out; an all-zero signature
  // then fails every check, which is where such a failure belongs.
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), signature.data(), &length,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    signature.fill(0);
  }
  return signature;
}

Digest NextRecordsDigest(const Digest& previous, const Record& record) {
  Sha256Stream stream;
  stream.Update(kRecordsDomain);
  stream.Update(View(previous));
  stream.Update(EncodeRecord(record));
  return stream.Finish();
}

Digest RecordsDigest(const std::vector<Record>& records) {
  Digest digest{};
  for (const Record& r : records) digest = NextRecordsDigest(digest, r);
  return digest;
}

std::string SignedMessage(std::string_view run_id, std::uint64_t seq,
                          const Digest& records_digest) {
  std::string message(kSignatureDomain);
  message.push_back('\0');
  PutBigEndian(&message, run_id.size(), 4);
  message.append(run_id);
  PutBigEndian(&message, seq, 8);
  message.append(View(records_digest));
  return message;
}

Signature SignHead(const SigningKey& key, std::string_view run_id, std::uint64_t seq,
                   const Digest& records_digest) {
  return Signature{.seq = seq,
                   .records_digest = records_digest,
                   .public_key = key.public_key().raw(),
                   .signature = key.Sign(SignedMessage(run_id, seq, records_digest))};
}

std::string EncodeSignatureValue(const Signature& s) {
  std::string out(1, static_cast<char>(kSignatureFormatVersion));
  out.append(View(s.records_digest));
  out.append(View(s.public_key));
  out.append(View(s.signature));
  return out;
}

Result<Signature> DecodeSignatureValue(std::string_view value, std::uint64_t seq) {
  constexpr std::size_t kBytes = 1 + 32 + 32 + 64;
  if (value.size() != kBytes || static_cast<std::uint8_t>(value[0]) != kSignatureFormatVersion) {
    return Status::Corruption(fmt::format(
        "signature of event #{}: malformed ({} bytes, version {}; expected {} bytes, version {})",
        seq, value.size(), value.empty() ? 0 : static_cast<std::uint8_t>(value[0]), kBytes,
        kSignatureFormatVersion));
  }
  Signature s{.seq = seq};
  CopyInto(value.substr(1, 32), &s.records_digest);
  CopyInto(value.substr(33, 32), &s.public_key);
  CopyInto(value.substr(65, 64), &s.signature);
  return s;
}

std::string EncodeSignatureKey(std::uint64_t seq) {
  std::string key(kSignatureKeyPrefix);
  PutBigEndian(&key, seq, 8);
  return key;
}

std::optional<std::uint64_t> DecodeSignatureKey(std::string_view key) {
  if (key.size() != kSignatureKeyPrefix.size() + 8 || !key.starts_with(kSignatureKeyPrefix)) {
    return std::nullopt;
  }
  return LoadU64(key.substr(kSignatureKeyPrefix.size()));
}

std::string_view SignatureStateName(SignatureCheck::State state) {
  switch (state) {
    case SignatureCheck::State::kUnsigned: return "unsigned";
    case SignatureCheck::State::kNotChecked: return "not_checked";
    case SignatureCheck::State::kVerified: return "verified";
  }
  return "unknown";
}

Result<SignatureCheck> CheckSignatures(const std::vector<Record>& records,
                                       const std::vector<Signature>& signatures,
                                       const PublicKey* expected) {
  SignatureChecker checker(records.empty() ? std::string() : records.front().run_id, signatures,
                           expected);
  BACKOUT_RETURN_IF_ERROR(checker.Start());
  for (const Record& record : records) BACKOUT_RETURN_IF_ERROR(checker.Add(record));
  return checker.Finish(records.empty() ? 0 : records.back().seq);
}

Status SignatureChecker::Start() {
  if (signatures_.empty()) {
    if (expected_ == nullptr) return Status::Ok();
    return Status::Corruption(fmt::format(
        "run {} is not signed, but a public key ({}) was given: its signatures were stripped, "
        "or it was rewritten (re-chained) by someone without the signing key, or it was run "
        "without BACKOUT_SIGNING_KEY_FILE",
        run_id_, expected_->fingerprint()));
  }
  const RawPublicKey& key_raw = signatures_.front().public_key;
  Result<PublicKey> signer = PublicKey::FromRaw(key_raw);
  if (!signer.ok()) {
    return Status::Corruption(fmt::format("run {}: signature of event #{}: {}", run_id_,
                                          signatures_.front().seq, signer.status().message()));
  }
  if (expected_ != nullptr && expected_->raw() != key_raw) {
    return Status::Corruption(fmt::format(
        "run {} is signed with key {}, not with the given public key {}: re-signed by someone "
        "else, or the wrong public key",
        run_id_, KeyFingerprint(key_raw), expected_->fingerprint()));
  }
  signer_ = std::move(signer).value();
  return Status::Ok();
}

Status SignatureChecker::Bad(const Signature& s, std::string_view problem) const {
  return Status::Corruption(
      fmt::format("run {}: signature of event #{}: {}", run_id_, s.seq, problem));
}

Status SignatureChecker::CheckNextPlace(std::uint64_t last_seq) const {
  const Signature& s = signatures_[next_signature_];
  const RawPublicKey& key_raw = signatures_.front().public_key;
  if (s.seq <= previous_seq_) return Bad(s, "out of order or repeated");
  if (s.seq > last_seq) return Bad(s, fmt::format("the run has only {} events", last_seq));
  if (s.public_key != key_raw) {
    return Bad(s, fmt::format("made with key {}, the run's other signatures with {}",
                              KeyFingerprint(s.public_key), KeyFingerprint(key_raw)));
  }
  return Status::Ok();
}

Status SignatureChecker::Add(const Record& record) {
  if (signatures_.empty()) return Status::Ok();
  digest_ = NextRecordsDigest(digest_, record);
  // Signatures are checked in their own order; the next one is due once its record is here
  // (one out of order is refused before its record could be awaited forever).
  while (next_signature_ < signatures_.size() &&
         (signatures_[next_signature_].seq <= record.seq)) {
    const Signature& s = signatures_[next_signature_];
    BACKOUT_RETURN_IF_ERROR(CheckNextPlace(record.seq));
    if (s.records_digest != digest_) {
      return Bad(s, "the events it covers are not the ones signed (an event up to it was "
                    "altered, removed or reordered)");
    }
    if (!signer_->Verify(SignedMessage(run_id_, s.seq, digest_), s.signature)) {
      return Bad(s, fmt::format("does not verify with key {}", KeyFingerprint(s.public_key)));
    }
    previous_seq_ = s.seq;
    ++next_signature_;
  }
  return Status::Ok();
}

Result<SignatureCheck> SignatureChecker::Finish(std::uint64_t last_seq) {
  if (signatures_.empty()) return SignatureCheck{};
  // A signature still due names an event past the run's end (or is out of order).
  if (next_signature_ < signatures_.size()) BACKOUT_RETURN_IF_ERROR(CheckNextPlace(last_seq));
  if (previous_seq_ != last_seq) {
    return Status::Corruption(fmt::format(
        "run {}: events #{} to #{} are not signed (the last signature is of event #{}): they "
        "were appended by someone without the signing key",
        run_id_, previous_seq_ + 1, last_seq, previous_seq_));
  }
  return SignatureCheck{
      .state = expected_ != nullptr ? SignatureCheck::State::kVerified
                                    : SignatureCheck::State::kNotChecked,
      .fingerprint = KeyFingerprint(signatures_.front().public_key),
      .signed_through_seq = previous_seq_,
      .signatures = signatures_.size()};
}

}  // namespace backout::journal
