#include "adapters/postgres/backup_format.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace backout::adapters::postgres {
namespace {

using nlohmann::json;

constexpr std::string_view kMagic = "BKPGTBL1";
constexpr int kVersion = 1;
constexpr std::size_t kChunkBytes = 1 << 20;
constexpr std::uint32_t kMaxChunkBytes = 64u << 20;  // a sanity bound when reading
constexpr std::uint32_t kMaxHeaderBytes = 64u << 20;
constexpr char kTableTag = 'T';
constexpr char kTrailerTag = 'E';

std::string BigEndian(std::uint64_t value, int bytes) {
  std::string out(static_cast<std::size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

json HeaderJson(const TablesFileHeader& header) {
  json tables = json::array();
  for (const TablesFileTable& table : header.tables) {
    tables.push_back({{"name", table.name},
                      {"relation", table.relation},
                      {"kind", std::string(1, table.kind)},
                      {"columns", table.columns}});
  }
  return {{"format", kTablesFileFormat},
          {"version", kVersion},
          {"database", header.database},
          {"server_version", header.server_version},
          {"created_micros", header.created_micros},
          {"tables", std::move(tables)}};
}

bool IsString(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string();
}

// The header's tables, or what is wrong with them.
Result<std::vector<TablesFileTable>> TablesOf(const json& tables) {
  std::vector<TablesFileTable> out;
  for (std::size_t i = 0; i < tables.size(); ++i) {
    const json& table = tables[i];
    if (!table.is_object() || !IsString(table, "name") || !IsString(table, "relation") ||
        !IsString(table, "kind") || table.at("kind").get_ref<const std::string&>().size() != 1 ||
        !table.contains("columns") || !table.at("columns").is_array()) {
      return Status::Corruption(fmt::format(
          "table {} of the header lacks a name, relation, kind or columns", i + 1));
    }
    out.push_back({table.at("name").get<std::string>(), table.at("relation").get<std::string>(),
                   table.at("kind").get_ref<const std::string&>()[0], table.at("columns")});
  }
  return out;
}

}  // namespace

TablesFileWriter::TablesFileWriter(common::StreamedFile& out) : out_(out) {
  chunk_.reserve(kChunkBytes + 65536);
}

Status TablesFileWriter::WriteHeader(const TablesFileHeader& header) {
  tables_ = header.tables.size();
  const std::string text = HeaderJson(header).dump();
  BACKOUT_RETURN_IF_ERROR(out_.Append(kMagic));
  BACKOUT_RETURN_IF_ERROR(out_.Append(BigEndian(text.size(), 4)));
  return out_.Append(text);
}

Status TablesFileWriter::BeginTable(std::size_t index) {
  BACKOUT_RETURN_IF_ERROR(out_.Append(std::string_view(&kTableTag, 1)));
  return out_.Append(BigEndian(index, 4));
}

Status TablesFileWriter::AppendData(std::string_view data) {
  chunk_.append(data);
  return chunk_.size() >= kChunkBytes ? FlushChunk() : Status::Ok();
}

Status TablesFileWriter::FlushChunk() {
  if (chunk_.empty()) return Status::Ok();  // a zero length would end the table's data
  BACKOUT_RETURN_IF_ERROR(out_.Append(BigEndian(chunk_.size(), 4)));
  BACKOUT_RETURN_IF_ERROR(out_.Append(chunk_));
  chunk_.clear();
  return Status::Ok();
}

Status TablesFileWriter::EndTable(std::uint64_t rows) {
  BACKOUT_RETURN_IF_ERROR(FlushChunk());
  BACKOUT_RETURN_IF_ERROR(out_.Append(BigEndian(0, 4)));
  return out_.Append(BigEndian(rows, 8));
}

Status TablesFileWriter::Finish() {
  BACKOUT_RETURN_IF_ERROR(out_.Append(std::string_view(&kTrailerTag, 1)));
  return out_.Append(BigEndian(tables_, 4));
}

Status TablesFileReader::Open(const std::filesystem::path& path) {
  path_ = path;
  fd_.Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_.valid()) return common::ErrnoError("cannot open", path);
  return ReadHeader();
}

Status TablesFileReader::ReadHeader() {
  const Status not_ours = Status::InvalidArgument(fmt::format(
      "{} is not a backout table backup (made by a backup step with `tables:`)",
      path_.string()));
  if (!Read(kMagic.size(), "the magic", &buffer_).ok() || buffer_ != kMagic) return not_ours;
  Result<std::uint64_t> size = ReadInteger(4, "the header length");
  if (!size.ok()) return size.status();
  if (*size > kMaxHeaderBytes) return not_ours;
  const std::uint64_t at = offset_;
  BACKOUT_RETURN_IF_ERROR(Read(*size, "the header", &buffer_));
  const json header = json::parse(buffer_, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object() || header.value("format", "") != kTablesFileFormat ||
      !header.contains("tables") || !header.at("tables").is_array()) {
    return not_ours;
  }
  if (header.value("version", 0) != kVersion) {
    return Status::InvalidArgument(fmt::format(
        "{} is a backout table backup of version {}; this build reads version {}",
        path_.string(), header.value("version", json()).dump(), kVersion));
  }
  Result<std::vector<TablesFileTable>> tables = TablesOf(header.at("tables"));
  if (!tables.ok()) return Damaged(at, tables.status().message());
  header_.database = header.value("database", "");
  header_.server_version = header.value("server_version", 0);
  header_.created_micros = header.value("created_micros", std::int64_t{0});
  header_.tables = std::move(tables).value();
  return Status::Ok();
}

Status TablesFileReader::Read(std::size_t n, std::string_view what, std::string* out) {
  out->resize(n);
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd_.get(), out->data() + done, n - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return common::ErrnoError("cannot read", path_);
    if (got == 0) {
      return Status::Corruption(fmt::format(
          "{} ends early: the file is truncated (need {} byte{} for {} at offset {}, have {})",
          path_.string(), n, n == 1 ? "" : "s", what, offset_, done));
    }
    done += static_cast<std::size_t>(got);
  }
  hash_.Update(*out);
  offset_ += n;
  return Status::Ok();
}

