#include "catalog/stream.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace backout::catalog {
namespace {

using nlohmann::json;

constexpr char kRetentionDecided[] = "RetentionDecided";
constexpr char kBackupDeleted[] = "BackupDeleted";

json RulesToJson(const RetentionRules& rules) {
  json out = json::object();
  if (rules.keep_last) out["keep_last"] = *rules.keep_last;
  if (rules.keep_within_ms) out["keep_within_ms"] = *rules.keep_within_ms;
  if (!rules.target.empty()) out["target"] = rules.target;
  return out;
}

std::string Type(const StreamBody& body) {
  return std::holds_alternative<RetentionDecided>(body) ? kRetentionDecided : kBackupDeleted;
}

json Encode(const StreamBody& body) {
  if (const auto* decided = std::get_if<RetentionDecided>(&body)) {
    json deletes = json::array();
    for (const DoomedBackup& d : decided->deletes) {
      deletes.push_back({{"id", d.id},
                         {"location", d.location},
                         {"sha256", d.sha256},
                         {"bytes", d.bytes},
                         {"reason", d.reason}});
    }
    return {{"rules", RulesToJson(decided->rules)},
            {"deletes", std::move(deletes)},
            {"kept", decided->kept}};
  }
  const auto& deleted = std::get<BackupDeleted>(body);
  return {{"id", deleted.id},
          {"location", deleted.location},
          {"sha256", deleted.sha256},
          {"bytes", deleted.bytes},
          {"outcome", deleted.outcome}};
}

// nlohmann's typed access throws on a type mismatch; the payload is checked by the caller's
// catch, which names the record (exceptions never leave this file).
Result<StreamBody> Decode(const std::string& type, const json& payload) {
  if (type == kRetentionDecided) {
    RetentionDecided decided;
    const json& rules = payload.at("rules");
    if (rules.contains("keep_last")) decided.rules.keep_last = rules.at("keep_last").get<int>();
    if (rules.contains("keep_within_ms")) {
      decided.rules.keep_within_ms = rules.at("keep_within_ms").get<std::int64_t>();
    }
    decided.rules.target = rules.value("target", "");
    for (const json& d : payload.at("deletes")) {
      decided.deletes.push_back(DoomedBackup{
          d.at("id").get<std::string>(), d.at("location").get<std::string>(),
          d.at("sha256").get<std::string>(), d.at("bytes").get<std::uint64_t>(),
          d.at("reason").get<std::string>()});
    }
    decided.kept = payload.at("kept").get<std::uint64_t>();
    return StreamBody(std::move(decided));
  }
  if (type == kBackupDeleted) {
    return StreamBody(BackupDeleted{
        payload.at("id").get<std::string>(), payload.at("location").get<std::string>(),
        payload.at("sha256").get<std::string>(), payload.at("bytes").get<std::uint64_t>(),
        payload.at("outcome").get<std::string>()});
  }
  return Status::Corruption(fmt::format("unknown event type '{}'", type));
}

Result<StreamEvent> EventOf(const journal::Record& record) {
  try {
    Result<StreamBody> body = Decode(record.type, json::parse(record.payload));
    if (!body.ok()) return body.status();
    return StreamEvent{record.seq, record.time_us, record.operator_name, record.host,
                       std::move(body).value()};
  } catch (const json::exception& e) {
    return Status::Corruption(fmt::format("{}: {}", record.type, e.what()));
  }
}

}  // namespace

std::filesystem::path StreamDir(const std::filesystem::path& journal_dir) {
  return journal_dir / kStreamDirName;
}

Result<std::vector<StreamEvent>> ReadStream(const journal::Journal& stream_journal) {
  Result<std::vector<journal::Record>> records = stream_journal.ReadRun(kStreamId);
  if (records.status().code() == Code::kNotFound) return std::vector<StreamEvent>();
  if (!records.ok()) return records.status().WithContext("the catalog stream");
  std::vector<StreamEvent> events;
  for (const journal::Record& record : *records) {
    Result<StreamEvent> event = EventOf(record);
    if (!event.ok()) {
      return Status::Corruption(
          fmt::format("the catalog stream {}: event #{} does not decode: {}",
                      stream_journal.dir().string(), record.seq,
                      event.status().message()));
    }
    events.push_back(std::move(event).value());
  }
  return events;
}

Result<std::unique_ptr<StreamWriter>> StreamWriter::Open(const journal::Journal& stream_journal,
                                                         Env* env, std::string operator_name,
                                                         std::string host) {
  Result<std::unique_ptr<journal::RunWriter>> writer = stream_journal.OpenRun(kStreamId);
  if (writer.status().code() == Code::kNotFound) writer = stream_journal.CreateRun(kStreamId);
  if (!writer.ok()) return writer.status().WithContext("the catalog stream");
  return std::unique_ptr<StreamWriter>(new StreamWriter(
      std::move(writer).value(), env, std::move(operator_name), std::move(host)));
}

Status StreamWriter::Append(const StreamBody& body) {
  const journal::NewRecord record{.time_us = env_->NowMicros(),
                                  .type = Type(body),
                                  .operator_name = operator_name_,
                                  .host = host_,
                                  .payload = Encode(body).dump()};
  Result<std::span<const journal::Record>> appended = writer_->Append({&record, 1});
  if (!appended.ok()) return appended.status().WithContext("the catalog stream");
  return Status::Ok();
}

}  // namespace backout::catalog
