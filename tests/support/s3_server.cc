#include "tests/support/s3_server.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <utility>

#include "adapters/net/http_client.h"
#include "tests/support/dynamo_server.h"  // FreePort
#include "tests/support/example.h"        // SourceDir

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
constexpr std::chrono::milliseconds kStartLimit{30'000};

}  // namespace

Result<std::unique_ptr<S3Server>> S3Server::Start(const std::vector<std::string>& buckets) {
  const fs::path cli = SourceDir() / "tools" / "s3rver" / "node_modules" / "s3rver" / "bin" /
                       "s3rver.js";
  if (!fs::exists(cli)) {
    return Status::FailedPrecondition(fmt::format(
        "{} is missing: run scripts/setup.sh (npm ci --prefix tools/s3rver)", cli.string()));
  }
  auto dir = std::make_unique<TempDir>();
  // Another process may take the free port before s3rver listens on it: then try another.
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Result<int> port = FreePort();
    if (!port.ok()) return port.status();
    std::vector<std::string> argv = {BACKOUT_NODE, cli.string(), "--directory",
                                     dir->path().string(), "--address", "127.0.0.1",
                                     "--port", std::to_string(*port), "--silent"};
    for (const std::string& bucket : buckets) {
      argv.insert(argv.end(), {"--configure-bucket", bucket});
    }
    auto process = std::make_unique<BackgroundProcess>(ProcessSpec{argv, {}, {}, {}});
    bool exited = false;
    const bool answered = WaitFor(
        [&] {
          exited = !process->Running();
          // Any HTTP answer (an anonymous ListBuckets is refused) means it listens.
          adapters::net::HttpRequest probe;
          probe.url = fmt::format("http://127.0.0.1:{}/", *port);
          probe.timeout = std::chrono::milliseconds(2'000);
          return exited || adapters::net::Send(probe).ok();
        },
        kStartLimit);
    if (answered && !exited) {
      return std::unique_ptr<S3Server>(new S3Server(*port, std::move(dir), std::move(process)));
    }
    if (!exited) return Status::Timeout("s3rver did not answer within 30s");
  }
  return Status::Unavailable("s3rver exited at start three times (ports taken?)");
}

Result<S3Server*> S3Server::Shared() {
  static Result<std::unique_ptr<S3Server>> started = Start({"backups"});
  if (!started.ok()) return started.status();
  return started.value().get();
}

std::string S3Server::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

nlohmann::json S3Server::StoreConfig() const {
  return {{"endpoint", endpoint()}, {"region", kS3Region}, {"path_style", true}};
}

std::map<std::string, std::string> S3Server::Env() const {
  return {{"AWS_ACCESS_KEY_ID", kS3AccessKeyId},
          {"AWS_SECRET_ACCESS_KEY", kS3SecretAccessKey},
          {"AWS_REGION", kS3Region}};
}

void S3Server::SetCredentials() const {
  for (const auto& [name, value] : Env()) ::setenv(name.c_str(), value.c_str(), 1);
  ::unsetenv("AWS_SESSION_TOKEN");
}

ProcessResult S3Server::Aws(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {kAwsCli, "--endpoint-url", endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> env = Env();
  // Never a profile or config of the machine running the tests.
  env["AWS_CONFIG_FILE"] = "/dev/null";
  env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null";
  env["AWS_PAGER"] = "";
  return RunProcess({argv, env, {}, {}});
}

}  // namespace backout::testing
