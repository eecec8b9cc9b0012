#include "catalog/catalog.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include "base/sha256.h"
#include "capture/capture.h"

namespace backout::catalog {
namespace {

using nlohmann::json;

constexpr std::size_t kIdDigits = 12;
constexpr std::size_t kMinIdPrefix = 4;
// What the redactor writes in place of a `${VAR}` value (base/redactor.h).
constexpr std::string_view kMasked = "***";

constexpr std::array<std::string_view, 3> kTakingActions = {"backup", "export", "dump"};
constexpr std::array<std::string_view, 2> kReadingActions = {"restore", "import"};

template <typename Range>
bool Contains(const Range& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string StringAt(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

std::uint64_t BytesAt(const json& object) {
  const auto found = object.find("bytes");
  return found != object.end() && found->is_number_unsigned() ? found->get<std::uint64_t>() : 0;
}

// One backup a step outcome names.
struct Named {
  Use use = Use::kTaken;
  std::string location;
  std::string table;
  std::uint64_t bytes = 0;
  std::string sha256;
};

constexpr std::array<const char*, 3> kStoreSettings = {"endpoint", "region", "path_style"};

// The settings journaled beside an object's `url` to reach it again (catalog/object_store.h).
json StoreSettingsOf(const json& outputs) {
  json settings = json::object();
  if (!outputs.contains("url")) return settings;
  for (const char* key : kStoreSettings) {
    if (const auto found = outputs.find(key); found != outputs.end()) settings[key] = *found;
  }
  return settings;
}

// Where a file action's copy or restore put or read its bytes: `to`/`from` are relative to
// the target's root, which the outputs carry.
std::vector<Named> NamedByFileAction(const json& outputs) {
  const std::string operation = StringAt(outputs, "operation");
  const bool copy = operation == "copy";
  if (!copy && operation != "restore") return {};
  const std::string relative = StringAt(outputs, copy ? "to" : "from");
  if (relative.empty()) return {};
  const std::string location =
      (std::filesystem::path(StringAt(outputs, "root")) / relative).lexically_normal().string();
  return {Named{copy ? Use::kTaken : Use::kRestoredFrom, location, "", BytesAt(outputs),
                StringAt(outputs, "sha256")}};
}

std::vector<Named> NamedByOutputs(const std::string& action, const json& outputs) {
  if (!outputs.is_object()) return {};
  if (action == "file") return NamedByFileAction(outputs);
  std::vector<Named> named;
  if (Contains(kTakingActions, action)) {
    // A DynamoDB export: one file per table.
    if (const auto files = outputs.find("files"); files != outputs.end() && files->is_object()) {
      for (const auto& [table, file] : files->items()) {
        if (!file.is_object()) continue;
        named.push_back(Named{Use::kTaken, StringAt(file, "path"), table, BytesAt(file),
                              StringAt(file, "sha256")});
      }
      return named;
    }
    std::string location = StringAt(outputs, "url");
    if (location.empty()) location = StringAt(outputs, "path");
    named.push_back(
        Named{Use::kTaken, location, "", BytesAt(outputs), StringAt(outputs, "sha256")});
  } else if (Contains(kReadingActions, action)) {
    std::string location = StringAt(outputs, "url");
    if (location.empty()) location = StringAt(outputs, "from");
    if (location.empty()) location = StringAt(outputs, "path");  // a DynamoDB import
    named.push_back(
        Named{Use::kRestoredFrom, location, "", BytesAt(outputs), StringAt(outputs, "sha256")});
  }
  std::erase_if(named, [](const Named& n) { return n.location.empty() || n.sha256.empty(); });
  return named;
}

UnfinishedRun UnfinishedRunOf(const std::string& run_id, const sm::RunState& state,
                              const plan::Plan& plan) {
  UnfinishedRun run{run_id, state.start.plan_text, {}};
  for (const plan::Step& step : plan.steps) {
    if (!Contains(kReadingActions, step.action.kind)) continue;
    const sm::StepState* done = state.FindStep(step.id);
    if (done != nullptr && done->status == sm::StepStatus::kSucceeded) continue;
    const auto from = step.action.params.value.find("from");
    if (from != step.action.params.value.end() && from->is_string() &&
        from->get<std::string>().find("${") != std::string::npos) {
      run.restores_from_variable.push_back(step.action.target);
    }
  }
  return run;
}

}  // namespace

std::string_view ToString(Use use) {
  return use == Use::kTaken ? "taken" : "restored_from";
}

const BackupUse& Backup::Origin() const {
  static const BackupUse kNone;
  for (const BackupUse& u : uses) {
    if (u.use == Use::kTaken) return u;
  }
  return uses.empty() ? kNone : uses.front();
}

bool Backup::Taken() const {
  return std::any_of(uses.begin(), uses.end(),
                     [](const BackupUse& u) { return u.use == Use::kTaken; });
}

bool Backup::IsObject() const { return location.find("://") != std::string::npos; }

std::string BackupId(const std::string& location, const std::string& sha256) {
  return Sha256Hex(location + '\n' + sha256).substr(0, kIdDigits);
}

std::string KindOf(const std::string& target_type, const json& outputs) {
  if (target_type == "sqlite") return "sqlite file";
  if (target_type == "postgres") {
    return StringAt(outputs, "format").find("tables") != std::string::npos
               ? "postgresql table file"
               : "postgresql dump";
  }
  if (target_type == "dynamodb") return "dynamodb export";
  if (target_type == "file") return "file copy";
  if (target_type == "json_store") return "json_store folder";
  return target_type + " backup";
}

Result<const Backup*> Catalog::Find(const std::string& id) const {
  if (id.size() < kMinIdPrefix) {
    return Status::InvalidArgument(fmt::format(
        "backup id '{}' is too short: give at least {} of its digits (`backout backups list`)",
        id, kMinIdPrefix));
  }
  std::vector<const Backup*> matches;
  for (const Backup& b : backups) {
    if (b.id.starts_with(id)) matches.push_back(&b);
  }
  if (matches.empty()) {
    return Status::NotFound(
        fmt::format("no backup with id '{}' in the catalog (`backout backups list`)", id));
  }
  if (matches.size() > 1) {
    std::vector<std::string> ids;
    for (const Backup* b : matches) ids.push_back(b->id);
    return Status::InvalidArgument(fmt::format("backup id '{}' is ambiguous: it starts {}", id,
                                               fmt::join(ids, ", ")));
  }
  return matches.front();
}

Backup* CatalogBuilder::FindOrAdd(const std::string& location, const std::string& sha256) {
  const std::string id = BackupId(location, sha256);
  for (Backup& b : catalog_.backups) {
    if (b.id == id) return &b;
  }
  Backup& added = catalog_.backups.emplace_back();
  added.id = id;
  added.location = location;
  added.sha256 = sha256;
  return &added;
}

std::vector<Backup*> CatalogBuilder::FindRestored(const std::string& location,
                                                 const std::string& sha256) {
  if (location.find(kMasked) == std::string::npos) return {FindOrAdd(location, sha256)};
  // A masked place is no backup of its own: listed, it could only ever read as missing.
  std::vector<Backup*> found;
  for (Backup& b : catalog_.backups) {
    if (b.sha256 == sha256) found.push_back(&b);
  }
  return found;
}

void CatalogBuilder::AddRun(const std::string& run_id, const std::vector<sm::Event>& events,
                            const sm::RunState& state, const plan::Plan& plan) {
  if (state.start.rehearsal) return;
  if (!state.Finished()) catalog_.unfinished_runs.push_back(UnfinishedRunOf(run_id, state, plan));
  for (const sm::Event& event : events) {
    const auto* succeeded = std::get_if<sm::StepSucceeded>(&event.body);
    if (succeeded == nullptr) continue;
    const plan::Step* step = plan.FindStep(succeeded->step);
    if (step == nullptr) continue;
    const auto target = plan.targets.find(step->action.target);
    if (target == plan.targets.end()) continue;
    // A capture step journals the outputs of the backup it took under "backup".
    std::string action = step->action.kind;
    const json* outputs = &succeeded->outputs;
    if (action == capture::kCaptureAction) {
      const auto backup = outputs->find("backup");
      if (backup == outputs->end() || !backup->is_object()) continue;
      action = "backup";
      outputs = &*backup;
    }
    for (Named& named : NamedByOutputs(action, *outputs)) {
      const BackupUse use{named.use,       run_id,          plan.name,
                          succeeded->step, succeeded->attempt, event.time_us,
                          event.operator_name, state.Finished()};
      const std::vector<Backup*> backups =
          named.use == Use::kTaken ? std::vector<Backup*>{FindOrAdd(named.location, named.sha256)}
                                   : FindRestored(named.location, named.sha256);
      for (Backup* backup : backups) {
        if (backup->uses.empty()) {
          backup->target = target->first;
          backup->target_type = target->second.type;
          backup->kind = KindOf(target->second.type, *outputs);
          backup->table = named.table;
          backup->bytes = named.bytes;
          backup->folder = target->second.type == "json_store";
          backup->store_settings = StoreSettingsOf(*outputs);
        }
        if (named.use == Use::kTaken && !backup->Taken()) backup->plan_retention = plan.retention;
        backup->uses.push_back(use);
      }
    }
  }
}

void CatalogBuilder::AddDeletion(const std::string& location, const std::string& sha256,
                                 std::uint64_t bytes, const Deletion& deletion) {
  Backup* backup = FindOrAdd(location, sha256);
  if (backup->uses.empty() && backup->bytes == 0) backup->bytes = bytes;
  backup->deleted = deletion;
}

Catalog CatalogBuilder::Finish() && {
  std::stable_sort(catalog_.backups.begin(), catalog_.backups.end(),
                   [](const Backup& a, const Backup& b) {
                     return std::make_pair(a.Origin().time_us, a.id) <
                            std::make_pair(b.Origin().time_us, b.id);
                   });
  return std::move(catalog_);
}

}  // namespace backout::catalog
