// AWS credentials and region for every adapter that talks to an AWS-compatible API (DynamoDB,
// S3 object storage): one resolution chain, so every target finds credentials the way the
// AWS CLI does.
//
// The chain, first source that gives credentials wins:
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN
//      (skipped when the target names a `profile`, as `aws --profile` skips it);
//   2. the profile (profile_files.h: target `profile`, AWS_PROFILE, else [default]) in the
//      shared credentials and config files: aws_access_key_id / aws_secret_access_key /
//      aws_session_token;
//   3. the profile's credential_process: a command (split like a POSIX shell would, run
//      without one) printing {"Version": 1, "AccessKeyId", "SecretAccessKey",
//      "SessionToken", "Expiration"} on stdout, with this process's environment (not the
//      Env's variables: an Env cannot list them) and 60 s at most; its stderr is dropped,
//      its output never shown;
//   4. the profile's SSO settings (sso_session -> [sso-session NAME], or the legacy
//      sso_start_url / sso_region, with sso_account_id and sso_role_name): the token cached by
//      `aws sso login` in ~/.aws/sso/cache/SHA1.json, exchanged at the SSO portal
//      (AWS_ENDPOINT_URL_SSO, else AWS_ENDPOINT_URL, else https://portal.sso.REGION.amazonaws.com);
//   5. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), each
//      else the profile's web_identity_token_file, role_arn, role_session_name, exchanged with
//      STS AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else
//      https://sts.REGION.amazonaws.com, or https://sts.amazonaws.com without a region);
//   6. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2) or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI (plain http only to a loopback or the container
//      agent's addresses), with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
//      AWS_CONTAINER_AUTHORIZATION_TOKEN as the Authorization header;
//   7. instance metadata, IMDSv2 only (a session token first): AWS_EC2_METADATA_SERVICE_ENDPOINT,
//      else the profile's ec2_metadata_service_endpoint, else http://169.254.169.254 (or
//      http://[fd00:ec2::254] when AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE or the profile's
//      ec2_metadata_service_endpoint_mode is IPv6); AWS_METADATA_SERVICE_TIMEOUT seconds per
//      request (1 by default); AWS_EC2_METADATA_DISABLED=true skips it.
// A source that is configured but fails (a half-set pair of variables, a chosen profile that
// does not exist, a credential_process that exits non-zero, an expired SSO token, STS or the
// container endpoint refusing) ends the chain with its error, as in the AWS CLI: falling
// through to another identity would act as someone the operator did not choose. Only an
// unreachable instance metadata endpoint (or an instance without a role) counts as "not
// configured". A profile that assumes a role from another profile (role_arn with
// source_profile or credential_source) is refused as not supported. Nothing is cached:
// every call resolves anew.
//
// Errors: kFailedPrecondition when no source gives credentials, naming each source tried and
// why it gave none; kFailedPrecondition, kIOError, kUnavailable or kTimeout from a configured
// source that failed.
//
// Secrets: a resolved secret key or session token goes to curl for signing and nowhere else;
// no Status message, output, progress line or journal event may hold one, nor a web identity
// or SSO token, nor any answer body of a credential endpoint. Messages name the variable,
// file, profile, URL (without its query) or source that was consulted, never a value.
//
// Thread safety: free functions over the Env they are given.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/env.h"
#include "base/status.h"

namespace backout::adapters::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  // Which source gave them, for messages (never a value): "environment",
  // "profile 'dev' in /home/u/.aws/credentials", "credential_process of profile 'dev'",
  // "SSO of profile 'dev'", "web identity (STS)", "container", "instance metadata".
  std::string source;
  // When temporary credentials expire, in microseconds since the Unix epoch (UTC); 0 when
  // they do not, or the source did not say.
  std::int64_t expires_at_micros = 0;
};

// The credentials for `target` (a target's config; its optional string key `profile` picks
// the profile and skips the environment), by the chain above.
Result<Credentials> CredentialsFor(const nlohmann::json& target, Env& env);

// The region of a target: its `region`, else AWS_REGION, else AWS_DEFAULT_REGION, else the
// `region` of its profile in the config file.
Result<std::string> RegionFor(const nlohmann::json& target, Env& env);

}  // namespace backout::adapters::aws
