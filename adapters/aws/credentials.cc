#include "adapters/aws/credentials.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

namespace backout::adapters::aws {
namespace {

using nlohmann::json;

std::optional<std::string> NonEmptyVar(Env& env, const std::string& name) {
  std::optional<std::string> value = env.GetVar(name);
  if (value.has_value() && value->empty()) return std::nullopt;
  return value;
}

}  // namespace

Result<Credentials> CredentialsFor(const json& /*target*/, Env& env) {
  Credentials credentials;
  for (const auto& [name, field] :
       {std::pair{"AWS_ACCESS_KEY_ID", &credentials.access_key_id},
        std::pair{"AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key}}) {
    std::optional<std::string> value = NonEmptyVar(env, name);
    if (!value.has_value()) {
      return Status::FailedPrecondition(fmt::format(
          "no AWS credentials: {} is not set (AWS targets read AWS_ACCESS_KEY_ID, "
          "AWS_SECRET_ACCESS_KEY and, for temporary credentials, AWS_SESSION_TOKEN)",
          name));
    }
    *field = std::move(*value);
  }
  credentials.session_token = NonEmptyVar(env, "AWS_SESSION_TOKEN").value_or("");
  return credentials;
}

Result<std::string> RegionFor(const json& target, Env& env) {
  if (const auto it = target.find("region"); it != target.end() && it->is_string()) {
    return it->get<std::string>();
  }
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::optional<std::string> region = NonEmptyVar(env, name)) return *region;
  }
  return Status::FailedPrecondition(
      "no region: give the target a 'region', or set AWS_REGION or AWS_DEFAULT_REGION");
}

}  // namespace backout::adapters::aws
