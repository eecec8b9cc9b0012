#include "journal/record_codec.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <rocksdb/comparator.h>
#include <rocksdb/slice.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <vector>

namespace backout::journal {
namespace {
using namespace std::string_literals;

const ChainKey kNoKey;

// A version 1 record laid out, per the table in record_codec.h, as:
//   version 0, chain 1, seq 2, time_us 10, run_id 18 (len) / 22, type 24 / 28,
//   operator 39 / 43, host 48 / 52, payload 53 / 57, prev_hash 59, hash 91; 123 bytes in all.
Record SampleRecord(std::uint64_t seq) {
  Record r;
  r.format_version = 1;
  r.run_id = "r1";
  r.seq = seq;
  r.time_us = 1'700'000'000'000'000;
  r.type = "StepStarted";
  r.operator_name = "alice";
  r.host = "h";
  r.payload = "{}";
  r.prev_hash.fill(0xab);
  r.hash = ComputeRecordHash(r, kNoKey);
  return r;
}

// The version 2 record of SampleRecord(seq), appended by root, laid out as:
//   version 0, chain 1, seq 2, time_us 10, run_id 18 / 22, type 24 / 28, operator 39 / 43,
//   host 48 / 52, os_uid 53, os_user 57 / 61, payload 65 / 69, prev_hash 71, hash 103; 135
//   bytes in all.
Record SampleRecordV2(std::uint64_t seq) {
  Record r = SampleRecord(seq);
  r.format_version = 2;
  r.os_uid = 0;
  r.os_user = "root";
  r.hash = ComputeRecordHash(r, kNoKey);
  return r;
}

TEST(RecordCodecTest, RoundTripKeepsEveryField) {
  Record r;
  r.format_version = 1;
  r.run_id = "20261121T171614Z-db_rollback.1";
  r.seq = (std::uint64_t{1} << 63) + 5;  // the top bit must survive
  r.time_us = -42;                       // before the epoch: two's complement
  r.type = "ActionFinished";
  r.operator_name = "bob";
  r.host = "db-01.example";
  r.payload = "{\"out\":\"a\0b\xff\"}"s;  // binary-safe: NUL and a non-UTF-8 byte inside
  for (std::size_t i = 0; i < r.prev_hash.size(); ++i) {
    r.prev_hash[i] = static_cast<std::uint8_t>(i);
  }
  r.hash = ComputeRecordHash(r, kNoKey);

  const std::string value = EncodeRecord(r);
  ASSERT_EQ(value.size(), 102 + r.run_id.size() + r.type.size() + r.operator_name.size() +
                              r.host.size() + r.payload.size());
  EXPECT_EQ(static_cast<std::uint8_t>(value[0]), kOldestRecordFormatVersion);
  EXPECT_EQ(value[1], 0) << "chain mode sha256";
  EXPECT_EQ(Sha256(std::string_view(value).substr(0, value.size() - 32)), r.hash)
      << "the hash covers every byte before the hash field";

  Result<Record> decoded = DecodeRecord(value, r.seq, kNoKey);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->run_id, r.run_id);
  EXPECT_EQ(decoded->seq, r.seq);
  EXPECT_EQ(decoded->time_us, r.time_us);
  EXPECT_EQ(decoded->type, r.type);
  EXPECT_EQ(decoded->operator_name, r.operator_name);
  EXPECT_EQ(decoded->host, r.host);
  EXPECT_EQ(decoded->payload, r.payload);
  EXPECT_EQ(decoded->chain_mode, ChainMode::kSha256);
  EXPECT_EQ(decoded->prev_hash, r.prev_hash);
  EXPECT_EQ(decoded->hash, r.hash);
  EXPECT_EQ(decoded->format_version, 1);
  EXPECT_EQ(decoded->os_uid, OsUser::kUnknownUid) << "version 1 records do not know the user";
  EXPECT_EQ(decoded->os_user, "");
}

TEST(RecordCodecTest, Version2RoundTripKeepsTheOsUser) {
  Record r = SampleRecord(3);
  r.format_version = 2;
  r.os_uid = 0xfffffffe;  // the largest uid there is: the top bit must survive
  r.os_user = "b\xc3\xb6" "b\0x"s;  // binary-safe like every str
  r.hash = ComputeRecordHash(r, kNoKey);
  const std::string value = EncodeRecord(r);
  ASSERT_EQ(value.size(), 110 + r.run_id.size() + r.type.size() + r.operator_name.size() +
                              r.host.size() + r.os_user.size() + r.payload.size());
  EXPECT_EQ(static_cast<std::uint8_t>(value[0]), kCurrentRecordFormatVersion);
  EXPECT_EQ(Sha256(std::string_view(value).substr(0, value.size() - 32)), r.hash);

  Result<Record> decoded = DecodeRecord(value, 3, kNoKey);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->format_version, 2);
  EXPECT_EQ(decoded->os_uid, 0xfffffffeu);
  EXPECT_EQ(decoded->os_user, r.os_user);
  EXPECT_EQ(decoded->operator_name, r.operator_name);
  EXPECT_EQ(decoded->host, r.host);
  EXPECT_EQ(decoded->payload, r.payload);
  EXPECT_EQ(EncodeRecord(*decoded), value) << "canonical: decoding and re-encoding is the identity";

