// Internal to the DynamoDB adapter (and the test harness that drives dynalite through it):
// calls of DynamoDB's JSON 1.0 API over adapters/net (POST, X-Amz-Target
// DynamoDB_20120810.<Operation>, SigV4 signed by curl).
//
// Errors: a DynamoDB error answer ({"__type": "...#Name", "message": "..."}) becomes one
// Status whose message reads "DynamoDB <Operation>: <Name>: <message>":
//   ResourceNotFoundException                       kNotFound (callers read it as "absent")
//   ResourceInUseException                          kFailedPrecondition
//   ValidationException, SerializationException     kInvalidArgument
//   credential and permission errors                kFailedPrecondition
//   throttling (ThrottlingException, ProvisionedThroughputExceededException,
//   RequestLimitExceeded) and HTTP 5xx              retried with exponential backoff; once
//                                                   RetryPolicy::max_tries is used up,
//                                                   kUnavailable ("throttled by DynamoDB
//                                                   after N tries")
//   anything else                                   kFailedPrecondition
// Transport failures (unreachable endpoint, reset) are kUnavailable and are not retried
// here: a step's `retry:` is the plan author's tool for that. The step's deadline and
// SIGINT/SIGTERM stop a call, and a backoff sleep, with kTimeout / kCancelled.
//
// Secrets: the credentials go to curl for signing and nowhere else; no message, output or
// progress line holds them (the secret key never even travels: only its signature does).
//
// Thread safety: a Client is used by one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/aws/credentials.h"
#include "adapters/common/stop.h"
#include "base/env.h"
#include "base/status.h"

namespace backout::adapters::dynamodb {

// When a step's work must stop: SIGINT/SIGTERM set `cancel`, or the step's timeout passed.
// Every HTTP request and every backoff sleep is cut to what remains (Cap(), Sleep()).
// Worded "cancelled by a signal", "the step's timeout (5000ms) passed".
class Deadline : public common::StopCondition {
 public:
  // `cancel` may be null (never cancelled); a zero `timeout` means no deadline. The deadline
  // starts counting now.
  Deadline(const std::atomic<bool>* cancel, std::chrono::milliseconds timeout);
};

// How throttled (and 5xx) calls are retried.
struct RetryPolicy {
  int max_tries = 10;  // tries in all, the first included
  std::chrono::milliseconds first_backoff{50};
  std::chrono::milliseconds max_backoff{5000};

  // The pause after `tries` failed tries: first_backoff * 2^(tries-1), at most max_backoff.
  std::chrono::milliseconds BackoffAfter(int tries) const;
};

struct ClientConfig {
  std::string endpoint;  // "https://dynamodb.us-east-1.amazonaws.com", "http://127.0.0.1:8000"
  std::string region;
  aws::Credentials credentials;
  RetryPolicy retry;
  std::function<void(std::string_view)> progress;  // optional: told of each retry
};

// `endpoint` of a target, or the AWS endpoint of `region` when the target names none.
std::string EndpointFor(const nlohmann::json& target, const std::string& region);

// Everything a client for `target` needs, from its config (endpoint, region, max_tries) and
// the credentials and region in `env`; `progress` is told of retries (may be empty).
Result<ClientConfig> ClientConfigFor(const nlohmann::json& target, Env& env,
                                     std::function<void(std::string_view)> progress);

class Client {
 public:
  // `deadline` must outlive the client.
  Client(ClientConfig config, const Deadline& deadline);

  // Calls `operation` ("DescribeTable") with `request` and returns DynamoDB's answer. When
  // DynamoDB answers with an error and `error_name` is given, it receives the error's name
  // ("ResourceInUseException"), for callers that treat one error specially.
  Result<nlohmann::json> Call(std::string_view operation, const nlohmann::json& request,
                              std::string* error_name = nullptr) const;

  const RetryPolicy& retry() const { return config_.retry; }
  const Deadline& deadline() const { return deadline_; }

 private:
  ClientConfig config_;
  const Deadline& deadline_;
};

// DescribeTable's "Table", or nullopt when the table does not exist.
Result<std::optional<nlohmann::json>> DescribeTable(const Client& client,
                                                    const std::string& table);

}  // namespace backout::adapters::dynamodb
