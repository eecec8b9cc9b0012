// Internal to the PostgreSQL adapter: backout's table-data backup file (`backup` with
// `tables:`), a writer and a reader of its layout and nothing else: what goes into it and
// what is done with what comes out (COPY, TRUNCATE, indexes) is backup.cc's business.
//
// Layout (all integers big-endian):
//
//   magic        8 bytes "BKPGTBL1"
//   header       u32 length + JSON {"format":"backout-pg-tables","version":1,"database",
//                "server_version","created_micros","tables":[{"name","relation","kind",
//                "columns":[{"name","type"}]}]}   (columns quoted, generated ones left out)
//   per table, in header order (referenced tables before the tables that refer to them):
//     'T'        1 byte
//     index      u32, the table's position in header.tables
//     chunks     u32 length (> 0) + that many bytes of the COPY BINARY stream, repeated
//     end        u32 0
//     rows       u64, the row count COPY reported
//   trailer      'E' + u32 number of tables
//
// No compression and no SQL text: both directions run at the speed the server copies rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/common/files.h"
#include "base/file_util.h"
#include "base/sha256.h"
#include "base/status.h"

namespace backout::adapters::postgres {

// "backout-pg-tables": the header's "format", and the backup's outputs' "format".
inline constexpr std::string_view kTablesFileFormat = "backout-pg-tables";

// One table as the header describes it.
struct TablesFileTable {
  std::string name;        // as the plan named it ("orders", "sales.orders")
  std::string relation;    // regclass text, when it was backed up
  char kind = 'r';         // pg_class.relkind: 'r' or 'p'
  nlohmann::json columns;  // [{"name": quoted name, "type": format_type}], in COPY order
};

struct TablesFileHeader {
  std::string database;
  int server_version = 0;
  std::int64_t created_micros = 0;
  std::vector<TablesFileTable> tables;
};

// Writes one file front to back into `out` (opened; the caller commits it):
//   WriteHeader, then for each table of the header in order BeginTable, AppendData...,
//   EndTable, then Finish.
// COPY data is gathered into chunks of about 1 MiB. Errors are `out`'s.
class TablesFileWriter {
 public:
  explicit TablesFileWriter(common::StreamedFile& out);

  Status WriteHeader(const TablesFileHeader& header);
  // Starts the section of header.tables[index].
  Status BeginTable(std::size_t index);
  // Bytes of the table's COPY ... TO STDOUT (FORMAT binary) stream, in order.
  Status AppendData(std::string_view data);
  // Ends the section with the row count COPY reported.
  Status EndTable(std::uint64_t rows);
  // The trailer; after the last table.
  Status Finish();

 private:
  Status FlushChunk();

  common::StreamedFile& out_;
  std::size_t tables_ = 0;  // in the header
  std::string chunk_;
};

// Reads one file front to back, hashing every byte read (a backup's recorded sha256 covers
// the whole file, so Sha256() is comparable once Finish() succeeded):
//   Open (magic and header), then per section NextTable, NextChunk... until it returns an
//   empty chunk (or SkipTable), recorded_rows(), and after the last section Finish.
//
// Errors name the file and where it went wrong:
//   kInvalidArgument "PATH is not a backout table backup (made by a backup step with
//     `tables:`)": not this format at all (another file, or a header that is not ours);
//   kCorruption "PATH ends early: the file is truncated (need N bytes for WHAT at offset O,
//     have H)";
//   kCorruption "PATH is damaged (WHAT at offset O: ...)": a bad section tag or table
//     index, a chunk longer than 64 MiB, a bad trailer, bytes after the trailer;
//   kIOError for a file that cannot be opened or read.
class TablesFileReader {
 public:
  TablesFileReader() = default;
  TablesFileReader(const TablesFileReader&) = delete;
  TablesFileReader& operator=(const TablesFileReader&) = delete;

  Status Open(const std::filesystem::path& path);
  const TablesFileHeader& header() const { return header_; }

  // Starts the next section: the index of its table in header().tables.
  Result<std::size_t> NextTable();
  // The next chunk of the current table's COPY stream (valid until the next read); empty at
  // the end of the table's data, when recorded_rows() is known.
  Result<std::string_view> NextChunk();
  // Reads past the rest of the current table's data.
  Status SkipTable();
  // The row count the current section recorded; after NextChunk returned an empty chunk.
  std::uint64_t recorded_rows() const { return recorded_rows_; }
  // The trailer, and nothing after it.
  Status Finish();

  std::uint64_t bytes() const { return offset_; }
  std::string Sha256() { return ToHex(hash_.Finish()); }

 private:
  Status Read(std::size_t n, std::string_view what, std::string* out);
  Result<std::uint64_t> ReadInteger(int bytes, std::string_view what);
  Status Damaged(std::uint64_t offset, std::string_view what) const;
  Status ReadHeader();

  std::filesystem::path path_;
  UniqueFd fd_;
  Sha256Stream hash_;
  std::uint64_t offset_ = 0;  // bytes read so far
  TablesFileHeader header_;
  std::size_t table_ = 0;     // the current section's table
  std::uint64_t recorded_rows_ = 0;
  std::string buffer_;
};

}  // namespace backout::adapters::postgres
