// AWS credentials and region for every adapter that talks to an AWS-compatible API (DynamoDB,
// S3 object storage): one resolution chain, so every target finds credentials the way the
// AWS CLI does.
//
// Secrets: a resolved secret key or session token goes to curl for signing and nowhere else;
// no Status message, output, progress line or journal event may hold one. Messages name the
// variable, file or source that was consulted, never a value.
//
// Thread safety: free functions over the Env they are given.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/status.h"

namespace backout::adapters::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
};

// The credentials for `target` (a target's config; its keys may choose among sources).
// Today: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the optional AWS_SESSION_TOKEN from
// `env`; kFailedPrecondition naming the missing variable (never a value) when one is unset.
Result<Credentials> CredentialsFor(const nlohmann::json& target, Env& env);

// The region of a target: its `region`, else AWS_REGION, else AWS_DEFAULT_REGION.
Result<std::string> RegionFor(const nlohmann::json& target, Env& env);

}  // namespace backout::adapters::aws
