#include "journal/export.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "base/file_util.h"
#include "base/json_text.h"
#include "base/utf8.h"
#include "journal/record_codec.h"

namespace backout::journal {
namespace {

using nlohmann::json;

// The fields of an export line, in the order ExportRecords writes them.
// A version 1 record's line has no "os_user" and "os_uid"; a version 2 record's has both.
constexpr std::string_view kFieldNames[] = {"run_id",  "seq",     "time_us",   "type",
                                            "operator", "host",    "os_user",   "os_uid",
                                            "payload", "chain",   "prev_hash", "hash"};

Status BadField(std::string_view name, std::string_view problem) {
  return Status::Corruption(fmt::format("field '{}' {}", name, problem));
}

// The member `name` of the object `line`, or nullptr.
const json* Member(const json& line, std::string_view name) {
  const auto it = line.find(name);
  return it == line.end() ? nullptr : &*it;
}

Status ReadString(const json& line, std::string_view name, std::string* out) {
  const json* value = Member(line, name);
  if (value == nullptr || !value->is_string()) return BadField(name, "is missing or not a string");
  const std::string& s = value->get_ref<const std::string&>();
  if (s.size() > kMaxFieldBytes) {
    return BadField(name, fmt::format("has {} bytes, over the {} MiB limit", s.size(),
                                      kMaxFieldBytes >> 20));
  }
  *out = s;
  return Status::Ok();
}

Status ReadSeq(const json& line, std::uint64_t* out) {
  const json* value = Member(line, "seq");
  if (value == nullptr || !value->is_number_unsigned()) {
    return BadField("seq", "is missing or not an unsigned integer");
  }
  *out = value->get<std::uint64_t>();
  return Status::Ok();
}

Status ReadTime(const json& line, std::int64_t* out) {
  const json* value = Member(line, "time_us");
  const bool fits = value != nullptr && value->is_number_integer() &&
                    (!value->is_number_unsigned() ||
                     value->get<std::uint64_t>() <=
                         static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!fits) return BadField("time_us", "is missing or not a 64-bit integer");
  *out = value->get<std::int64_t>();
  return Status::Ok();
}

Status ReadChainMode(const json& line, ChainMode* out) {
  std::string name;
  BACKOUT_RETURN_IF_ERROR(ReadString(line, "chain", &name));
  for (ChainMode mode : {ChainMode::kSha256, ChainMode::kHmacSha256}) {
    if (name == ChainModeName(mode)) {
      *out = mode;
      return Status::Ok();
    }
  }
  return BadField("chain", fmt::format("is '{}', expected 'sha256' or 'hmac-sha256'", name));
}

Status ReadDigest(const json& line, std::string_view name, Digest* out) {
  const json* value = Member(line, name);
  const std::optional<Digest> digest =
      value != nullptr && value->is_string()
          ? DigestFromHex(value->get_ref<const std::string&>())
          : std::nullopt;
  if (!digest) return BadField(name, "is missing or not 64 hex digits");
  *out = *digest;
  return Status::Ok();
}

// os_uid: the uid, or null for OsUser::kUnknownUid (which is never written as a number, so
// that a record has one line).
Status ReadOsUid(const json& line, std::uint32_t* out) {
  const json* value = Member(line, "os_uid");
  if (value != nullptr && value->is_null()) {
    *out = OsUser::kUnknownUid;
    return Status::Ok();
  }
  if (value == nullptr || !value->is_number_unsigned() ||
      value->get<std::uint64_t>() >= OsUser::kUnknownUid) {
    return BadField("os_uid", fmt::format("is missing or not a uid (an integer below {}, or "
                                          "null if unknown)", OsUser::kUnknownUid));
  }
  *out = static_cast<std::uint32_t>(value->get<std::uint64_t>());
  return Status::Ok();
}

// The OS user of a line: a line with both fields is a version 2 record's, a line with neither
// a version 1 record's, and a line with one of them is neither.
Status ReadOsUser(const json& line, Record* r) {
  const bool has_user = Member(line, "os_user") != nullptr;
  const bool has_uid = Member(line, "os_uid") != nullptr;
  if (!has_user && !has_uid) {
    r->format_version = kOldestRecordFormatVersion;
    return Status::Ok();
  }
  if (!has_user || !has_uid) {
    return BadField(has_user ? "os_uid" : "os_user",
                    fmt::format("is missing, but '{}' is there (a record line has both or, for "
                                "a record of format version 1, neither)",
                                has_user ? "os_user" : "os_uid"));
  }
  r->format_version = kOsUserFormatVersion;
  BACKOUT_RETURN_IF_ERROR(ReadString(line, "os_user", &r->os_user));
  return ReadOsUid(line, &r->os_uid);
}

// The record a parsed line describes, without checking its hash or chain.
Result<Record> RecordFromLine(const json& line) {
  if (!line.is_object()) return Status::Corruption("not a JSON object");
  for (const auto& member : line.items()) {
    if (std::find(std::begin(kFieldNames), std::end(kFieldNames), member.key()) ==
        std::end(kFieldNames)) {
      return Status::Corruption(fmt::format("unknown field '{}'", member.key()));
    }
  }
  Record r;
  BACKOUT_RETURN_IF_ERROR(ReadSeq(line, &r.seq));
  const Status fields = [&] {
    BACKOUT_RETURN_IF_ERROR(ReadString(line, "run_id", &r.run_id));
    BACKOUT_RETURN_IF_ERROR(ReadTime(line, &r.time_us));
    BACKOUT_RETURN_IF_ERROR(ReadString(line, "type", &r.type));
    BACKOUT_RETURN_IF_ERROR(ReadString(line, "operator", &r.operator_name));
    BACKOUT_RETURN_IF_ERROR(ReadString(line, "host", &r.host));
    BACKOUT_RETURN_IF_ERROR(ReadOsUser(line, &r));
    BACKOUT_RETURN_IF_ERROR(ReadString(line, "payload", &r.payload));
    BACKOUT_RETURN_IF_ERROR(ReadChainMode(line, &r.chain_mode));
    BACKOUT_RETURN_IF_ERROR(ReadDigest(line, "prev_hash", &r.prev_hash));
    return ReadDigest(line, "hash", &r.hash);
  }();
  if (!fields.ok()) return fields.WithContext(fmt::format("event #{}", r.seq));
  return r;
}

// The record on one line of an export, checked as a stored record (by re-encoding it) and as
// the successor of `prev` (nullptr for the first line).
Result<Record> CheckedRecordFromLine(const json& line, const Record* prev, const ChainKey& key,
                                     KeyedHashes keyed) {
  Result<Record> parsed = RecordFromLine(line);
  if (!parsed.ok()) return parsed;
  Result<Record> record = parsed;
  if (parsed->chain_mode == ChainMode::kHmacSha256 && key.empty() &&
      keyed == KeyedHashes::kLeaveToSignatures) {
    // DecodeRecord's checks but the hash, which needs the key (the signatures cover it).
    if (parsed->run_id.empty()) return EventCorruption(parsed->seq, "field 'run_id' is empty");
    if (parsed->type.empty()) return EventCorruption(parsed->seq, "field 'type' is empty");
  } else {
    record = DecodeRecord(EncodeRecord(*parsed), parsed->seq, key);
    if (!record.ok()) return record;
  }
  BACKOUT_RETURN_IF_ERROR(CheckChainLink(prev, *record));
  return record;
}

// The fields of a signature line's object, in the order ExportRecords writes them.
constexpr std::string_view kSignatureFieldNames[] = {"seq", "records_digest", "key",
                                                     "public_key", "signature"};

// The signature on a line {"signature":{...}}, which must sign `prev` (the record before it).
Result<Signature> SignatureFromLine(const json& object, const Record* prev) {
  if (!object.is_object()) return Status::Corruption("'signature' is not an object");
  for (const auto& member : object.items()) {
    if (std::find(std::begin(kSignatureFieldNames), std::end(kSignatureFieldNames),
                  member.key()) == std::end(kSignatureFieldNames)) {
      return Status::Corruption(fmt::format("signature: unknown field '{}'", member.key()));
    }
  }
  Signature s;
  BACKOUT_RETURN_IF_ERROR(ReadSeq(object, &s.seq).WithContext("signature"));
  const Status fields = [&] {
    if (prev == nullptr || prev->seq != s.seq) {
      return Status::Corruption("not right after the event it signs (lines were moved)");
    }
    BACKOUT_RETURN_IF_ERROR(ReadDigest(object, "records_digest", &s.records_digest));
    BACKOUT_RETURN_IF_ERROR(ReadDigest(object, "public_key", &s.public_key));
    const json* signature = Member(object, "signature");
    const std::string hex = signature != nullptr && signature->is_string()
                                ? signature->get<std::string>()
                                : std::string();
    const std::optional<Digest> high =
        hex.size() == 128 ? DigestFromHex(std::string_view(hex).substr(0, 64)) : std::nullopt;
    const std::optional<Digest> low =
        hex.size() == 128 ? DigestFromHex(std::string_view(hex).substr(64)) : std::nullopt;
    if (!high || !low) return BadField("signature", "is missing or not 128 hex digits");
    std::copy(high->begin(), high->end(), s.signature.begin());
    std::copy(low->begin(), low->end(), s.signature.begin() + 32);
    std::string fingerprint;
    BACKOUT_RETURN_IF_ERROR(ReadString(object, "key", &fingerprint));
    if (fingerprint != KeyFingerprint(s.public_key)) {
      return BadField("key", fmt::format("is '{}', but public_key's fingerprint is {}",
                                         fingerprint, KeyFingerprint(s.public_key)));
    }
    return Status::Ok();
  }();
  if (!fields.ok()) return fields.WithContext(fmt::format("signature of event #{}", s.seq));
  return s;
}

nlohmann::ordered_json LineOf(const Record& r) {
  nlohmann::ordered_json line = {{"run_id", r.run_id},
                                 {"seq", r.seq},
                                 {"time_us", r.time_us},
                                 {"type", r.type},
                                 {"operator", r.operator_name},
                                 {"host", r.host}};
  // A version 1 record's line stays as it was written before the OS user was recorded.
  if (r.format_version >= kOsUserFormatVersion) {
    line["os_user"] = r.os_user;
    line["os_uid"] = r.os_uid == OsUser::kUnknownUid ? nlohmann::ordered_json(nullptr)
                                                     : nlohmann::ordered_json(r.os_uid);
  }
  line["payload"] = r.payload;
  line["chain"] = ChainModeName(r.chain_mode);
  line["prev_hash"] = ToHex(r.prev_hash);
  line["hash"] = ToHex(r.hash);
  return line;
}

std::string SignatureHex(const SignatureBytes& signature) {
  Digest high{}, low{};
  std::copy(signature.begin(), signature.begin() + 32, high.begin());
  std::copy(signature.begin() + 32, signature.end(), low.begin());
  return ToHex(high) + ToHex(low);
}

nlohmann::ordered_json LineOf(const Signature& s) {
  return {{"signature",
           {{"seq", s.seq},
            {"records_digest", ToHex(s.records_digest)},
            {"key", KeyFingerprint(s.public_key)},
            {"public_key", ToHex(s.public_key)},
            {"signature", SignatureHex(s.signature)}}}};
}

// --- step log lines ({"log":{...}}) ---------------------------------------------------

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> FromBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = 0;
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && padding < 2; --i) ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// A plain file name: what an import may create in a run's logs/ directory.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= 255 &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

// The step log on a line {"log":{...}}.
Result<ExportedLog> LogFromLine(const json& log) {
  if (!log.is_object()) return Status::Corruption("'log' is not an object");
  ExportedLog out;
  std::string encoding, content, sha256;
  const Status fields = [&] {
    BACKOUT_RETURN_IF_ERROR(ReadString(log, "step", &out.step));
    BACKOUT_RETURN_IF_ERROR(ReadString(log, "file", &out.file));
    BACKOUT_RETURN_IF_ERROR(ReadString(log, "encoding", &encoding));
    // Not ReadString: a log may be larger than a record's field.
    const json* content_field = Member(log, "content");
    if (content_field == nullptr || !content_field->is_string()) {
      return BadField("content", "is missing or not a string");
    }
    content = content_field->get<std::string>();
    BACKOUT_RETURN_IF_ERROR(ReadString(log, "sha256", &sha256));
    const json* attempt = Member(log, "attempt");
    const json* bytes = Member(log, "bytes");
    const json* journaled = Member(log, "journaled");
    if (attempt == nullptr || !attempt->is_number_unsigned() || attempt->get<std::uint64_t>() < 1 ||
        attempt->get<std::uint64_t>() > std::numeric_limits<int>::max()) {
      return BadField("attempt", "is missing or not a positive integer");
    }
    out.attempt = attempt->get<int>();
    if (bytes == nullptr || !bytes->is_number_unsigned()) {
      return BadField("bytes", "is missing or not an unsigned integer");
    }
    if (journaled == nullptr || !journaled->is_boolean()) {
      return BadField("journaled", "is missing or not a boolean");
    }
    out.journaled = journaled->get<bool>();
    if (!IsPlainFileName(out.file)) return BadField("file", "is not a plain file name");
    if (encoding == "utf-8") {
      out.content = std::move(content);
    } else if (encoding != "base64") {
      return BadField("encoding", fmt::format("is '{}', expected 'utf-8' or 'base64'", encoding));
    } else if (std::optional<std::string> decoded = FromBase64(content)) {
      out.content = std::move(*decoded);
    } else {
      return BadField("content", "is not base64");
    }
    if (bytes->get<std::uint64_t>() != out.content.size() || sha256 != Sha256Hex(out.content)) {
      return Status::Corruption(
          fmt::format("the content of log {} does not match its bytes and sha256", out.file));
    }
    return Status::Ok();
  }();
  if (!fields.ok()) return fields.WithContext(fmt::format("log of step {}", out.step));
  return out;
}

}  // namespace

