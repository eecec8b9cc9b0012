#include "adapters/object_store/object_store_adapter.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "adapters/common/params.h"
#include "adapters/common/preflight.h"
#include "adapters/object_store/s3_client.h"
#include "adapters/object_store/store_settings.h"
#include "adapters/object_store/transfer.h"
#include "base/file_util.h"
#include "base/sha256.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using object_store::ObjectUrl;

enum class Direction { kUpload, kDownload };

struct Transfer {
  Direction direction;
  std::string_view param;  // "to" or "from"
};

// The actions that write a backup file (its destination in `to`) or read one (`from`).
// DynamoDB's `export` writes a folder of files, which does not go to object storage (yet).
std::optional<Transfer> TransferOf(std::string_view action) {
  if (action == "backup") return Transfer{Direction::kUpload, "to"};
  if (action == "restore" || action == "import") return Transfer{Direction::kDownload, "from"};
  return std::nullopt;
}

// The s3:// URL an action's `to`/`from` names, if it names one.
std::optional<std::string> UrlParam(std::string_view action, const json& params) {
  const std::optional<Transfer> transfer = TransferOf(action);
  if (!transfer) return std::nullopt;
  const auto it = params.find(transfer->param);
  if (it == params.end() || !it->is_string()) return std::nullopt;
  const std::string& text = it->get_ref<const std::string&>();
  if (!object_store::HasUrlScheme(text)) return std::nullopt;
  return text;
}

json WithoutStore(json target) {
  if (target.is_object()) target.erase(std::string(object_store::kStoreKey));
  return target;
}

json StoreOf(const json& target) {
  const auto it = target.find(object_store::kStoreKey);
  return it == target.end() ? json() : *it;
}

// The key an upload goes to: under a prefix ("" or ending in '/') the staged file's name.
ObjectUrl UploadUrl(ObjectUrl url, const fs::path& staged) {
  if (url.key.empty() || url.key.ends_with('/')) url.key += staged.filename().string();
  return url;
}

class ObjectStoreAdapter final : public Adapter {
 public:
  ObjectStoreAdapter(std::unique_ptr<Adapter> inner, BackupShape shape)
      : inner_(std::move(inner)), shape_(shape), vocabulary_(inner_->vocabulary()) {
    for (ActionSpec& action : vocabulary_.actions) {
      if (!TransferOf(action.name)) continue;
      for (const OutputSpec added :
           {OutputSpec{"url", kString}, OutputSpec{"endpoint", kString},
            OutputSpec{"region", kString}, OutputSpec{"path_style", kBoolean},
            OutputSpec{"bytes", kInteger}, OutputSpec{"sha256", kString},
            OutputSpec{"parts", kInteger}, OutputSpec{"parts_resumed", kInteger}}) {
        const bool present = std::any_of(action.outputs.begin(), action.outputs.end(),
                                         [&](const OutputSpec& o) { return o.name == added.name; });
        if (!present) action.outputs.push_back(added);
      }
    }
  }

