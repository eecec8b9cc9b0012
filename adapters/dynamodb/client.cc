#include "adapters/dynamodb/client.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "adapters/aws/credentials.h"
#include "adapters/dynamodb/params.h"
#include "adapters/net/http_client.h"

namespace backout::adapters::dynamodb {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// One request may take this long at most (less when the step's deadline is nearer).
constexpr milliseconds kRequestTimeout{30'000};
// DynamoDB's own messages are short; a proxy's HTML error page is not.
constexpr std::size_t kMaxMessageChars = 300;

constexpr std::array<std::string_view, 3> kThrottlingErrors = {
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded"};
constexpr std::array<std::string_view, 7> kCredentialErrors = {
    "UnrecognizedClientException",  "InvalidSignatureException",
    "MissingAuthenticationTokenException", "IncompleteSignatureException",
    "AccessDeniedException",        "ExpiredTokenException",
    "InvalidClientTokenId"};

bool OneOf(std::string_view name, const auto& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// An error answer, decoded.
struct ApiError {
  std::string name;  // "ResourceNotFoundException"
  std::string message;
  bool retryable = false;
};

// The string member `key` of `object`, or "" (json::value() would throw on another type).
std::string StringMember(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

ApiError DecodeError(const net::HttpResponse& response) {
  ApiError error;
  const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object()) {
    const std::string type = StringMember(body, "__type");
    // "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException": the name follows '#'.
    const std::size_t hash = type.rfind('#');
    error.name = hash == std::string::npos ? type : type.substr(hash + 1);
    // DynamoDB writes "message"; some error types (and compatible servers) "Message".
    error.message = StringMember(body, "message");
    if (error.message.empty()) error.message = StringMember(body, "Message");
  }
  if (error.name.empty()) error.name = fmt::format("HTTP {}", response.status);
  if (error.message.empty()) error.message = response.body;
  error.message = net::TextExcerpt(error.message, kMaxMessageChars);
  error.retryable = OneOf(error.name, kThrottlingErrors) || response.status >= 500;
  return error;
}

Status ToStatus(std::string_view operation, const ApiError& error) {
  std::string message = fmt::format("DynamoDB {}: {}: {}", operation, error.name, error.message);
  if (error.name == "ResourceNotFoundException") return Status::NotFound(std::move(message));
  if (error.name == "ValidationException" || error.name == "SerializationException") {
    return Status::InvalidArgument(std::move(message));
  }
  if (OneOf(error.name, kCredentialErrors)) {
    return Status::FailedPrecondition(
        message + " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the "
                  "region)");
  }
  return Status::FailedPrecondition(std::move(message));
}

const common::StopWording kStopWording = {
    "cancelled by a signal", [](milliseconds timeout) {
      return fmt::format("the step's timeout ({}ms) passed", timeout.count());
    }};

}  // namespace

Deadline::Deadline(const std::atomic<bool>* cancel, milliseconds timeout)
    : common::StopCondition(cancel, timeout, kStopWording) {}

std::string EndpointFor(const json& target, const std::string& region) {
  if (const auto it = target.find("endpoint"); it != target.end() && it->is_string()) {
    return it->get<std::string>();
  }
  return fmt::format("https://dynamodb.{}.amazonaws.com", region);
}

milliseconds RetryPolicy::BackoffAfter(int tries) const {
  milliseconds delay = first_backoff;
  for (int i = 1; i < tries && delay < max_backoff; ++i) delay *= 2;
  return std::min(delay, max_backoff);
}

Client::Client(ClientConfig config, const Deadline& deadline)
    : config_(std::move(config)), deadline_(deadline) {}

Result<ClientConfig> ClientConfigFor(const json& target, Env& env,
                                     std::function<void(std::string_view)> progress) {
  Result<aws::Credentials> credentials = aws::CredentialsFor(target, env);
  if (!credentials.ok()) return credentials.status();
  Result<std::string> region = aws::RegionFor(target, env);
  if (!region.ok()) return region.status();
  ClientConfig config;
  config.endpoint = EndpointFor(target, *region);
  config.region = std::move(region).value();
  config.credentials = std::move(credentials).value();
  if (const auto tries = target.find("max_tries"); tries != target.end()) {
    config.retry.max_tries = static_cast<int>(*AsCount(*tries));
  }
  config.progress = std::move(progress);
  return config;
}

Result<json> Client::Call(std::string_view operation, const json& request,
                          std::string* error_name) const {
  net::HttpRequest http;
  http.method = "POST";
  http.url = config_.endpoint;
  http.headers = {{"Content-Type", "application/x-amz-json-1.0"},
                  {"X-Amz-Target", fmt::format("DynamoDB_20120810.{}", operation)}};
  // Replacing invalid UTF-8 instead of throwing: names and items come from the plan and from
  // parsed JSON, so there is none to replace in practice.
  http.body = request.dump(-1, ' ', false, json::error_handler_t::replace);
  http.cancel = deadline_.cancel();
  http.sigv4 = net::AwsSigV4{config_.region, "dynamodb", config_.credentials.access_key_id,
                             config_.credentials.secret_access_key,
                             config_.credentials.session_token};
  const std::string what = fmt::format("DynamoDB {}", operation);
  std::string last;  // the last retryable answer, for the message when time runs out
  for (int tries = 1;; ++tries) {
    // Only for the failures below: the tries so far and DynamoDB's last answer.
    auto after = [&] {
      return last.empty() ? what : fmt::format("{} (after {} tries; {})", what, tries - 1, last);
    };
    if (Status stop = deadline_.Check(); !stop.ok()) return stop.WithContext(after());
    http.timeout = deadline_.Cap(kRequestTimeout);
    Result<net::HttpResponse> response = net::Send(http);
    if (!response.ok()) {
      // The step's time can run out in a request that follows a throttled one: say why the
      // request was still being made then.
      if (response.status().code() == Code::kTimeout && !last.empty()) {
        return response.status().WithContext(after());
      }
      return response.status();  // names the method and URL
    }
    if (response->status == 200) {
      json answer = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (!answer.is_object()) {
        return Status::IOError(fmt::format("{}: the answer is not a JSON object", what));
      }
      return answer;
    }
    const ApiError error = DecodeError(*response);
    if (error_name != nullptr) *error_name = error.name;
    if (!error.retryable) return ToStatus(operation, error);
    last = fmt::format("last answer {}: {}", error.name, error.message);
    if (tries >= config_.retry.max_tries) {
      return Status::Unavailable(
          OneOf(error.name, kThrottlingErrors)
              ? fmt::format("{}: throttled by DynamoDB after {} tries ({})", what, tries, last)
              : fmt::format("{}: DynamoDB kept failing after {} tries ({})", what, tries, last));
    }
    const milliseconds pause = config_.retry.BackoffAfter(tries);
    if (config_.progress) {
      config_.progress(fmt::format("{}: {}, try {} of {}; trying again in {}ms", what, error.name,
                                   tries, config_.retry.max_tries, pause.count()));
    }
    if (Status slept = deadline_.Sleep(pause); !slept.ok()) {
      return slept.WithContext(fmt::format("{} (after {} tries; {})", what, tries, last));
    }
  }
}

Result<std::optional<json>> DescribeTable(const Client& client, const std::string& table) {
  Result<json> answer = client.Call("DescribeTable", {{"TableName", table}});
  if (!answer.ok()) {
    if (answer.status().code() == Code::kNotFound) return std::optional<json>();
    return answer.status();
  }
  const auto it = answer->find("Table");
  if (it == answer->end() || !it->is_object()) {
    return Status::IOError(
        fmt::format("DynamoDB DescribeTable {}: the answer has no Table", table));
  }
  return std::optional<json>(*it);
}

}  // namespace backout::adapters::dynamodb