  // A version 2 record may say the uid was unknown: the sentinel round-trips too.
  r.os_uid = OsUser::kUnknownUid;
  r.os_user.clear();
  r.hash = ComputeRecordHash(r, kNoKey);
  Result<Record> unknown = DecodeRecord(EncodeRecord(r), 3, kNoKey);
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_EQ(unknown->format_version, 2);
  EXPECT_EQ(unknown->os_uid, OsUser::kUnknownUid);
}

TEST(RecordCodecTest, NewRecordsAreVersion2) {
  EXPECT_EQ(Record().format_version, 2);
  EXPECT_EQ(kCurrentRecordFormatVersion, 2);
}

TEST(RecordCodecTest, Version2SampleLayoutMatchesTheDocumentedOffsets) {
  const std::string value = EncodeRecord(SampleRecordV2(5));
  ASSERT_EQ(value.size(), 135u);
  EXPECT_EQ(value[0], 2);
  EXPECT_EQ(value.substr(48, 5), std::string("\0\0\0\1h", 5));
  EXPECT_EQ(value.substr(53, 4), std::string("\0\0\0\0", 4)) << "os_uid 0";
  EXPECT_EQ(value.substr(57, 8), std::string("\0\0\0\4root", 8));
  EXPECT_EQ(value.substr(65, 6), std::string("\0\0\0\2{}", 6));
  EXPECT_EQ(static_cast<std::uint8_t>(value[71]), 0xab);
}

TEST(RecordCodecTest, SampleLayoutMatchesTheDocumentedOffsets) {
  const std::string value = EncodeRecord(SampleRecord(5));
  ASSERT_EQ(value.size(), 123u);
  EXPECT_EQ(value[1], 0);
  EXPECT_EQ(value.substr(2, 8), std::string("\0\0\0\0\0\0\0\5", 8));
  EXPECT_EQ(value.substr(18, 6), std::string("\0\0\0\2r1", 6));
  EXPECT_EQ(value.substr(53, 6), std::string("\0\0\0\2{}", 6));
  EXPECT_EQ(static_cast<std::uint8_t>(value[59]), 0xab);
}

TEST(RecordCodecTest, EncodeRecordWithHashSetsTheHashAndEqualsEncodeRecord) {
  for (const ChainKey& key : {kNoKey, ChainKey("secret")}) {
    Record expected = SampleRecord(7);
    expected.chain_mode = key.empty() ? ChainMode::kSha256 : ChainMode::kHmacSha256;
    expected.hash = ComputeRecordHash(expected, key);
    Record r = expected;
    r.hash.fill(0);
    EXPECT_EQ(EncodeRecordWithHash(&r, key), EncodeRecord(expected));
    EXPECT_EQ(r.hash, expected.hash);
  }
}

TEST(RecordCodecTest, HashDependsOnEveryField) {
  const Record base = SampleRecordV2(5);
  const ChainKey key("k");  // used by the edit that makes the record keyed
  const std::vector<std::function<void(Record&)>> edits = {
      [](Record& r) { r.seq++; },
      [](Record& r) { r.time_us++; },
      [](Record& r) { r.run_id += "x"; },
      [](Record& r) { r.type += "x"; },
      [](Record& r) { r.operator_name += "x"; },
      [](Record& r) { r.host += "x"; },
      [](Record& r) { r.os_uid = 1000; },
      [](Record& r) { r.os_user = "bob"; },
      // Stripped of its OS user, a version 2 record is a different version 1 record.
      [](Record& r) { r.format_version = 1; r.os_uid = OsUser::kUnknownUid; r.os_user.clear(); },
      [](Record& r) { r.payload += "x"; },
      [](Record& r) { r.prev_hash[31] ^= 1; },
      [](Record& r) { r.chain_mode = ChainMode::kHmacSha256; },
      // Moving a byte across a field boundary must change the hash too.
      [](Record& r) { r.type = "StepStarte"; r.operator_name = "dalice"; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    Record edited = base;
    edits[i](edited);
    EXPECT_NE(ComputeRecordHash(edited, key), base.hash) << "edit " << i;
  }
}

struct CorruptionCase {
  const char* name;
  std::function<std::string()> value;
  std::string expected_message;
};

// Each value of `cases`, stored under the key of event #5, is refused with its message.
void ExpectCorruptions(const std::vector<CorruptionCase>& cases) {
  for (const CorruptionCase& c : cases) {
    SCOPED_TRACE(c.name);
    Result<Record> decoded = DecodeRecord(c.value(), 5, kNoKey);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kCorruption);
    EXPECT_EQ(decoded.status().message(), c.expected_message);
  }
}

