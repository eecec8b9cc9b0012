#include "journal/export.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "journal/record_codec.h"
#include "testing/assert_ok.h"
#include "testing/fake_env.h"
#include "testing/temp_dir.h"

namespace backout::journal {
namespace {
namespace fs = std::filesystem;
using namespace std::string_literals;

std::vector<std::string> Encoded(const std::vector<Record>& records) {
  std::vector<std::string> out;
  for (const Record& r : records) out.push_back(EncodeRecord(r));
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  return text;
}

// `records` from `first` on as the plain chain of records of format version 1 (no OS user)
// they would be had an older build written them, the chain recomputed from there.
std::vector<Record> AsVersion1From(std::vector<Record> records, std::size_t first = 0) {
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i >= first) {
      records[i].format_version = 1;
      records[i].os_uid = OsUser::kUnknownUid;
      records[i].os_user.clear();
    }
    if (i > 0) records[i].prev_hash = records[i - 1].hash;
    records[i].hash = ComputeRecordHash(records[i], ChainKey());
  }
  return records;
}

struct ExportEdit {
  const char* name;
  std::function<void(std::vector<std::string>&)> edit;
  std::string expected_message;
};

// Each edit of `cases` made to the unkeyed export `text` is refused with its message.
void ExpectEditsRefused(const std::string& text, const std::vector<ExportEdit>& cases) {
  for (const ExportEdit& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> lines = SplitLines(text);
    c.edit(lines);
    Result<std::vector<Record>> parsed = ParseExport(JoinLines(lines), "x.jsonl", ChainKey());
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), Code::kCorruption);
    EXPECT_TRUE(parsed.status().message().starts_with(c.expected_message))
        << parsed.status().message();
  }
}

class ExportTest : public ::testing::Test {
 protected:
  // A run of `count` events in a journal under `name`, with payloads that exercise JSON
  // string escaping: quotes, backslashes, control characters, a NUL and non-ASCII text.
  // Appended as root (uid 0), the identity env_ gives the journal.
  std::vector<Record> MakeRun(const std::string& name, const ChainKey& key, int count) {
    Journal journal(root_ / name, key, nullptr, &env_);
    Result<std::unique_ptr<RunWriter>> writer = journal.CreateRun("r1");
    EXPECT_TRUE(writer.ok()) << writer.status().ToString();
    if (!writer.ok()) return {};
    std::vector<NewRecord> batch;
    for (int n = 1; n <= count; ++n) {
      batch.push_back(NewRecord{
          .time_us = 1'763'747'481'000'000 + n,
          .type = "NoteAdded",
          .operator_name = "zoë",
          .host = "vm",
          .payload = fmt::format("{{\"text\":\"n{} \\\"q\\\" \\\\ tab\\t é ✓\"}}", n) + "\n\0x"s});
    }
    Result<std::span<const Record>> stored = (*writer)->Append(batch);
    EXPECT_TRUE(stored.ok());
    if (!stored.ok()) return {};
    return std::vector<Record>(stored->begin(), stored->end());  // the whole run: one batch
  }

  void SetUp() override { env_.SetProcessUser(OsUser{.uid = 0, .name = "root"}); }

  const testing::TempDir tmp_;
  const fs::path root_ = tmp_.path();
  testing::FakeEnv env_;
};

TEST_F(ExportTest, RoundTripThroughImportIsByteIdentical) {
  const std::vector<Record> original = MakeRun("a", ChainKey(), 4);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(original));
  EXPECT_EQ(SplitLines(text).size(), 4u);
  EXPECT_TRUE(text.ends_with("\n"));

  ASSERT_OK_AND_ASSIGN(parsed, ParseExport(text, "x.jsonl", ChainKey()));
  EXPECT_EQ(Encoded(parsed), Encoded(original));

  const Journal other(root_ / "b");
  ASSERT_TRUE(other.ImportRun({parsed}).ok());
  ASSERT_OK_AND_ASSIGN(imported, other.ReadRun("r1"));
  EXPECT_EQ(Encoded(imported), Encoded(original));
  // An imported run goes on like any other: appends continue its chain.
  ASSERT_OK_AND_ASSIGN(writer, other.OpenRun("r1"));
  const NewRecord next{.time_us = 1, .type = "NoteAdded", .payload = "{}"};
  ASSERT_OK_AND_ASSIGN(stored, writer->Append({&next, 1}));
  EXPECT_EQ(stored[0].seq, 5u);
  EXPECT_EQ(stored[0].prev_hash, original.back().hash);
}

