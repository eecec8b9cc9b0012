#include "tests/support/http_server.h"

#include <fmt/format.h>
#include <signal.h>

#include "adapters/net/http_client.h"
#include "tests/support/example.h"

namespace backout::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::chrono::seconds kStartLimit{30};

}  // namespace

fs::path HttpServer::Script() { return SourceDir() / "tests" / "support" / "http_test_server.py"; }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options) {
  auto dir = std::make_unique<TempDir>();
  const fs::path port_file = dir->path() / "port";
  // Port 0: the server binds a free port itself and reports it, so no other process can
  // take the port between choosing and binding it.
  std::vector<std::string> argv = {BACKOUT_PYTHON3, Script().string(), "--port-file",
                                   port_file.string()};
  const bool tls = !options.tls_cert.empty();
  if (tls) {
    argv.insert(argv.end(), {"--tls-cert", options.tls_cert.string(), "--tls-key",
                             options.tls_key.string()});
  }
  auto process = std::make_unique<BackgroundProcess>(ProcessSpec{std::move(argv), {}, {}, {}});
  if (!WaitFor([&] { return fs::exists(port_file) || !process->Running(); }, kStartLimit) ||
      !fs::exists(port_file)) {
    return Status::Unavailable(
        fmt::format("{} did not start: {}", Script().string(), Show(process->Wait())));
  }
  const int port = std::stoi(ReadFile(port_file));
  return std::unique_ptr<HttpServer>(
      new HttpServer(port, tls, std::move(dir), std::move(process)));
}

HttpServer::~HttpServer() {
  // SIGTERM lets it close its socket; a server that ignores it is SIGKILLed by the
  // BackgroundProcess destructor.
  process_->Signal(SIGTERM);
  WaitFor([&] { return !process_->Running(); }, std::chrono::seconds(5));
}

std::string HttpServer::base_url() const {
  return fmt::format("{}://127.0.0.1:{}", tls_ ? "https" : "http", port_);
}

Result<json> HttpServer::Control(const std::string& method, const std::string& path,
                                 const json& body) const {
  adapters::net::HttpRequest request;
  request.method = method;
  request.url = base_url() + path;
  if (!body.is_null()) {
    request.body = body.dump();
    request.headers = {{"Content-Type", "application/json"}};
  }
  // The test server's own certificate is self-signed: the control channel does not judge it.
  request.verify_tls = false;
  Result<adapters::net::HttpResponse> response = adapters::net::Send(request);
  if (!response.ok()) return response.status();
  if (response->status / 100 != 2) {
    return Status::Unavailable(
        fmt::format("{} {} answered {}: {}", method, path, response->status, response->body));
  }
  if (response->body.empty()) return json();
  json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::Corruption("not JSON: " + response->body);
  return parsed;
}

Status HttpServer::SetHealth(const std::vector<int>& statuses, int then) const {
  return Control("POST", "/_control/health", {{"statuses", statuses}, {"then", then}}).status();
}

Status HttpServer::SetHookStatus(int status) const {
  return Control("POST", "/_control/hooks", {{"status", status}}).status();
}

Status HttpServer::SetMetrics(int requests, int errors) const {
  return Control("POST", "/_control/metrics", {{"requests", requests}, {"errors", errors}})
      .status();
}

Result<json> HttpServer::State() const { return Control("GET", "/_control/state", nullptr); }

Result<json> HttpServer::Recorded() const { return Control("GET", "/_recorded", nullptr); }

Status HttpServer::Reset() const {
  return Control("POST", "/_control/reset", json::object()).status();
}

Status MakeSelfSignedCertificate(const fs::path& dir) {
  const ProcessResult made = RunProcess(ProcessSpec{
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
       (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()},
      {},
      {},
      {}});
  if (made.exit_code != 0) return Status::IOError("openssl req failed: " + Show(made));
  return Status::Ok();
}

}  // namespace backout::testing
