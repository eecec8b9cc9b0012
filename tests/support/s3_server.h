// A real S3-compatible server for tests: s3rver (tools/s3rver, installed by scripts/setup.sh
// with `npm ci`) started on 127.0.0.1 on a free port as a child process, its data in a
// private folder, and killed by the destructor. It checks every request's SigV4 signature
// against its default key pair (kS3AccessKeyId / kS3SecretAccessKey).
//
// Cross-checks go through Debian's AWS CLI (/usr/bin/aws, the awscli package; by full path
// because a pyenv shim named `aws` may come first on PATH).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tests/support/process.h"

namespace backout::testing {

inline constexpr const char* kS3AccessKeyId = "S3RVER";
inline constexpr const char* kS3SecretAccessKey = "S3RVER";
inline constexpr const char* kS3Region = "us-east-1";
inline constexpr const char* kAwsCli = "/usr/bin/aws";

class S3Server {
 public:
  // Starts s3rver with `buckets` created, and waits until it answers.
  static Result<std::unique_ptr<S3Server>> Start(const std::vector<std::string>& buckets);
  // The server of this test process, with the bucket "backups", started on first use and
  // stopped at exit; the error of that start, every time, when it failed.
  static Result<S3Server*> Shared();
  ~S3Server() = default;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  // A target's `object_store` mapping for this server: {endpoint, region, path_style: true}.
  nlohmann::json StoreConfig() const;
  // The environment a backout process or the AWS CLI needs to reach the server
  // (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION; no session token, no profile).
  std::map<std::string, std::string> Env() const;
  // Sets Env() in this process's environment, for in-process adapters.
  void SetCredentials() const;

  // `/usr/bin/aws --endpoint-url ENDPOINT ARGS...` run to completion with Env().
  ProcessResult Aws(const std::vector<std::string>& args) const;

 private:
  S3Server(int port, std::unique_ptr<TempDir> dir, std::unique_ptr<BackgroundProcess> process)
      : port_(port), dir_(std::move(dir)), process_(std::move(process)) {}

  int port_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<BackgroundProcess> process_;
};

}  // namespace backout::testing