TEST(RecordCodecTest, EveryDecodeFailureIsAPreciseCorruption) {
  const std::string good = EncodeRecord(SampleRecord(5));
  const auto with = [&](std::size_t offset, std::string_view bytes) {
    std::string v = good;
    v.replace(offset, bytes.size(), bytes);
    return v;
  };
  const auto encoded_with = [](const std::function<void(Record&)>& edit) {
    Record r = SampleRecord(5);
    edit(r);
    r.hash = ComputeRecordHash(r, kNoKey);
    return EncodeRecord(r);
  };
  Record altered = SampleRecord(5);
  altered.payload = "{!";
  const std::string altered_hash_message =
      "event #5: hash mismatch: record content was altered (stored " + ToHex(altered.hash) +
      ", computed " + ToHex(ComputeRecordHash(altered, kNoKey)) + ")";

  const std::vector<CorruptionCase> cases = {
      {"empty value", [] { return std::string(); },
       "event #5: record truncated: need 1 byte for 'version' at offset 0, have 0"},
      {"no chain mode", [&] { return good.substr(0, 1); },
       "event #5: record truncated: need 1 byte for 'chain' at offset 1, have 0"},
      {"cut inside seq", [&] { return good.substr(0, 5); },
       "event #5: record truncated: need 8 bytes for 'seq' at offset 2, have 3"},
      {"cut inside a length", [&] { return good.substr(0, 50); },
       "event #5: record truncated: need 4 bytes for the length of 'host' at offset 48, have 2"},
      {"cut inside a string", [&] { return good.substr(0, 58); },
       "event #5: record truncated: need 2 bytes for 'payload' at offset 57, have 1"},
      {"cut inside the hash", [&] { return good.substr(0, good.size() - 1); },
       "event #5: record truncated: need 32 bytes for 'hash' at offset 91, have 31"},
      {"unknown version", [&] { return with(0, "\x07"); },
       "event #5: unknown record format version 7 (this build reads versions 1 to 2)"},
      {"version 0", [&] { return with(0, std::string(1, '\0')); },
       "event #5: unknown record format version 0 (this build reads versions 1 to 2)"},
      {"version 3", [&] { return with(0, "\x03"); },
       "event #5: unknown record format version 3 (this build reads versions 1 to 2)"},
      {"unknown chain mode", [&] { return with(1, "\x02"); },
       "event #5: unknown chain mode 2 (this build knows 0 = sha256, 1 = hmac-sha256)"},
      {"length over the limit", [&] { return with(53, "\xff\xff\xff\xff"); },
       "event #5: field 'payload' claims 4294967295 bytes (length at offset 53), over the 64 MiB "
       "limit"},
      {"trailing bytes", [&] { return good + "abc"; },
       "event #5: 3 trailing bytes after the record"},
      {"seq differs from the key", [] { return EncodeRecord(SampleRecord(6)); },
       "event #5: key says seq 5 but record says 6"},
      {"payload altered", [&] { return with(58, "!"); }, altered_hash_message},
      {"empty type", [&] { return encoded_with([](Record& r) { r.type.clear(); }); },
       "event #5: field 'type' is empty"},
      {"empty run_id", [&] { return encoded_with([](Record& r) { r.run_id.clear(); }); },
       "event #5: field 'run_id' is empty"},
  };
  ExpectCorruptions(cases);
}