std::string ExportLogLine(const ExportedLog& log) {
  const bool utf8 = IsValidUtf8(log.content);
  const nlohmann::ordered_json fields = {{"step", log.step},
                                         {"attempt", log.attempt},
                                         {"file", log.file},
                                         {"bytes", log.content.size()},
                                         {"sha256", Sha256Hex(log.content)},
                                         {"journaled", log.journaled},
                                         {"encoding", utf8 ? "utf-8" : "base64"},
                                         {"content", utf8 ? log.content : Base64(log.content)}};
  return nlohmann::ordered_json{{"log", fields}}.dump(-1, ' ', /*ensure_ascii=*/false) + "\n";
}

Result<std::string> ExportRecords(const std::vector<Record>& records,
                                  const std::vector<Signature>& signatures) {
  std::string out;
  auto signature = signatures.begin();
  for (const Record& r : records) {
    try {
      out += LineOf(r).dump(-1, ' ', /*ensure_ascii=*/false);
    } catch (const json::type_error&) {
      return Status::InvalidArgument(fmt::format(
          "run {}: event #{}: a field is not valid UTF-8, which JSON cannot carry", r.run_id,
          r.seq));
    }
    out += '\n';
    for (; signature != signatures.end() && signature->seq == r.seq; ++signature) {
      out += LineOf(*signature).dump() + '\n';
    }
  }
  return out;
}

