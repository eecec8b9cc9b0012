// The table backup file format on its own: what TablesFileWriter writes, TablesFileReader
// reads back, and a truncated or damaged file is refused saying where. No PostgreSQL.
#include "adapters/postgres/backup_format.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace backout::adapters::postgres {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::string_literals;

// One table's section as written: COPY data in the pieces COPY handed over, and its rows.
struct Section {
  std::size_t index;
  std::vector<std::string> pieces;
  std::uint64_t rows;
};

std::string Joined(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& piece : pieces) out += piece;
  return out;
}

class TablesFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = (fs::path(::testing::TempDir()) / "backup_format_XXXXXX").string();
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = dir;
    header_.database = "app";
    header_.server_version = 160004;
    header_.created_micros = 1714558500000000;
    header_.tables = {
        {"customers", "public.customers", 'r',
         json::array({{{"name", "id"}, {"type", "bigint"}}, {{"name", "name"}, {"type", "text"}}})},
        {"sales.orders", "sales.orders", 'p', json::array({{{"name", "id"}, {"type", "bigint"}}})},
        {"empty", "public.empty", 'r', json::array()},
    };
    // More than a 1 MiB chunk in one table, so that it spans several chunks.
    sections_ = {{0, {"PGCOPY\n", std::string(3 << 19, 'c'), "tail"}, 3},
                 {1, {std::string(10, 'o')}, 1},
                 {2, {}, 0}};
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes header_ and sections_ to `name` and returns its path.
  fs::path Write(const std::string& name) {
    const fs::path path = dir_ / name;
    common::StreamedFile out(path, ".partial");
    EXPECT_TRUE(out.Open().ok());
    TablesFileWriter writer(out);
    EXPECT_TRUE(writer.WriteHeader(header_).ok());
    for (const Section& section : sections_) {
      EXPECT_TRUE(writer.BeginTable(section.index).ok());
      for (const std::string& piece : section.pieces) EXPECT_TRUE(writer.AppendData(piece).ok());
      EXPECT_TRUE(writer.EndTable(section.rows).ok());
    }
    EXPECT_TRUE(writer.Finish().ok());
    EXPECT_TRUE(out.Commit().ok());
    return path;
  }

  std::string Bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path WriteBytes(const std::string& name, const std::string& bytes) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  // Reads the whole file as a restore would (every table's data, then the trailer); the
  // first error.
  Status ReadAll(const fs::path& path) {
    TablesFileReader in;
    BACKOUT_RETURN_IF_ERROR(in.Open(path));
    for (std::size_t i = 0; i < in.header().tables.size(); ++i) {
      Result<std::size_t> index = in.NextTable();
      if (!index.ok()) return index.status();
      BACKOUT_RETURN_IF_ERROR(in.SkipTable());
    }
    return in.Finish();
  }

  fs::path dir_;
  TablesFileHeader header_;
  std::vector<Section> sections_;
};

TEST_F(TablesFileTest, WhatIsWrittenReadsBack) {
  const fs::path path = Write("round.pgtables");
  TablesFileReader in;
  ASSERT_TRUE(in.Open(path).ok());
  EXPECT_EQ(in.header().database, "app");
  EXPECT_EQ(in.header().server_version, 160004);
  EXPECT_EQ(in.header().created_micros, 1714558500000000);
  ASSERT_EQ(in.header().tables.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(in.header().tables[i].name, header_.tables[i].name);
    EXPECT_EQ(in.header().tables[i].relation, header_.tables[i].relation);
    EXPECT_EQ(in.header().tables[i].kind, header_.tables[i].kind);
    EXPECT_EQ(in.header().tables[i].columns, header_.tables[i].columns);
  }
  for (const Section& section : sections_) {
    Result<std::size_t> index = in.NextTable();
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    EXPECT_EQ(*index, section.index);
    std::string data;
    int chunks = 0;
    while (true) {
      Result<std::string_view> chunk = in.NextChunk();
      ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
      if (chunk->empty()) break;
      data += *chunk;
      ++chunks;
    }
    EXPECT_EQ(data, Joined(section.pieces));
    EXPECT_EQ(chunks, section.index == 0 ? 2 : section.index == 1 ? 1 : 0);
    EXPECT_EQ(in.recorded_rows(), section.rows);
  }
  ASSERT_TRUE(in.Finish().ok());
  Result<FileDigest> digest = Sha256File(path);
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(in.bytes(), digest->bytes);
  EXPECT_EQ(in.Sha256(), digest->sha256_hex);
}

