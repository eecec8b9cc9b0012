#include "journal/record_codec.h"

#include <bit>
#include <cassert>
#include <cstring>
#include <optional>
#include <type_traits>

namespace backout::journal {
namespace {

void PutU64(std::string* out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutU32(std::string* out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

void PutString(std::string* out, std::string_view s) {
  assert(s.size() <= kMaxFieldBytes);
  PutU32(out, static_cast<std::uint32_t>(s.size()));
  out->append(s);
}

void PutDigest(std::string* out, const Digest& d) {
  out->append(reinterpret_cast<const char*>(d.data()), d.size());
}

// Big-endian unsigned integer from the first `n` bytes of `bytes` (4 or 8): one load and a
// byte swap, for every record's every number.
template <std::size_t n>
std::uint64_t LoadBigEndian(std::string_view bytes) {
  static_assert(n == 4 || n == 8);
  std::conditional_t<n == 4, std::uint32_t, std::uint64_t> v;
  std::memcpy(&v, bytes.data(), n);
  if constexpr (std::endian::native == std::endian::little) {
    if constexpr (n == 4) {
      v = __builtin_bswap32(v);
    } else {
      v = __builtin_bswap64(v);
    }
  }
  return v;
}

// Everything before the hash field: the bytes the hash covers.
std::string EncodeHashedPart(const Record& r) {
  assert(r.format_version >= kOldestRecordFormatVersion &&
         r.format_version <= kCurrentRecordFormatVersion);
  const bool has_os_user = r.format_version >= kOsUserFormatVersion;
  assert(has_os_user || (r.os_uid == OsUser::kUnknownUid && r.os_user.empty()));
  std::string out;
  out.reserve(1 + 1 + 8 + 8 + 7 * 4 + r.run_id.size() + r.type.size() + r.operator_name.size() +
              r.host.size() + r.os_user.size() + r.payload.size() + 2 * sizeof(Digest));
  out.push_back(static_cast<char>(r.format_version));
  out.push_back(static_cast<char>(r.chain_mode));
  PutU64(&out, r.seq);
  PutU64(&out, static_cast<std::uint64_t>(r.time_us));
  PutString(&out, r.run_id);
  PutString(&out, r.type);
  PutString(&out, r.operator_name);
  PutString(&out, r.host);
  if (has_os_user) {
    PutU32(&out, r.os_uid);
    PutString(&out, r.os_user);
  }
  PutString(&out, r.payload);
  PutDigest(&out, r.prev_hash);
  return out;
}

// Sequential reader over one value. Each Read* returns false once the value is exhausted
// or malformed; status() then says why, naming the field and offset.
class FieldReader {
 public:
  FieldReader(std::string_view bytes, std::uint64_t seq) : bytes_(bytes), seq_(seq) {}

  bool ReadU8(std::string_view field, std::uint8_t* out) {
    std::string_view b;
    if (!Take(1, "", field, &b)) return false;
    *out = static_cast<std::uint8_t>(b[0]);
    return true;
  }

  bool ReadU32(std::string_view field, std::uint32_t* out) {
    std::string_view b;
    if (!Take(4, "", field, &b)) return false;
    *out = static_cast<std::uint32_t>(LoadBigEndian<4>(b));
    return true;
  }

  bool ReadU64(std::string_view field, std::uint64_t* out) {
    std::string_view b;
    if (!Take(8, "", field, &b)) return false;
    *out = LoadBigEndian<8>(b);
    return true;
  }

  bool ReadI64(std::string_view field, std::int64_t* out) {
    std::uint64_t u = 0;
    if (!ReadU64(field, &u)) return false;
    *out = static_cast<std::int64_t>(u);
    return true;
  }

  bool ReadString(std::string_view field, std::string* out) {
    std::string_view b;
    const std::size_t length_offset = offset_;
    if (!Take(4, "the length of ", field, &b)) return false;
    const std::uint64_t n = LoadBigEndian<4>(b);
    if (n > kMaxFieldBytes) {
      status_ = EventCorruption(seq_, "field '{}' claims {} bytes (length at offset {}), over the "
                                "{} MiB limit", field, n, length_offset, kMaxFieldBytes >> 20);
      return false;
    }
    if (!Take(static_cast<std::size_t>(n), "", field, &b)) return false;
    out->assign(b);
    return true;
  }

  bool ReadDigest(std::string_view field, Digest* out) {
    std::string_view b;
    if (!Take(out->size(), "", field, &b)) return false;
    std::memcpy(out->data(), b.data(), out->size());
    return true;
  }

  std::size_t remaining() const { return bytes_.size() - offset_; }
  const Status& status() const { return status_; }

 private:
  // The next `n` bytes; `part` and `field` describe them if they are missing.
  // (Inlined in every Read*: what is said of missing bytes is kept out of its way.)
  bool Take(std::size_t n, std::string_view part, std::string_view field, std::string_view* out) {
    if (remaining() < n) [[unlikely]] return Missing(n, part, field);
    *out = std::string_view(bytes_.data() + offset_, n);
    offset_ += n;
    return true;
  }

  [[gnu::cold, gnu::noinline]] bool Missing(std::size_t n, std::string_view part,
                                            std::string_view field) {
    status_ = EventCorruption(seq_, "record truncated: need {} byte{} for {}'{}' at offset {}, "
                              "have {}", n, n == 1 ? "" : "s", part, field, offset_, remaining());
    return false;
  }

  std::string_view bytes_;
  std::uint64_t seq_;
  std::size_t offset_ = 0;
  Status status_;
};

// The chain mode named by the byte `b`, or nullopt for a byte no mode has.
std::optional<ChainMode> ChainModeFromByte(std::uint8_t b) {
  switch (static_cast<ChainMode>(b)) {
    case ChainMode::kSha256:
    case ChainMode::kHmacSha256: return static_cast<ChainMode>(b);
  }
  return std::nullopt;
}

}  // namespace

std::string EncodeKey(std::uint64_t seq) {
  std::string key;
  key.reserve(kKeyBytes);
  PutU64(&key, seq);
  return key;
}

Result<std::uint64_t> DecodeKey(std::string_view key) {
  if (key.size() != kKeyBytes) {
    std::string hex;
    for (char c : key) hex += fmt::format("{:02x}", static_cast<std::uint8_t>(c));
    return Status::Corruption(fmt::format("malformed journal key '{}': {} bytes, expected {}",
                                          hex, key.size(), kKeyBytes));
  }
  return LoadBigEndian<kKeyBytes>(key);
}

std::string EncodeRecord(const Record& record) {
  std::string out = EncodeHashedPart(record);
  PutDigest(&out, record.hash);
  return out;
}

namespace {

// The hash of `hashed`, the bytes of a record's encoding that its hash covers, in `mode`.
Digest HashOf(std::string_view hashed, ChainMode mode, const ChainKey& key) {
  switch (mode) {
    case ChainMode::kSha256: return Sha256(hashed);
    case ChainMode::kHmacSha256: return key.Mac(hashed);
  }
  assert(false && "DecodeRecord admits only known chain modes");
  return Digest{};
}

// VerifyRecordHash, given the bytes the hash covers: the stored ones when decoding (the
// encoding is canonical, so they equal a re-encoding, which the hot read path then saves).
Status VerifyHashOf(const Record& record, std::string_view hashed, const ChainKey& key) {
  const bool keyed = record.chain_mode == ChainMode::kHmacSha256;
  if (keyed && key.empty()) {
    return EventCorruption(record.seq, "run {} is keyed (HMAC-SHA256 chain): set "
                           "BACKOUT_JOURNAL_KEY to verify it", record.run_id);
  }
  const Digest computed = HashOf(hashed, record.chain_mode, key);
  if (computed == record.hash) return Status::Ok();
  return EventCorruption(record.seq, "hash mismatch: {} (stored {}, computed {})",
                         keyed ? "record content was altered, or BACKOUT_JOURNAL_KEY is not "
                                 "this run's key (wrong key?)"
                               : "record content was altered",
                         ToHex(record.hash), ToHex(computed));
}

}  // namespace

Digest ComputeRecordHash(const Record& record, const ChainKey& key) {
  return HashOf(EncodeHashedPart(record), record.chain_mode, key);
}

std::string EncodeRecordWithHash(Record* record, const ChainKey& key) {
  std::string out = EncodeHashedPart(*record);
  record->hash = HashOf(out, record->chain_mode, key);
  PutDigest(&out, record->hash);
  return out;
}

Status VerifyRecordHash(const Record& record, const ChainKey& key) {
  return VerifyHashOf(record, EncodeHashedPart(record), key);
}

Status CheckChainLink(const Record* prev, const Record& r) {
  const std::uint64_t expected_seq = prev == nullptr ? 1 : prev->seq + 1;
  if (r.seq != expected_seq) {
    return EventCorruption(r.seq, "chain broken: expected event #{} here (events were deleted "
                           "or reordered)", expected_seq);
  }
  if (prev == nullptr) {
    if (r.prev_hash != Digest{}) {
      return EventCorruption(r.seq, "chain broken: prev_hash of the first event is not zero");
    }
    return Status::Ok();
  }
  if (r.run_id != prev->run_id) {
    return EventCorruption(r.seq, "record belongs to run '{}', event #{} to run '{}'", r.run_id,
                           prev->seq, prev->run_id);
  }
  // Checked before prev_hash: a keyed chain rewritten from some event on by someone without
  // the key can only carry valid hashes in plain SHA-256, and this says so.
  if (r.chain_mode != prev->chain_mode) {
    return EventCorruption(r.seq, "chain broken: chain mode changes from {} (event #{}) to {} "
                           "(events were rewritten without the key)",
                           ChainModeName(prev->chain_mode), prev->seq,
                           ChainModeName(r.chain_mode));
  }
  if (r.format_version < prev->format_version) {
    return EventCorruption(r.seq, "record format version goes back from {} (event #{}) to {} "
                           "(events were rewritten by an older format, dropping who appended "
                           "them)", prev->format_version, prev->seq, r.format_version);
  }
  if (r.prev_hash != prev->hash) {
    return EventCorruption(r.seq, "chain broken: prev_hash does not match the hash of event "
                           "#{} (an event was deleted, reordered or rewritten)", prev->seq);
  }
  return Status::Ok();
}

Result<Record> DecodeRecord(std::string_view value, std::uint64_t key_seq, const ChainKey& key) {
  Record r;
  BACKOUT_RETURN_IF_ERROR(DecodeRecordInto(value, key_seq, key, &r));
  return r;
}

Status DecodeRecordInto(std::string_view value, std::uint64_t key_seq, const ChainKey& key,
                        Record* out) {
  FieldReader in(value, key_seq);
  std::uint8_t version = 0;
  if (!in.ReadU8("version", &version)) return in.status();
  if (version < kOldestRecordFormatVersion || version > kCurrentRecordFormatVersion) {
    return EventCorruption(key_seq, "unknown record format version {} (this build reads "
                           "versions {} to {})", version, kOldestRecordFormatVersion,
                           kCurrentRecordFormatVersion);
  }
  std::uint8_t chain = 0;
  if (!in.ReadU8("chain", &chain)) return in.status();
  const std::optional<ChainMode> mode = ChainModeFromByte(chain);
  if (!mode) {
    return EventCorruption(key_seq, "unknown chain mode {} (this build knows 0 = sha256, 1 = "
                           "hmac-sha256)", chain);
  }
  Record& r = *out;  // every field is set below (strings assigned into their old capacity)
  r.format_version = version;
  r.chain_mode = *mode;
  r.os_uid = OsUser::kUnknownUid;
  r.os_user.clear();
  if (!in.ReadU64("seq", &r.seq) || !in.ReadI64("time_us", &r.time_us) ||
      !in.ReadString("run_id", &r.run_id) || !in.ReadString("type", &r.type) ||
      !in.ReadString("operator", &r.operator_name) || !in.ReadString("host", &r.host) ||
      (version >= kOsUserFormatVersion &&
       (!in.ReadU32("os_uid", &r.os_uid) || !in.ReadString("os_user", &r.os_user))) ||
      !in.ReadString("payload", &r.payload) || !in.ReadDigest("prev_hash", &r.prev_hash) ||
      !in.ReadDigest("hash", &r.hash)) {
    return in.status();
  }
  if (in.remaining() != 0) {
    return EventCorruption(key_seq, "{} trailing bytes after the record", in.remaining());
  }
  if (r.seq != key_seq) {
    return EventCorruption(key_seq, "key says seq {} but record says {}", key_seq, r.seq);
  }
  BACKOUT_RETURN_IF_ERROR(VerifyHashOf(r, value.substr(0, value.size() - sizeof(Digest)), key));
  if (r.run_id.empty()) return EventCorruption(key_seq, "field 'run_id' is empty");
  if (r.type.empty()) return EventCorruption(key_seq, "field 'type' is empty");
  return Status::Ok();
}

}  // namespace backout::journal