Result<SignedRun> ParseSignedExport(std::string_view text, std::string_view source,
                                    const ChainKey& key, KeyedHashes keyed,
                                    std::vector<ExportedLog>* logs) {
  SignedRun run;
  std::size_t line_number = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    ++line_number;
    const Record* prev = run.records.empty() ? nullptr : &run.records.back();
    const Status added = [&]() -> Status {
      const json line = ParseJsonText(text.substr(start, end - start));
      if (line.is_discarded()) return Status::Corruption("not valid JSON");
      // Lines of other kinds are objects whose one member names the kind.
      if (line.is_object() && line.size() == 1 && line.contains("log")) {
        Result<ExportedLog> log = LogFromLine(line["log"]);
        if (!log.ok()) return log.status();
        if (logs != nullptr) logs->push_back(std::move(log).value());
        return Status::Ok();
      }
      if (line.is_object() && line.size() == 1 && line.contains("signature")) {
        Result<Signature> signature = SignatureFromLine(line["signature"], prev);
        if (!signature.ok()) return signature.status();
        run.signatures.push_back(*signature);
        return Status::Ok();
      }
      Result<Record> record = CheckedRecordFromLine(line, prev, key, keyed);
      if (!record.ok()) return record.status();
      run.records.push_back(std::move(record).value());
      return Status::Ok();
    }();
    if (!added.ok()) return added.WithContext(fmt::format("{}:{}", source, line_number));
    start = end + 1;
  }
  if (run.records.empty()) {
    return Status::Corruption(fmt::format("{}: no records (an export holds one line per event "
                                          "of a run)", source));
  }
  return run;
}

Result<std::vector<Record>> ParseExport(std::string_view text, std::string_view source,
                                        const ChainKey& key, std::vector<ExportedLog>* logs) {
  Result<SignedRun> run = ParseSignedExport(text, source, key, KeyedHashes::kNeedKey, logs);
  if (!run.ok()) return run.status();
  return std::move(run->records);
}

Result<SignedRun> ReadSignedExportFile(const std::filesystem::path& path, const ChainKey& key,
                                       KeyedHashes keyed, std::vector<ExportedLog>* logs) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseSignedExport(*text, path.string(), key, keyed, logs);
}

Result<std::vector<Record>> ReadExportFile(const std::filesystem::path& path,
                                           const ChainKey& key, std::vector<ExportedLog>* logs) {
  Result<SignedRun> run = ReadSignedExportFile(path, key, KeyedHashes::kNeedKey, logs);
  if (!run.ok()) return run.status();
  return std::move(run->records);
}

std::optional<Digest> DigestFromHex(std::string_view hex) {
  Digest digest{};
  if (hex.size() != 2 * digest.size()) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < digest.size(); ++i) {
    const int high = nibble(hex[2 * i]);
    const int low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return digest;
}

}  // namespace backout::journal