TEST_F(TablesFileTest, HeaderIsTheDocumentedJson) {
  const std::string bytes = Bytes(Write("layout.pgtables"));
  ASSERT_GT(bytes.size(), 12u);
  EXPECT_EQ(bytes.substr(0, 8), "BKPGTBL1");
  const std::size_t length = (static_cast<unsigned char>(bytes[8]) << 24) |
                             (static_cast<unsigned char>(bytes[9]) << 16) |
                             (static_cast<unsigned char>(bytes[10]) << 8) |
                             static_cast<unsigned char>(bytes[11]);
  const json header = json::parse(bytes.substr(12, length));
  EXPECT_EQ(header["format"], "backout-pg-tables");
  EXPECT_EQ(header["version"], 1);
  EXPECT_EQ(header["tables"][1],
            json({{"name", "sales.orders"},
                  {"relation", "sales.orders"},
                  {"kind", "p"},
                  {"columns", {{{"name", "id"}, {"type", "bigint"}}}}}));
  // The last table has no data: tag, index, end, rows; then the trailer.
  EXPECT_EQ(bytes.substr(bytes.size() - 22),
            std::string("T\0\0\0\x02\0\0\0\0\0\0\0\0\0\0\0\0E\0\0\0\x03", 22));
}

TEST_F(TablesFileTest, EveryTruncationIsRefused) {
  sections_ = {{0, {"abc"}, 1}, {1, {"de"}, 1}, {2, {}, 0}};
  const std::string bytes = Bytes(Write("whole.pgtables"));
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const Status status = ReadAll(WriteBytes("cut.pgtables", bytes.substr(0, size)));
    EXPECT_FALSE(status.ok()) << "cut at " << size;
    // Within the magic the file is not one of ours; anywhere else it is ours, truncated.
    EXPECT_EQ(status.code(), size < 8 ? Code::kInvalidArgument : Code::kCorruption)
        << "cut at " << size << ": " << status.ToString();
  }
}

TEST_F(TablesFileTest, TruncationSaysWhatIsMissingAndWhere) {
  sections_ = {{0, {"abc"}, 1}, {1, {"de"}, 1}, {2, {}, 0}};
  const std::string bytes = Bytes(Write("whole.pgtables"));
  // The file ends one byte into the data of the first table's only chunk.
  const std::size_t chunk_at = bytes.find("abc");
  ASSERT_NE(chunk_at, std::string::npos);
  const fs::path path = WriteBytes("cut.pgtables", bytes.substr(0, chunk_at + 1));
  EXPECT_EQ(ReadAll(path).message(),
            fmt::format("{} ends early: the file is truncated (need 3 bytes for a chunk of "
                        "table 'customers' at offset {}, have 1)",
                        path.string(), chunk_at));
  // ... and in the header.
  const fs::path in_header = WriteBytes("header.pgtables", bytes.substr(0, 20));
  EXPECT_THAT(ReadAll(in_header).message(),
              HasSubstr("ends early: the file is truncated (need "));
  EXPECT_THAT(ReadAll(in_header).message(), HasSubstr(" bytes for the header at offset 12, have 8)"));
}