TEST(RecordCodecTest, EveryVersion2DecodeFailureIsAPreciseCorruption) {
  const std::string good = EncodeRecord(SampleRecordV2(5));
  const auto with = [&](std::size_t offset, std::string_view bytes) {
    std::string v = good;
    v.replace(offset, bytes.size(), bytes);
    return v;
  };
  Record altered = SampleRecordV2(5);
  altered.os_user = "rooT";
  const std::vector<CorruptionCase> cases = {
      {"cut inside os_uid", [&] { return good.substr(0, 55); },
       "event #5: record truncated: need 4 bytes for 'os_uid' at offset 53, have 2"},
      {"cut inside the length of os_user", [&] { return good.substr(0, 59); },
       "event #5: record truncated: need 4 bytes for the length of 'os_user' at offset 57, have "
       "2"},
      {"cut inside os_user", [&] { return good.substr(0, 63); },
       "event #5: record truncated: need 4 bytes for 'os_user' at offset 61, have 2"},
      {"os_user over the limit", [&] { return with(57, std::string_view("\x04\0\0\x01", 4)); },
       "event #5: field 'os_user' claims 67108865 bytes (length at offset 57), over the 64 MiB "
       "limit"},
      {"os_user altered", [&] { return with(64, "T"); },
       "event #5: hash mismatch: record content was altered (stored " + ToHex(altered.hash) +
           ", computed " + ToHex(ComputeRecordHash(altered, kNoKey)) + ")"},
      // Read as version 1, the uid's four zero bytes are an empty payload's length and the
      // rest no longer fits: relabelling cannot drop the OS user.
      {"relabelled as version 1", [&] { return with(0, "\x01"); },
       "event #5: 14 trailing bytes after the record"},
      {"version 1 relabelled as version 2",
       [] {
         std::string v = EncodeRecord(SampleRecord(5));
         v[0] = 2;
         return v;
       },
       "event #5: field 'os_user' claims 2071833515 bytes (length at offset 57), over the 64 "
       "MiB limit"},
  };
  ExpectCorruptions(cases);
}

TEST(RecordCodecTest, KeysSortInSeqOrderUnderRocksDbsComparator) {
  const std::vector<std::uint64_t> seqs = {1, 2, 255, 256, 65'535, 65'536, std::uint64_t{1} << 32,
                                           std::uint64_t{1} << 63,
                                           std::numeric_limits<std::uint64_t>::max()};
  const rocksdb::Comparator* bytewise = rocksdb::BytewiseComparator();
  for (std::size_t i = 0; i + 1 < seqs.size(); ++i) {
    const std::string a = EncodeKey(seqs[i]);
    const std::string b = EncodeKey(seqs[i + 1]);
    EXPECT_LT(bytewise->Compare(rocksdb::Slice(a), rocksdb::Slice(b)), 0)
        << seqs[i] << " vs " << seqs[i + 1];
  }
  for (std::uint64_t seq : seqs) {
    const std::string key = EncodeKey(seq);
    EXPECT_EQ(key.size(), kKeyBytes);
    Result<std::uint64_t> decoded = DecodeKey(key);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, seq);
  }
}

TEST(RecordCodecTest, MalformedKeyIsCorruption) {
  Result<std::uint64_t> decoded = DecodeKey(std::string("\x01\x02\xff", 3));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kCorruption);
  EXPECT_EQ(decoded.status().message(), "malformed journal key '0102ff': 3 bytes, expected 8");
}

TEST(RecordCodecTest, VerifyRecordHashNamesTheEvent) {
  Record r = SampleRecord(9);
  EXPECT_TRUE(VerifyRecordHash(r, kNoKey).ok());
  r.host = "elsewhere";
  const Status s = VerifyRecordHash(r, kNoKey);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_TRUE(s.message().starts_with("event #9: hash mismatch: record content was altered"))
      << s.message();
}