TEST_F(ExportTest, LineHoldsEveryFieldInOrderWithThePayloadAsText) {
  // A record of format version 1: its line is exactly what exports wrote before OS users.
  const std::vector<Record> records = AsVersion1From(MakeRun("a", ChainKey(), 1));
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(records));
  EXPECT_EQ(text, fmt::format(
      "{{\"run_id\":\"r1\",\"seq\":1,\"time_us\":1763747481000001,\"type\":\"NoteAdded\","
      "\"operator\":\"zoë\",\"host\":\"vm\",\"payload\":\"{{\\\"text\\\":\\\"n1 \\\\\\\"q\\\\\\\" "
      "\\\\\\\\ tab\\\\t é ✓\\\"}}\\n\\u0000x\",\"chain\":\"sha256\","
      "\"prev_hash\":\"{}\",\"hash\":\"{}\"}}\n",
      std::string(64, '0'), ToHex(records[0].hash)));
}

TEST_F(ExportTest, Version2LineCarriesTheOsUserAfterTheHost) {
  const std::vector<Record> records = MakeRun("a", ChainKey(), 1);
  ASSERT_EQ(records[0].format_version, 2);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(records));
  const std::string head =
      "{\"run_id\":\"r1\",\"seq\":1,\"time_us\":1763747481000001,\"type\":\"NoteAdded\","
      "\"operator\":\"zoë\",\"host\":\"vm\",\"os_user\":\"root\",\"os_uid\":0,\"payload\":";
  EXPECT_TRUE(text.starts_with(head)) << text;
  ASSERT_OK_AND_ASSIGN(parsed, ParseExport(text, "x.jsonl", ChainKey()));
  EXPECT_EQ(parsed[0].os_uid, 0u);
  EXPECT_EQ(parsed[0].os_user, "root");
  EXPECT_EQ(Encoded(parsed), Encoded(records));
}

// A run begun by an older build (version 1 records) and resumed by this one (version 2) goes
// through export and import byte for byte, each record in its own version.
TEST_F(ExportTest, MixedVersionRunRoundTripsEachRecordInItsVersion) {
  const std::vector<Record> original = AsVersion1From(MakeRun("a", ChainKey(), 4), 0);
  std::vector<Record> mixed = original;
  for (std::size_t i = 2; i < mixed.size(); ++i) {
    mixed[i].format_version = 2;
    mixed[i].os_uid = 1000;
    mixed[i].os_user = "alice";
    mixed[i].prev_hash = mixed[i - 1].hash;
    mixed[i].hash = ComputeRecordHash(mixed[i], ChainKey());
  }
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(mixed));
  const std::vector<std::string> lines = SplitLines(text);
  EXPECT_EQ(lines[1].find("os_u"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("\"os_user\":\"alice\",\"os_uid\":1000,"), std::string::npos)
      << lines[2];
  ASSERT_OK_AND_ASSIGN(parsed, ParseExport(text, "x.jsonl", ChainKey()));
  EXPECT_EQ(Encoded(parsed), Encoded(mixed));
  EXPECT_EQ(parsed[1].format_version, 1);
  EXPECT_EQ(parsed[1].os_uid, OsUser::kUnknownUid);
  EXPECT_EQ(parsed[2].format_version, 2);
  const Journal other(root_ / "b");
  ASSERT_TRUE(other.ImportRun({parsed}).ok());
  ASSERT_OK_AND_ASSIGN(imported, other.ReadRun("r1"));
  EXPECT_EQ(Encoded(imported), Encoded(mixed));
}

TEST_F(ExportTest, UnknownUidIsNullAndRoundTrips) {
  std::vector<Record> records = MakeRun("a", ChainKey(), 1);
  records[0].os_uid = OsUser::kUnknownUid;
  records[0].os_user.clear();
  records[0].hash = ComputeRecordHash(records[0], ChainKey());
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(records));
  EXPECT_NE(text.find("\"os_user\":\"\",\"os_uid\":null,"), std::string::npos) << text;
  ASSERT_OK_AND_ASSIGN(parsed, ParseExport(text, "x.jsonl", ChainKey()));
  EXPECT_EQ(Encoded(parsed), Encoded(records));
  EXPECT_EQ(parsed[0].format_version, 2);
}

