// A real DynamoDB-compatible server for tests: dynalite (tools/dynalite, installed by
// scripts/setup.sh with `npm ci`) started on 127.0.0.1 on a free port as a child process,
// in memory, and killed by the destructor. Plus the throttling proxy
// (tests/support/throttling_proxy.py) that answers DynamoDB's ThrottlingException before
// passing requests on.
//
// Table set-up goes through the DynamoDB adapter's own client (adapters/dynamodb/client.h),
// signed with the test credentials of SetTestCredentials().
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tests/support/process.h"

namespace backout::testing {

// Credentials and region that dynalite accepts (it checks that requests are signed, not by
// whom), set in this process's environment for the adapter to read.
inline constexpr const char* kTestAccessKeyId = "AKIDBACKOUTTEST";
inline constexpr const char* kTestSecretAccessKey = "backout-test-secret-5f3c9e1a7d";
void SetTestCredentials();

class DynamoServer {
 public:
  // Starts dynalite and waits until it answers. Tables are created and deleted in
  // `table_delay_ms` (dynalite's CREATING / DELETING phases).
  static Result<std::unique_ptr<DynamoServer>> Start(int table_delay_ms = 50);
  // The server of this test process, started (with SetTestCredentials()) on first use and
  // stopped at exit; the error of that start, every time, when it failed.
  static Result<DynamoServer*> Shared();
  ~DynamoServer() = default;

  int port() const { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  // {"type": "dynamodb", "endpoint": ..., "region": "us-east-1"}
  nlohmann::json Target() const;

  // One API call through the adapter's client.
  Result<nlohmann::json> Call(const std::string& operation, const nlohmann::json& request) const;

  // A table with the string hash key `key`, provisioned 5/5, waited for until ACTIVE.
  Status CreateTable(const std::string& table, const std::string& key = "id") const;
  // Puts `items` (DynamoDB JSON) with BatchWriteItem, 25 at a time.
  Status PutItems(const std::string& table, const std::vector<nlohmann::json>& items) const;
  // `count` items {"id": {"S": "item-N"}, "n": {"N": "N"}, "payload": {"S": ...}}.
  Status PutNumberedItems(const std::string& table, int count) const;
  // A table named after the running test ("TEST-SUFFIX"), holding `items` numbered items; a
  // test failure when it cannot be made.
  std::string TestTable(const std::string& suffix, int items = 0) const;
  // Every table on the server, one line each in name order: "NAME: N items, sha256 HEX",
  // HEX digesting the items' JSON (keys sorted) in sorted order, read with consistent Scans.
  // Two equal snapshots mean no table was created, deleted or changed in between.
  Result<std::string> Snapshot() const;

 private:
  DynamoServer(int port, std::unique_ptr<BackgroundProcess> process)
      : port_(port), process_(std::move(process)) {}

  int port_;
  std::unique_ptr<BackgroundProcess> process_;
};

// tests/support/throttling_proxy.py in front of `upstream`: it answers the first
// `throttled` requests (all of them when negative) with HTTP 400 and DynamoDB's
// ThrottlingException JSON, and passes the others on. With `check_signatures`, it first
// checks every request's SigV4 signature with botocore against kTestSecretAccessKey (every
// SignedHeader on the wire, the signature over what was received), answers a bad one with
// InvalidSignatureException, and logs one verdict a request (signature_log()).
class ThrottlingProxy {
 public:
  static Result<std::unique_ptr<ThrottlingProxy>> Start(const std::string& upstream,
                                                        int throttled,
                                                        bool check_signatures = false);
  ~ThrottlingProxy() = default;

  std::string endpoint() const;  // "http://127.0.0.1:PORT"
  // "ok TARGET SIGNED-HEADERS" or "bad TARGET: why", one line a request.
  std::filesystem::path signature_log() const { return dir_->path() / "signatures.log"; }

 private:
  ThrottlingProxy(int port, std::unique_ptr<TempDir> dir,
                  std::unique_ptr<BackgroundProcess> process)
      : port_(port), dir_(std::move(dir)), process_(std::move(process)) {}

  int port_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<BackgroundProcess> process_;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
Result<int> FreePort();

}  // namespace backout::testing
