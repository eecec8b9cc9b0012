#include "journal/note_queue.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/file_util.h"
#include "base/utf8.h"

namespace backout::journal {
namespace fs = std::filesystem;

namespace {

// Queued note ids are digits, '-' and hex digits: a temp file (with its '.') never is one.
bool IsQueuedNoteId(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == '-';
  });
}

}  // namespace

Result<std::string> QueueNote(const Journal& journal, const std::string& run_id,
                              const QueuedNote& note) {
  // Only the run's existence matters here: a queue must not create a run's folder.
  BACKOUT_RETURN_IF_ERROR(journal.Holder(run_id).status());
  const fs::path dir = journal.NoteQueueDir(run_id);
  BACKOUT_RETURN_IF_ERROR(CreatePrivateDirectories(dir));
  std::random_device rd;
  const std::string id =
      fmt::format("{:020}-{}-{:04x}", Env::Default()->NowMicros(), ::getpid(), rd() & 0xffff);
  // The operator's name, the host and the text may be any bytes; JSON carries UTF-8 only.
  const nlohmann::json body = {{"operator", MarkInvalidUtf8(note.operator_name)},
                               {"host", MarkInvalidUtf8(note.host)},
                               {"text", MarkInvalidUtf8(note.text)}};
  BACKOUT_RETURN_IF_ERROR(WriteFileAtomically(dir / id, body.dump(), 0600));
  return id;
}

Result<std::vector<QueuedNote>> QueuedNotes(const Journal& journal, const std::string& run_id) {
  const fs::path dir = journal.NoteQueueDir(run_id);
  std::vector<std::string> ids;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return std::vector<QueuedNote>();
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (IsQueuedNoteId(name)) ids.push_back(name);
  }
  if (ec) {
    return Status::IOError(fmt::format("{}: list queued notes: {}", dir.string(), ec.message()));
  }
  std::sort(ids.begin(), ids.end());
  std::vector<QueuedNote> notes;
  for (const std::string& id : ids) {
    Result<std::string> text = ReadFileToString(dir / id);
    if (!text.ok()) {
      if (text.status().code() == Code::kNotFound) continue;  // journaled meanwhile
      return text.status();
    }
    const nlohmann::json body = nlohmann::json::parse(*text, nullptr, false);
    if (!body.is_object() || !body.value("text", nlohmann::json()).is_string() ||
        !body.value("operator", nlohmann::json()).is_string() ||
        !body.value("host", nlohmann::json()).is_string()) {
      return Status::Corruption(
          fmt::format("{}: not a queued note (operator, host and text expected)",
                      (dir / id).string()));
    }
    notes.push_back(QueuedNote{.id = id,
                               .operator_name = body["operator"].get<std::string>(),
                               .host = body["host"].get<std::string>(),
                               .text = body["text"].get<std::string>()});
  }
  return notes;
}

Status RemoveQueuedNote(const Journal& journal, const std::string& run_id,
                        const std::string& id) {
  std::error_code ec;
  fs::remove(journal.NoteQueueDir(run_id) / id, ec);
  if (ec) return Status::IOError(fmt::format("remove queued note {}: {}", id, ec.message()));
  return Status::Ok();
}

}  // namespace backout::journal