TEST_F(ExportTest, EditedOsUserIsRefusedNamingTheLine) {
  const std::vector<Record> original = MakeRun("a", ChainKey(), 3);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(original));
  const auto replace = [](std::string from, std::string to) {
    return [from, to](std::vector<std::string>& lines) {
      const std::size_t at = lines[1].find(from);
      ASSERT_NE(at, std::string::npos) << from;
      lines[1].replace(at, from.size(), to);
    };
  };
  const std::string second_hash = ToHex(original[1].hash);
  const std::vector<ExportEdit> cases = {
      {"os user renamed", replace("\"os_user\":\"root\"", "\"os_user\":\"bob\""),
       "x.jsonl:2: event #2: hash mismatch: record content was altered (stored " + second_hash},
      {"os uid changed", replace("\"os_uid\":0", "\"os_uid\":1000"),
       "x.jsonl:2: event #2: hash mismatch: record content was altered (stored " + second_hash},
      {"os uid made unknown", replace("\"os_uid\":0", "\"os_uid\":null"),
       "x.jsonl:2: event #2: hash mismatch: record content was altered (stored " + second_hash},
      {"both dropped: a version 1 record with the version 2 hash",
       replace("\"os_user\":\"root\",\"os_uid\":0,", ""),
       "x.jsonl:2: event #2: hash mismatch: record content was altered (stored " + second_hash},
      {"os uid dropped", replace(",\"os_uid\":0", ""),
       "x.jsonl:2: event #2: field 'os_uid' is missing, but 'os_user' is there (a record line "
       "has both or, for a record of format version 1, neither)"},
      {"os user dropped", replace("\"os_user\":\"root\",", ""),
       "x.jsonl:2: event #2: field 'os_user' is missing, but 'os_uid' is there"},
      {"os uid the unknown sentinel as a number", replace("\"os_uid\":0", "\"os_uid\":4294967295"),
       "x.jsonl:2: event #2: field 'os_uid' is missing or not a uid (an integer below "
       "4294967295, or null if unknown)"},
      {"os uid negative", replace("\"os_uid\":0", "\"os_uid\":-1"),
       "x.jsonl:2: event #2: field 'os_uid' is missing or not a uid"},
      {"os uid a string", replace("\"os_uid\":0", "\"os_uid\":\"0\""),
       "x.jsonl:2: event #2: field 'os_uid' is missing or not a uid"},
      {"os user not a string", replace("\"os_user\":\"root\"", "\"os_user\":0"),
       "x.jsonl:2: event #2: field 'os_user' is missing or not a string"},
  };
  ExpectEditsRefused(text, cases);
  // Rewritten as version 1 from event #2 on and re-chained (what a forger without a key can
  // do to hide who appended): the chain may not go back to version 1.
  ASSERT_OK_AND_ASSIGN(downgraded, ExportRecords(AsVersion1From(original, 1)));
  EXPECT_EQ(ParseExport(downgraded, "x.jsonl", ChainKey()).status().message(),
            "x.jsonl:2: event #2: record format version goes back from 2 (event #1) to 1 "
            "(events were rewritten by an older format, dropping who appended them)");
}

TEST_F(ExportTest, KeyedExportNeedsTheKey) {
  const ChainKey key("team-secret");
  const std::vector<Record> original = MakeRun("a", key, 3);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(original));
  EXPECT_NE(text.find("\"chain\":\"hmac-sha256\""), std::string::npos);
  EXPECT_EQ(text.find("team-secret"), std::string::npos);

  Result<std::vector<Record>> without = ParseExport(text, "x.jsonl", ChainKey());
  EXPECT_EQ(without.status().message(),
            "x.jsonl:1: event #1: run r1 is keyed (HMAC-SHA256 chain): set BACKOUT_JOURNAL_KEY "
            "to verify it");
  Result<std::vector<Record>> wrong = ParseExport(text, "x.jsonl", ChainKey("guess"));
  EXPECT_NE(wrong.status().message().find("x.jsonl:1: event #1: hash mismatch"),
            std::string::npos);
  EXPECT_NE(wrong.status().message().find("(wrong key?)"), std::string::npos);

  ASSERT_OK_AND_ASSIGN(parsed, ParseExport(text, "x.jsonl", key));
  const Journal keyed(root_ / "b", key);
  ASSERT_TRUE(keyed.ImportRun({parsed}).ok());
  ASSERT_OK_AND_ASSIGN(imported, keyed.ReadRun("r1"));
  EXPECT_EQ(Encoded(imported), Encoded(original));
  // ImportRun checks again: a journal without the key refuses, and creates nothing.
  const Journal unkeyed(root_ / "c");
  EXPECT_EQ(unkeyed.ImportRun({parsed}).code(), Code::kCorruption);
  EXPECT_FALSE(fs::exists(root_ / "c" / "r1"));
}