// RFC 4231, test case 2: the key "Jefe".
TEST(ChainKeyTest, MacIsHmacSha256) {
  const ChainKey key("Jefe");
  ASSERT_FALSE(key.empty());
  EXPECT_EQ(ToHex(key.Mac("what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The key's context is copied per call, so repeated calls give the same answer.
  EXPECT_EQ(key.Mac("x"), key.Mac("x"));
  EXPECT_TRUE(ChainKey("").empty());
  EXPECT_EQ(ChainKey("").ModeForNewRuns(), ChainMode::kSha256);
  EXPECT_EQ(key.ModeForNewRuns(), ChainMode::kHmacSha256);
}

Record KeyedRecord(const ChainKey& key) {
  Record r = SampleRecord(5);
  r.chain_mode = ChainMode::kHmacSha256;
  r.hash = ComputeRecordHash(r, key);
  return r;
}

TEST(RecordCodecTest, KeyedRecordHashIsHmacOverTheSameBytes) {
  const ChainKey key("s3cret");
  const Record r = KeyedRecord(key);
  const std::string value = EncodeRecord(r);
  EXPECT_EQ(value[1], 1) << "chain mode hmac-sha256";
  const std::string_view hashed = std::string_view(value).substr(0, value.size() - 32);
  // Cross-checked with OpenSSL's one-shot HMAC(), independent of ChainKey.
  Digest expected{};
  unsigned int length = 0;
  ASSERT_NE(HMAC(EVP_sha256(), "s3cret", 6, reinterpret_cast<const unsigned char*>(hashed.data()),
                 hashed.size(), expected.data(), &length),
            nullptr);
  EXPECT_EQ(r.hash, expected);
  EXPECT_NE(r.hash, Sha256(hashed));

  Result<Record> decoded = DecodeRecord(value, 5, key);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->chain_mode, ChainMode::kHmacSha256);
}

TEST(RecordCodecTest, KeyedRecordWithoutTheKeyOrWithAnotherIsCorruption) {
  const std::string value = EncodeRecord(KeyedRecord(ChainKey("s3cret")));

  Result<Record> without = DecodeRecord(value, 5, kNoKey);
  EXPECT_EQ(without.status().code(), Code::kCorruption);
  EXPECT_EQ(without.status().message(),
            "event #5: run r1 is keyed (HMAC-SHA256 chain): set BACKOUT_JOURNAL_KEY to verify it");

  Result<Record> wrong = DecodeRecord(value, 5, ChainKey("guess"));
  EXPECT_EQ(wrong.status().code(), Code::kCorruption);
  EXPECT_TRUE(wrong.status().message().starts_with(
      "event #5: hash mismatch: record content was altered, or BACKOUT_JOURNAL_KEY is not this "
      "run's key (wrong key?) (stored "))
      << wrong.status().message();
  EXPECT_EQ(wrong.status().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(wrong.status().message().find("guess"), std::string::npos);

  // Relabelled as unkeyed, the HMAC no longer matches: the mode byte is hashed too.
  std::string relabelled = value;
  relabelled[1] = 0;
  Result<Record> downgraded = DecodeRecord(relabelled, 5, kNoKey);
  EXPECT_TRUE(downgraded.status().message().starts_with(
      "event #5: hash mismatch: record content was altered (stored"))
      << downgraded.status().message();
}

TEST(RecordCodecTest, CheckChainLinkNamesWhatDoesNotFollow) {
  const ChainKey key("k");
  Record first = SampleRecord(1);
  first.prev_hash = Digest{};
  first.hash = ComputeRecordHash(first, kNoKey);
  EXPECT_TRUE(CheckChainLink(nullptr, first).ok());

  const auto next = [&](const std::function<void(Record&)>& edit) {
    Record r = SampleRecord(2);
    r.prev_hash = first.hash;
    edit(r);
    r.hash = ComputeRecordHash(r, key);
    return CheckChainLink(&first, r).message();
  };
  EXPECT_EQ(next([](Record&) {}), "");
  EXPECT_EQ(next([](Record& r) { r.seq = 3; }),
            "event #3: chain broken: expected event #2 here (events were deleted or reordered)");
  EXPECT_EQ(next([](Record& r) { r.prev_hash[0] ^= 1; }),
            "event #2: chain broken: prev_hash does not match the hash of event #1 (an event was "
            "deleted, reordered or rewritten)");
  EXPECT_EQ(next([](Record& r) { r.run_id = "r2"; }),
            "event #2: record belongs to run 'r2', event #1 to run 'r1'");
  EXPECT_EQ(next([](Record& r) { r.chain_mode = ChainMode::kHmacSha256; }),
            "event #2: chain broken: chain mode changes from sha256 (event #1) to hmac-sha256 "
            "(events were rewritten without the key)");
  // A version 1 run resumed by this build goes on in version 2; never back.
  EXPECT_EQ(next([](Record& r) {
              r.format_version = 2;
              r.os_uid = 0;
              r.os_user = "root";
            }),
            "");
  Record second = SampleRecordV2(2);
  second.prev_hash = first.hash;
  second.hash = ComputeRecordHash(second, kNoKey);
  Record third = SampleRecord(3);
  third.prev_hash = second.hash;
  third.hash = ComputeRecordHash(third, kNoKey);
  EXPECT_EQ(CheckChainLink(&second, third).message(),
            "event #3: record format version goes back from 2 (event #2) to 1 (events were "
            "rewritten by an older format, dropping who appended them)");
}

}  // namespace
}  // namespace backout::journal
