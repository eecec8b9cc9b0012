// A real HTTP server for tests: tests/support/http_test_server.py (python3, standard library
// only) started as a child process on a free port of 127.0.0.1 and stopped by the destructor
// (SIGTERM, then SIGKILL by BackgroundProcess if it lingers).
//
// Its routes (the script's header has the details):
//   GET/POST/DELETE /admin/maintenance   maintenance mode: read, turn on (a JSON body with
//                                        "on"/"enabled" false turns it off), turn off (204)
//   GET /healthz                         the scripted statuses (SetHealth), then 200;
//                                        {"status": "healthy"|"unhealthy", "checks": "ok"|
//                                        "failing", "poll": N}
//   GET /metrics, /metrics/errors        {"requests", "errors", "error_rate", "maintenance"}
//   ANY /hooks/...                       a webhook answering SetHookStatus (200 by default)
//   ANY /echo/...                        the request as received, as JSON (headers included)
//   ANY /status/NNN                      that status; GET /bytes/N: N bytes of "x"
//   ANY /hang/...                        never answers (timeouts, cancellation)
// Every request to these is recorded: Recorded() returns them (method, path, query, headers
// with lowercase names, body), so a test can check what a client really sent. Control routes
// (/_control/..., /_recorded) are not recorded.
//
// Other languages (example plans, scripts) run the script directly:
//   python3 tests/support/http_test_server.py --port-file FILE   # prints the port, too
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tests/support/process.h"

namespace backout::testing {

struct HttpServerOptions {
  // Serve HTTPS with this certificate and key (PEM) instead of plain HTTP.
  std::filesystem::path tls_cert;
  std::filesystem::path tls_key;
};

class HttpServer {
 public:
  // Starts the server and waits until it has written its port.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options = {});
  ~HttpServer();

  int port() const { return port_; }
  // "http://127.0.0.1:PORT" ("https://..." with TLS).
  std::string base_url() const;

  // The next /healthz answers `statuses` in order, then `then` for good.
  Status SetHealth(const std::vector<int>& statuses, int then = 200) const;
  // What /hooks/... answer from now on.
  Status SetHookStatus(int status) const;
  // Fixed figures for /metrics (by default it counts the recorded requests, without errors).
  Status SetMetrics(int requests, int errors) const;
  // {"maintenance": bool, "maintenance_changes": N, ...}, without being recorded.
  Result<nlohmann::json> State() const;
  // Every recorded request, oldest first.
  Result<nlohmann::json> Recorded() const;
  // Back to the start state: maintenance off, health 200, hooks 200, nothing recorded.
  Status Reset() const;

  // The script, for tests that start it their own way (another port, a shell).
  static std::filesystem::path Script();

 private:
  HttpServer(int port, bool tls, std::unique_ptr<TempDir> dir,
             std::unique_ptr<BackgroundProcess> process)
      : port_(port), tls_(tls), dir_(std::move(dir)), process_(std::move(process)) {}

  Result<nlohmann::json> Control(const std::string& method, const std::string& path,
                                 const nlohmann::json& body) const;

  int port_;
  bool tls_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<BackgroundProcess> process_;
};

// A self-signed certificate for 127.0.0.1 (made with the openssl command) and its key, in
// `dir`: cert.pem and key.pem. The certificate is its own CA: trust it with `ca_file`.
Status MakeSelfSignedCertificate(const std::filesystem::path& dir);

}  // namespace backout::testing