// Every edit an attacker without the key can make to an export is refused, naming the line.
TEST_F(ExportTest, EditedExportIsRefusedNamingTheLine) {
  const std::vector<Record> original = MakeRun("a", ChainKey(), 5);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(original));
  const std::string third_hash = ToHex(original[2].hash);
  // The payload of line 3 with one character changed, the line's hash left alone.
  const auto changed_payload = [](std::vector<std::string>& lines) {
    const std::size_t at = lines[2].find("n3 ");
    ASSERT_NE(at, std::string::npos);
    lines[2][at + 1] = '9';
  };
  const std::vector<ExportEdit> cases = {
      {"payload changed", changed_payload,
       "x.jsonl:3: event #3: hash mismatch: record content was altered (stored " + third_hash},
      {"line deleted", [](std::vector<std::string>& lines) { lines.erase(lines.begin() + 2); },
       "x.jsonl:3: event #4: chain broken: expected event #3 here (events were deleted or "
       "reordered)"},
      {"lines swapped", [](std::vector<std::string>& lines) { std::swap(lines[1], lines[2]); },
       "x.jsonl:2: event #3: chain broken: expected event #2 here"},
      {"first line deleted", [](std::vector<std::string>& lines) { lines.erase(lines.begin()); },
       "x.jsonl:1: event #2: chain broken: expected event #1 here"},
      {"blank line", [](std::vector<std::string>& lines) { lines.insert(lines.begin() + 1, ""); },
       "x.jsonl:2: not valid JSON"},
      {"not an object", [](std::vector<std::string>& lines) { lines[1] = "[1]"; },
       "x.jsonl:2: not a JSON object"},
      {"unknown field", [](std::vector<std::string>& lines) { lines[1].insert(1, "\"x\":1,"); },
       "x.jsonl:2: unknown field 'x'"},
      {"seq not a number",
       [](std::vector<std::string>& lines) {
         const std::size_t at = lines[1].find("\"seq\":2");
         lines[1].replace(at, 7, "\"seq\":\"2\"");
       },
       "x.jsonl:2: field 'seq' is missing or not an unsigned integer"},
      {"bad chain name",
       [](std::vector<std::string>& lines) {
         const std::size_t at = lines[3].find("\"sha256\"");
         lines[3].replace(at, 8, "\"md5\"");
       },
       "x.jsonl:4: event #4: field 'chain' is 'md5', expected 'sha256' or 'hmac-sha256'"},
      {"short hash",
       [](std::vector<std::string>& lines) {
         const std::size_t at = lines[4].find("\"hash\":\"");
         lines[4].erase(at + 8, 1);
       },
       "x.jsonl:5: event #5: field 'hash' is missing or not 64 hex digits"},
  };
  ExpectEditsRefused(text, cases);
}