  const AdapterVocabulary& vocabulary() const override { return vocabulary_; }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    std::vector<ParamError> errors;
    json inner_params = params;
    if (std::optional<ParamError> refused = FolderToUrl(action, params)) {
      errors.push_back(std::move(*refused));
      return errors;
    }
    if (const std::optional<std::string> url = UrlParam(action, params)) {
      const std::string pointer = fmt::format("/{}", TransferOf(action)->param);
      Result<ObjectUrl> parsed = object_store::ParseObjectUrl(*url);
      if (!parsed.ok()) {
        errors.push_back({pointer, parsed.status().message()});
      } else if (TransferOf(action)->direction == Direction::kDownload &&
                 (parsed->key.empty() || parsed->key.ends_with('/'))) {
        errors.push_back({pointer, "names a prefix: a restore reads one object "
                                   "(s3://BUCKET/KEY)"});
      }
      // The wrapped adapter checks the rest as it will run: on a local staging path.
      inner_params[TransferOf(action)->param] = "object-store-staging/";
    }
    if (const json store = StoreOf(target); !store.is_null()) {
      common::Checker checker(common::References::kUnresolved, /*in_target=*/true);
      object_store::CheckStoreSettings(checker, store, fmt::format("/{}", object_store::kStoreKey));
      for (ParamError& error : checker.TakeErrors()) errors.push_back(std::move(error));
    }
    for (ParamError& error : inner_->Validate(action, WithoutStore(target), inner_params)) {
      errors.push_back(std::move(error));
    }
    return errors;
  }

  Outcome Run(const Invocation& invocation) override {
    // Checked again on the expanded params: a `${VAR}` may have become a URL.
    if (std::optional<ParamError> refused = FolderToUrl(invocation.action, invocation.params)) {
      return {Status::InvalidArgument("params/to: " + refused->message), {}};
    }
    const std::optional<std::string> url = UrlParam(invocation.action, invocation.params);
    if (!url) {
      Invocation plain = invocation;
      plain.target = WithoutStore(invocation.target);
      return inner_->Run(plain);
    }
    Result<object_store::StoreSettings> settings = object_store::ResolveStoreSettings(
        StoreOf(invocation.target), *invocation.env, invocation.now_micros, invocation.cancel);
    if (!settings.ok()) return {settings.status(), {}};
    Result<ObjectUrl> parsed = object_store::ParseObjectUrl(*url);
    if (!parsed.ok()) return {parsed.status(), {}};
    const object_store::S3Client client(settings->config);
    const fs::path staging = invocation.log_dir / (invocation.step_id + ".object-store");
    if (Status made = CreatePrivateDirectories(staging); !made.ok()) return {made, {}};
    Outcome outcome = TransferOf(invocation.action)->direction == Direction::kUpload
                          ? Upload(invocation, client, *parsed, settings->part_size, staging)
                          : Download(invocation, client, *parsed, staging);
    if (outcome.status.ok()) {
      outcome.outputs.update(object_store::PublicStoreSettings(client.config()));
    }
    return outcome;
  }

  Status Lock(const LockRequest& request) override {
    LockRequest plain = request;
    plain.target = WithoutStore(request.target);
    return inner_->Lock(plain);
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    PreflightRequest plain = request;
    plain.target = WithoutStore(request.target);
    const std::optional<std::string> url = UrlParam(request.action, request.params);
    if (!url) return inner_->Preflight(plain);
    // The wrapped adapter's file is the staged one, known only at run time (as a step's output
    // would be): it checks the rest; the store is checked here.
    plain.params[TransferOf(request.action)->param] = "${steps.object-store.outputs.staged}";
    std::vector<PreflightFinding> findings = inner_->Preflight(plain);
    findings.push_back(StoreFinding(request, *url));
    return findings;
  }

  json Describe(const DescribeRequest& request) const override {
    DescribeRequest plain = request;
    plain.target = WithoutStore(request.target);
    plain.expanded_target = WithoutStore(request.expanded_target);
    json description = inner_->Describe(plain);
    const std::optional<std::string> url = UrlParam(request.action, request.expanded_params);
    if (!url || TransferOf(request.action)->direction != Direction::kDownload) {
      return description;
    }
    // The source is an object, not a file: it cannot be read without connecting, which
    // Describe never does. Say what the run will check instead of "no such file".
    for (json& detail : description["details"]) {
      json& value = detail["value"];
      if (value.is_object() && value.contains("unreadable")) {
        value.erase("unreadable");
        value["known_at_run_time"] = true;
      }
    }
    return description;
  }

  bool CanCopyForRehearsal() const override { return inner_->CanCopyForRehearsal(); }

  Result<json> MakeRehearsalCopy(const json& target, const RehearsalScratch& scratch) override {
    Result<json> copy = inner_->MakeRehearsalCopy(WithoutStore(target), scratch);
    if (!copy.ok() || StoreOf(target).is_null()) return copy;
    json with_store = std::move(copy).value();
    with_store[std::string(object_store::kStoreKey)] = StoreOf(target);
    return with_store;
  }

  Status DropRehearsalCopy(const json& copy, const RehearsalScratch& scratch) override {
    return inner_->DropRehearsalCopy(WithoutStore(copy), scratch);
  }

 private:
  // The refusal of a folder backup whose `to` is a URL (it would otherwise become a local
  // folder named "s3:"): a json_store backup, or an action with a `to` that is no `backup`,
  // which among the wrapped adapters is only DynamoDB's export.
  std::optional<ParamError> FolderToUrl(std::string_view action, const json& params) const {
    const bool folder =
        !TransferOf(action) || (action == "backup" && shape_ == BackupShape::kFolder);
    const auto to = params.find("to");
    if (!folder || to == params.end() || !to->is_string() ||
        !object_store::HasUrlScheme(to->get<std::string>())) {
      return std::nullopt;
    }
    return ParamError{"/to", fmt::format("a {} {} writes a folder of files, which does not go to "
                                         "object storage yet: give a local folder",
                                         inner_->type(), action)};
  }

  Outcome Upload(const Invocation& invocation, const object_store::S3Client& client,
                 const ObjectUrl& destination, std::uint64_t part_size,
                 const fs::path& staging) {
    // The record of this step's staged backup, kept across attempts.
    const fs::path staged_record = staging / "staged.json";
    Result<std::string> staged_text = ReadFileToString(staged_record);
    json staged = staged_text.ok() ? json::parse(*staged_text, nullptr, false) : json();
    if (const json* done = UploadedBefore(staged, destination)) {
      // An earlier attempt uploaded it and stopped before its outcome was journaled.
      Result<ObjectUrl> stored = object_store::ParseObjectUrl(done->value("url", ""));
      Result<object_store::ObjectHead> head =
          stored.ok() ? client.Head(*stored) : Result<object_store::ObjectHead>(stored.status());
      if (head.ok() && head->sha256 == done->value("sha256", "")) return {Status::Ok(), *done};
    }
    if (!StagedIsWhole(staged, destination)) {
      Invocation inner = invocation;
      inner.target = WithoutStore(invocation.target);
      inner.params["to"] = (staging / "").string();
      Outcome made = inner_->Run(inner);
      if (!made.status.ok()) return made;
      const auto path = made.outputs.find("path");
      if (path == made.outputs.end() || !path->is_string() ||
          !fs::is_regular_file(path->get<std::string>())) {
        return {Status::FailedPrecondition(fmt::format(
                    "{} {} made no single file to upload (a folder does not go to object "
                    "storage yet)",
                    inner_->type(), invocation.action)),
                made.outputs};
      }
      Result<FileDigest> digest = Sha256File(path->get<std::string>());
      if (!digest.ok()) return {digest.status(), made.outputs};
      json outputs = made.outputs;
      outputs.erase("path");
      staged = {{"destination", destination.ToString()},
                {"file", path->get<std::string>()},
                {"bytes", digest->bytes},
                {"sha256", digest->sha256_hex},
                {"outputs", outputs}};
      if (Status kept = WriteFileAtomically(staged_record, staged.dump()); !kept.ok()) {
        return {kept, made.outputs};
      }
    } else if (invocation.progress) {
      invocation.progress("the backup of an earlier attempt is staged: uploading it");
    }
    const fs::path file = staged.at("file").get<std::string>();
    const object_store::UploadPlan plan{
        .url = UploadUrl(destination, file),
        .file = file,
        .digest = {staged.at("bytes").get<std::uint64_t>(), staged.at("sha256").get<std::string>()},
        .part_size = part_size,
        .earlier = invocation.checkpoints,
        .checkpoint = invocation.checkpoint};
    json outputs = staged.at("outputs");
    outputs["url"] = plan.url.ToString();
    outputs["bytes"] = plan.digest.bytes;
    outputs["sha256"] = plan.digest.sha256_hex;
    Result<object_store::UploadResult> uploaded =
        object_store::UploadFile(client, plan, invocation.progress);
    if (!uploaded.ok()) return {uploaded.status(), outputs};
    outputs["parts"] = uploaded->parts;
    outputs["parts_resumed"] = uploaded->parts_resumed;
    staged["uploaded"] = outputs;
    if (Status kept = WriteFileAtomically(staged_record, staged.dump()); !kept.ok()) {
      return {kept, outputs};
    }
    // The object is stored and checked: the staged copy has done its work.
    std::error_code ignored;
    fs::remove(file, ignored);
    return {Status::Ok(), outputs};
  }

  // The outputs of the upload to `destination` that `staged` records as done, if any.
  static const json* UploadedBefore(const json& staged, const ObjectUrl& destination) {
    if (!staged.is_object() || staged.value("destination", "") != destination.ToString()) {
      return nullptr;
    }
    const auto it = staged.find("uploaded");
    return it != staged.end() && it->is_object() ? &*it : nullptr;
  }

  // Whether `staged` records a backup for `destination` whose file is still whole.
  static bool StagedIsWhole(const json& staged, const ObjectUrl& destination) {
    if (!staged.is_object() || staged.value("destination", "") != destination.ToString() ||
        !staged.contains("file") || !staged.contains("sha256") || !staged.contains("bytes") ||
        !staged.contains("outputs")) {
      return false;
    }
    Result<FileDigest> now = Sha256File(staged.value("file", ""));
    return now.ok() && now->sha256_hex == staged.value("sha256", "") &&
           staged.at("bytes").is_number_unsigned() &&
           now->bytes == staged.at("bytes").get<std::uint64_t>();
  }

  Outcome Download(const Invocation& invocation, const object_store::S3Client& client,
                   const ObjectUrl& source, const fs::path& staging) {
    const fs::path file = staging / fs::path(source.key).filename();
    const std::string expected = invocation.params.value("sha256", "");
    Result<FileDigest> downloaded =
        object_store::DownloadFile(client, source, file, expected, invocation.progress);
    if (!downloaded.ok()) return {downloaded.status(), {{"url", source.ToString()}}};
    Invocation inner = invocation;
    inner.target = WithoutStore(invocation.target);
    inner.params["from"] = file.string();
    inner.params["sha256"] = downloaded->sha256_hex;
    Outcome outcome = inner_->Run(inner);
    std::error_code ignored;
    fs::remove(file, ignored);
    outcome.outputs["url"] = source.ToString();
    if (outcome.outputs.contains("from")) outcome.outputs["from"] = source.ToString();
    return outcome;
  }

  // Whether the store answers for the object a step writes or reads: the bucket exists for an
  // upload; the object exists, with its size and recorded sha256 (matching the step's), for
  // a download.
  static PreflightFinding StoreFinding(const PreflightRequest& request, const std::string& url) {
    Result<ObjectUrl> parsed = object_store::ParseObjectUrl(url);
    if (!parsed.ok()) return {"object storage " + url, parsed.status()};
    Result<object_store::StoreSettings> settings = object_store::ResolveStoreSettings(
        StoreOf(request.target), *request.env, 0, request.cancel);
    if (!settings.ok()) return {"object storage " + url, settings.status()};
    const object_store::S3Client client(settings->config);
    if (TransferOf(request.action)->direction == Direction::kUpload) {
      return {fmt::format("bucket s3://{} reachable", parsed->bucket),
              client.CheckBucket(parsed->bucket)};
    }
    Result<object_store::ObjectHead> head = client.Head(*parsed);
    if (!head.ok()) return {"restore source " + url, head.status()};
    const std::optional<std::string> wanted = common::KnownString(request.params, "sha256");
    if (wanted && !head->sha256.empty() && *wanted != head->sha256) {
      return {"restore source " + url,
              Status::ExpectationFailed(fmt::format("records sha256 {}, expected {}",
                                                    head->sha256, *wanted))};
    }
    return {fmt::format("restore source {} ({} bytes{})", url, head->bytes,
                        head->sha256.empty() ? "" : ", sha256 recorded"),
            Status::Ok()};
  }

  std::unique_ptr<Adapter> inner_;
  BackupShape shape_;
  AdapterVocabulary vocabulary_;
};

}  // namespace

std::unique_ptr<Adapter> WithObjectStore(std::unique_ptr<Adapter> inner, BackupShape shape) {
  return std::make_unique<ObjectStoreAdapter>(std::move(inner), shape);
}

}  // namespace backout::adapters