Result<std::uint64_t> TablesFileReader::ReadInteger(int bytes, std::string_view what) {
  BACKOUT_RETURN_IF_ERROR(Read(static_cast<std::size_t>(bytes), what, &buffer_));
  std::uint64_t value = 0;
  for (char ch : buffer_) value = (value << 8) | static_cast<unsigned char>(ch);
  return value;
}

Status TablesFileReader::Damaged(std::uint64_t offset, std::string_view what) const {
  return Status::Corruption(
      fmt::format("{} is damaged ({} at offset {})", path_.string(), what, offset));
}

Result<std::size_t> TablesFileReader::NextTable() {
  const std::uint64_t at = offset_;
  Result<std::uint64_t> tag = ReadInteger(1, "a table section's tag");
  if (!tag.ok()) return tag.status();
  if (*tag != static_cast<unsigned char>(kTableTag)) {
    return Damaged(at, fmt::format("bad table section: tag 0x{:02x}, expected 'T'", *tag));
  }
  Result<std::uint64_t> index = ReadInteger(4, "a table section's index");
  if (!index.ok()) return index.status();
  if (*index >= header_.tables.size()) {
    return Damaged(at, fmt::format("bad table section: table {} of {}", *index,
                                   header_.tables.size()));
  }
  table_ = static_cast<std::size_t>(*index);
  recorded_rows_ = 0;
  return table_;
}

Result<std::string_view> TablesFileReader::NextChunk() {
  const std::string what = fmt::format("table '{}'", header_.tables[table_].name);
  const std::uint64_t at = offset_;
  Result<std::uint64_t> size = ReadInteger(4, "the chunk length of " + what);
  if (!size.ok()) return size.status();
  if (*size > kMaxChunkBytes) {
    return Damaged(at, fmt::format("chunk too large: {} bytes in {}, at most {}", *size, what,
                                   kMaxChunkBytes));
  }
  if (*size == 0) {
    Result<std::uint64_t> rows = ReadInteger(8, "the row count of " + what);
    if (!rows.ok()) return rows.status();
    recorded_rows_ = *rows;
    return std::string_view();
  }
  BACKOUT_RETURN_IF_ERROR(Read(*size, "a chunk of " + what, &buffer_));
  return std::string_view(buffer_);
}

Status TablesFileReader::SkipTable() {
  while (true) {
    Result<std::string_view> chunk = NextChunk();
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) return Status::Ok();
  }
}

Status TablesFileReader::Finish() {
  const std::uint64_t at = offset_;
  Result<std::uint64_t> tag = ReadInteger(1, "the trailer");
  if (!tag.ok()) return tag.status();
  Result<std::uint64_t> count = ReadInteger(4, "the trailer's table count");
  if (!count.ok()) return count.status();
  if (*tag != static_cast<unsigned char>(kTrailerTag) || *count != header_.tables.size()) {
    return Damaged(at, fmt::format("bad trailer: tag 0x{:02x} and {} tables, expected 'E' and {}",
                                   *tag, *count, header_.tables.size()));
  }
  char byte = 0;
  const ssize_t extra = ::read(fd_.get(), &byte, 1);
  if (extra < 0) return common::ErrnoError("cannot read", path_);
  if (extra > 0) return Damaged(offset_, "bytes after the trailer");
  return Status::Ok();
}

}  // namespace backout::adapters::postgres