// Rewriting one event and recomputing every later hash gives a valid unkeyed chain (only a
// head recorded elsewhere can tell), but not a valid keyed one: without the key, the forger
// can only use plain SHA-256 or a guessed key.
TEST_F(ExportTest, RewrittenAndRehashedExportPassesUnkeyedButNotKeyed) {
  const auto forge = [](std::vector<Record> records, ChainMode mode, const ChainKey& forger) {
    records[1].payload = R"({"text":"forged"})";
    for (std::size_t i = 1; i < records.size(); ++i) {
      records[i].chain_mode = mode;
      records[i].prev_hash = records[i - 1].hash;
      records[i].hash = ComputeRecordHash(records[i], forger);
    }
    return records;
  };
  const std::vector<Record> plain = MakeRun("a", ChainKey(), 4);
  ASSERT_OK_AND_ASSIGN(forged_plain, ExportRecords(forge(plain, ChainMode::kSha256, ChainKey())));
  ASSERT_OK_AND_ASSIGN(accepted, ParseExport(forged_plain, "x.jsonl", ChainKey()));
  EXPECT_NE(accepted.back().hash, plain.back().hash) << "the head hash changed";

  const ChainKey key("team-secret");
  const std::vector<Record> keyed = MakeRun("b", key, 4);
  ASSERT_OK_AND_ASSIGN(downgraded, ExportRecords(forge(keyed, ChainMode::kSha256, ChainKey())));
  EXPECT_EQ(ParseExport(downgraded, "x.jsonl", key).status().message(),
            "x.jsonl:2: event #2: chain broken: chain mode changes from hmac-sha256 (event #1) "
            "to sha256 (events were rewritten without the key)");
  ASSERT_OK_AND_ASSIGN(guessed,
                       ExportRecords(forge(keyed, ChainMode::kHmacSha256, ChainKey("guess"))));
  EXPECT_TRUE(ParseExport(guessed, "x.jsonl", key)
                  .status()
                  .message()
                  .starts_with("x.jsonl:2: event #2: hash mismatch: record content was altered, "
                               "or BACKOUT_JOURNAL_KEY is not this run's key (wrong key?)"));
}

TEST_F(ExportTest, EmptyOrMissingExport) {
  EXPECT_EQ(ParseExport("", "x.jsonl", ChainKey()).status().message(),
            "x.jsonl: no records (an export holds one line per event of a run)");
  Result<std::vector<Record>> missing = ReadExportFile(root_ / "nope.jsonl", ChainKey());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

TEST_F(ExportTest, ReadExportFileNamesTheFile) {
  const std::vector<Record> original = MakeRun("a", ChainKey(), 2);
  ASSERT_OK_AND_ASSIGN(text, ExportRecords(original));
  const fs::path file = root_ / "run.jsonl";
  {
    std::vector<std::string> lines = SplitLines(text);
    lines[1][lines[1].find("\"NoteAdded\"") + 1] = 'M';
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    const std::string edited = JoinLines(lines);
    std::fwrite(edited.data(), 1, edited.size(), f);
    std::fclose(f);
  }
  Result<std::vector<Record>> read = ReadExportFile(file, ChainKey());
  EXPECT_TRUE(read.status().message().starts_with(file.string() + ":2: event #2: hash mismatch"))
      << read.status().message();
}

TEST_F(ExportTest, ImportRefusesAnExistingRunAndABrokenChain) {
  const std::vector<Record> original = MakeRun("a", ChainKey(), 3);
  const Journal same(root_ / "a");
  const Status again = same.ImportRun({original});
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.message(), fmt::format("run r1 already exists in journal {}",
                                         (root_ / "a").string()));

  std::vector<Record> broken = original;
  broken.erase(broken.begin() + 1);
  const Journal other(root_ / "b");
  const Status refused = other.ImportRun({broken});
  EXPECT_EQ(refused.code(), Code::kCorruption);
  EXPECT_EQ(refused.message(), "run r1: event #3: chain broken: expected event #2 here (events "
                               "were deleted or reordered)");
  EXPECT_FALSE(fs::exists(root_ / "b" / "r1"));
  EXPECT_EQ(other.ImportRun({}).code(), Code::kInvalidArgument);
}

TEST(ExportCodecTest, NonUtf8FieldCannotBeExported) {
  Record r;
  r.run_id = "r1";
  r.seq = 7;
  r.type = "NoteAdded";
  r.payload = "\xff";
  Result<std::string> text = ExportRecords({r});
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(text.status().message(),
            "run r1: event #7: a field is not valid UTF-8, which JSON cannot carry");
}

TEST(ExportCodecTest, DigestFromHexTakesExactly64HexDigitsOfEitherCase) {
  Digest d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(i * 7 + 1);
  std::string hex = ToHex(d);
  EXPECT_EQ(DigestFromHex(hex), d);
  std::transform(hex.begin(), hex.end(), hex.begin(), ::toupper);
  EXPECT_EQ(DigestFromHex(hex), d);
  EXPECT_EQ(DigestFromHex(hex.substr(0, 63)), std::nullopt);
  EXPECT_EQ(DigestFromHex(hex + "0"), std::nullopt);
  EXPECT_EQ(DigestFromHex(std::string(63, '0') + "g"), std::nullopt);
  EXPECT_EQ(DigestFromHex(""), std::nullopt);
}

}  // namespace
}  // namespace backout::journal
