#include "adapters/object_store/store_settings.h"

#include <fmt/format.h>

#include "adapters/aws/credentials.h"
#include "base/time.h"

namespace backout::adapters::object_store {
namespace {

using common::Presence;
using nlohmann::json;

constexpr std::int64_t kMicrosPerDay = 86'400'000'000LL;
constexpr std::int64_t kMinPartMib = 5;     // S3's least part size (but for the last part)
constexpr std::int64_t kMaxPartMib = 5120;  // and its largest

void Endpoint(common::Checker& checker, const json& value, const std::string& pointer) {
  (void)checker.Url(value, pointer);
}

void Region(common::Checker& checker, const json& value, const std::string& pointer) {
  (void)checker.NonEmptyText(value, pointer);
}

void PathStyle(common::Checker& checker, const json& value, const std::string& pointer) {
  (void)checker.Flag(value, pointer);
}

void Encryption(common::Checker& checker, const json& value, const std::string& pointer) {
  const std::optional<std::string> sse = checker.Text(value, pointer);
  if (sse && *sse != "AES256" && *sse != "aws:kms") {
    checker.Fail(pointer, "expected one of: AES256, aws:kms");
  }
}

void PartSize(common::Checker& checker, const json& value, const std::string& pointer) {
  const std::optional<std::int64_t> mib = checker.Integer(value, pointer);
  if (mib && (*mib < kMinPartMib || *mib > kMaxPartMib)) {
    checker.Fail(pointer, fmt::format("must be {} to {} (MiB)", kMinPartMib, kMaxPartMib));
  }
}

void ObjectLock(common::Checker& checker, const json& value, const std::string& pointer) {
  if (!checker.Mapping(value, pointer, {"mode", "days"})) return;
  checker.Field(value, pointer, "mode", Presence::kRequired,
                [](common::Checker& c, const json& mode, const std::string& at) {
                  const std::optional<std::string> text = c.Text(mode, at);
                  if (text && *text != "GOVERNANCE" && *text != "COMPLIANCE") {
                    c.Fail(at, "expected one of: GOVERNANCE, COMPLIANCE");
                  }
                });
  checker.Field(value, pointer, "days", Presence::kRequired,
                [](common::Checker& c, const json& days, const std::string& at) {
                  const std::optional<std::int64_t> n = c.Integer(days, at);
                  if (n && *n < 1) c.Fail(at, "must be at least 1");
                });
}

std::string Text(const json& settings, const char* key) {
  const auto it = settings.find(key);
  return it != settings.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

void CheckStoreSettings(common::Checker& checker, const json& settings,
                        const std::string& pointer) {
  if (!checker.Mapping(settings, pointer,
                       {"endpoint", "region", "path_style", "sse", "kms_key_id", "object_lock",
                        "part_size_mib", "ca_file", "profile"})) {
    return;
  }
  checker.Field(settings, pointer, "endpoint", Presence::kOptional, Endpoint);
  checker.Field(settings, pointer, "region", Presence::kOptional, Region);
  checker.Field(settings, pointer, "path_style", Presence::kOptional, PathStyle);
  checker.Field(settings, pointer, "sse", Presence::kOptional, Encryption);
  checker.Field(settings, pointer, "kms_key_id", Presence::kOptional, common::NonEmptyString);
  checker.Field(settings, pointer, "object_lock", Presence::kOptional, ObjectLock);
  checker.Field(settings, pointer, "part_size_mib", Presence::kOptional, PartSize);
  checker.Field(settings, pointer, "ca_file", Presence::kOptional, common::NonEmptyString);
  checker.Field(settings, pointer, "profile", Presence::kOptional, common::NonEmptyString);
  if (settings.contains("kms_key_id") && Text(settings, "sse") != "aws:kms" &&
      !checker.Deferred(settings.value("sse", json()))) {
    checker.Fail(pointer + "/kms_key_id", "needs sse: aws:kms");
  }
}

Result<StoreSettings> ResolveStoreSettings(const json& given, Env& env, std::int64_t now_micros,
                                           const std::atomic<bool>* cancel) {
  const json settings = given.is_object() ? given : json::object();
  StoreSettings out;
  StoreConfig& config = out.config;
  Result<std::string> region = aws::RegionFor(settings, env);
  if (!region.ok()) return region.status().WithContext("object storage");
  config.region = std::move(region).value();
  Result<aws::Credentials> credentials = aws::CredentialsFor(settings, env);
  if (!credentials.ok()) return credentials.status().WithContext("object storage");
  config.credentials = std::move(credentials).value();

  config.endpoint = Text(settings, "endpoint");
  for (const char* variable : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    if (!config.endpoint.empty()) break;
    config.endpoint = env.GetVar(variable).value_or("");
  }
  if (config.endpoint.empty()) {
    config.endpoint = fmt::format("https://s3.{}.amazonaws.com", config.region);
  }
  const json path_style = settings.value("path_style", json(false));
  config.path_style = path_style == true || path_style == "true";
  config.sse = Text(settings, "sse");
  config.kms_key_id = Text(settings, "kms_key_id");
  config.ca_file = Text(settings, "ca_file");
  if (const auto lock = settings.find("object_lock"); lock != settings.end()) {
    config.object_lock_mode = Text(*lock, "mode");
    const std::int64_t days = common::AsCount(lock->value("days", json(0))).value_or(0);
    // Whole seconds: S3 takes an ISO 8601 time without a fraction.
    const std::int64_t until = (now_micros + days * kMicrosPerDay) / 1'000'000 * 1'000'000;
    const std::string formatted = FormatUtcMicros(until);
    config.object_lock_until = formatted.substr(0, formatted.find('.')) + "Z";
  }
  if (const auto mib = settings.find("part_size_mib"); mib != settings.end()) {
    out.part_size = static_cast<std::uint64_t>(common::AsCount(*mib).value_or(8)) << 20;
  }
  config.cancel = cancel;
  return out;
}

json PublicStoreSettings(const StoreConfig& config) {
  return {{"endpoint", config.endpoint},
          {"region", config.region},
          {"path_style", config.path_style}};
}

Result<ReachedObject> ReachObject(const std::string& url, const json& settings, Env& env,
                                  const std::atomic<bool>* cancel) {
  Result<ObjectUrl> parsed = ParseObjectUrl(url);
  if (!parsed.ok()) return parsed.status();
  Result<StoreSettings> resolved = ResolveStoreSettings(
      settings.is_object() ? settings : json(nullptr), env, env.NowMicros(), cancel);
  if (!resolved.ok()) return resolved.status();
  return ReachedObject{S3Client(std::move(resolved).value().config), std::move(parsed).value()};
}

}  // namespace backout::adapters::object_store