TEST_F(TablesFileTest, DamageIsRefusedSayingWhere) {
  sections_ = {{0, {"abc"}, 1}, {1, {"de"}, 1}, {2, {}, 0}};
  const std::string bytes = Bytes(Write("whole.pgtables"));
  const std::size_t first_section = bytes.find("T\0\0\0\0"s);
  ASSERT_NE(first_section, std::string::npos);

  std::string bad_tag = bytes;
  bad_tag[first_section] = 'X';
  fs::path path = WriteBytes("tag.pgtables", bad_tag);
  EXPECT_EQ(ReadAll(path).ToString(),
            fmt::format("Corruption: {} is damaged (bad table section: tag 0x58, expected 'T' "
                        "at offset {})",
                        path.string(), first_section));

  std::string bad_index = bytes;
  bad_index[first_section + 4] = '\x07';
  path = WriteBytes("index.pgtables", bad_index);
  EXPECT_EQ(ReadAll(path).message(),
            fmt::format("{} is damaged (bad table section: table 7 of 3 at offset {})",
                        path.string(), first_section));

  std::string huge_chunk = bytes;
  huge_chunk[first_section + 5] = '\x7f';  // the chunk length's high byte
  path = WriteBytes("chunk.pgtables", huge_chunk);
  EXPECT_EQ(ReadAll(path).message(),
            fmt::format("{} is damaged (chunk too large: 2130706435 bytes in table "
                        "'customers', at most 67108864 at offset {})",
                        path.string(), first_section + 5));

  std::string bad_trailer = bytes;
  bad_trailer[bytes.size() - 1] = '\x02';
  path = WriteBytes("trailer.pgtables", bad_trailer);
  EXPECT_EQ(ReadAll(path).message(),
            fmt::format("{} is damaged (bad trailer: tag 0x45 and 2 tables, expected 'E' and 3 "
                        "at offset {})",
                        path.string(), bytes.size() - 5));

  path = WriteBytes("extra.pgtables", bytes + "x");
  EXPECT_EQ(ReadAll(path).message(),
            fmt::format("{} is damaged (bytes after the trailer at offset {})", path.string(),
                        bytes.size()));
}

TEST_F(TablesFileTest, OtherFilesAreNotOurs) {
  const std::string bytes = Bytes(Write("whole.pgtables"));
  for (const std::string& other :
       {std::string("PGDMP\x01\x0e"), std::string(), "BKPGTBL1" + std::string("\0\0\0\x02{}", 6),
        "BKPGTBL1" + std::string("\xff\0\0\0", 4),
        "BKPGTBL1" + std::string("\0\0\0\x1e", 4) + R"({"format":"other","tables":[]})"}) {
    const fs::path path = WriteBytes("other.pgtables", other);
    const Status status = ReadAll(path);
    EXPECT_EQ(status.code(), Code::kInvalidArgument);
    EXPECT_EQ(status.message(),
              fmt::format("{} is not a backout table backup (made by a backup step with "
                          "`tables:`)",
                          path.string()));
  }
  std::string newer = bytes;
  const std::size_t version = newer.find("\"version\":1");
  ASSERT_NE(version, std::string::npos);
  newer[version + 10] = '2';
  const fs::path path = WriteBytes("newer.pgtables", newer);
  EXPECT_EQ(ReadAll(path).message(),
            fmt::format("{} is a backout table backup of version 2; this build reads version 1",
                        path.string()));
}

TEST_F(TablesFileTest, AHeaderTableWithoutColumnsIsDamage) {
  const std::string header = R"({"format":"backout-pg-tables","version":1,"tables":[{"name":"t"}]})";
  std::string bytes = "BKPGTBL1";
  bytes += std::string(1, '\0') + std::string(1, '\0') + std::string(1, '\0') +
           static_cast<char>(header.size());
  bytes += header;
  const fs::path path = WriteBytes("columns.pgtables", bytes);
  EXPECT_EQ(ReadAll(path).ToString(),
            fmt::format("Corruption: {} is damaged (table 1 of the header lacks a name, "
                        "relation, kind or columns at offset 12)",
                        path.string()));
}

}  // namespace
}  // namespace backout::adapters::postgres
