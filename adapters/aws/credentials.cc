#include "adapters/aws/credentials.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/aws/profile_files.h"
#include "adapters/common/subprocess.h"
#include "adapters/net/http_client.h"
#include "base/file_util.h"

namespace backout::adapters::aws {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// What a source gives: credentials, none (and why, for the message listing every source
// tried), or an error that ends the chain.
struct Outcome {
  std::optional<Credentials> credentials;
  std::string why_none;
};
using SourceResult = Result<Outcome>;

Outcome None(std::string why) { return Outcome{std::nullopt, std::move(why)}; }
Outcome Found(Credentials credentials) { return Outcome{std::move(credentials), ""}; }

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// An ISO 8601 UTC time as the credential endpoints write it ("2026-12-05T18:00:00Z",
// fractions of a second, "UTC" or a "+hh:mm" offset allowed), in microseconds since the epoch.
std::optional<std::int64_t> ParseUtcTime(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string_view rest = std::string_view(text).substr(static_cast<std::size_t>(consumed));
  if (rest.starts_with('.')) {
    const std::size_t digits = rest.find_first_not_of("0123456789", 1);
    rest = digits == std::string_view::npos ? std::string_view() : rest.substr(digits);
  }
  std::int64_t offset_seconds = 0;
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int hours = 0, minutes = 0;
    if (std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &hours, &minutes) != 2) {
      return std::nullopt;
    }
    offset_seconds = (rest[0] == '-' ? -1 : 1) * (hours * 3600 + minutes * 60);
  } else if (!rest.empty() && rest != "Z" && rest != "UTC") {
    return std::nullopt;
  }
  return (static_cast<std::int64_t>(timegm(&tm)) - offset_seconds) * 1'000'000;
}

// `text` percent-encoded for a query string or a form body (RFC 3986 unreserved kept).
std::string PercentEncode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

std::string Sha1Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// The contents of a token file, trimmed; messages name the file and `what` it is.
Result<std::string> ReadTokenFile(const std::filesystem::path& path, std::string_view what) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) {
    return Status::FailedPrecondition(
        fmt::format("cannot read the {} {}: {}", what, path.string(), text.status().message()));
  }
  std::string token(TrimWhitespace(*text));
  if (token.empty()) {
    return Status::FailedPrecondition(fmt::format("the {} {} is empty", what, path.string()));
  }
  return token;
}

// The string member `key` of `object`, "" when absent or not a string.
std::string StringMember(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// Credentials from a JSON answer whose members are named `id`, `secret`, `token` and
// `expiration` (an ISO 8601 string, or milliseconds since the epoch as a number); kIOError
// naming `source` (and never a value) when a key is missing.
Result<Credentials> CredentialsFromJson(const json& object, const char* id, const char* secret,
                                        const char* token, const char* expiration,
                                        std::string source) {
  Credentials credentials;
  credentials.access_key_id = StringMember(object, id);
  credentials.secret_access_key = StringMember(object, secret);
  credentials.session_token = StringMember(object, token);
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::IOError(fmt::format("the answer of {} has no {} and {}", source, id, secret));
  }
  if (const auto it = object.find(expiration); it != object.end()) {
    if (it->is_number_integer()) {
      const auto millis = it->get<std::int64_t>();
      // Past year 2200 or before 1970 is no real expiry; it would only overflow below.
      if (millis > 0 && millis < 7'258'118'400'000) credentials.expires_at_micros = millis * 1000;
    } else if (it->is_string()) {
      credentials.expires_at_micros = ParseUtcTime(it->get<std::string>()).value_or(0);
    }
  }
  credentials.source = std::move(source);
  return credentials;
}

// The body of a credential endpoint's answer as JSON; kIOError naming `source` (never the
// body, which may hold secrets) when it is not an object.
Result<json> JsonAnswer(const net::HttpResponse& response, const std::string& source) {
  json parsed = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    return Status::IOError(fmt::format("{} answered something other than a JSON object", source));
  }
  return parsed;
}

// An HTTP status other than 200 from a credential endpoint, as an error naming `source`.
Status RefusedBy(const std::string& source, const net::HttpResponse& response,
                 std::string_view detail = "") {
  return Status::FailedPrecondition(fmt::format("{} answered HTTP {}{}{}", source, response.status,
                                                detail.empty() ? "" : ": ", detail));
}

// A service endpoint as the AWS SDKs let it be overridden: AWS_ENDPOINT_URL_<SERVICE>, else
// AWS_ENDPOINT_URL, else `fallback`.
std::string ServiceEndpoint(Env& env, const std::string& service, std::string fallback) {
  for (const std::string& name : {"AWS_ENDPOINT_URL_" + service, std::string("AWS_ENDPOINT_URL")}) {
    if (std::optional<std::string> url = NonEmptyVar(env, name)) {
      while (url->ends_with('/')) url->pop_back();
      return *url;
    }
  }
  return fallback;
}

// 1. The environment.
SourceResult FromEnvironment(Env& env) {
  std::optional<std::string> id = NonEmptyVar(env, "AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = NonEmptyVar(env, "AWS_SECRET_ACCESS_KEY");
  if (!id.has_value() && !secret.has_value()) {
    return None("environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set)");
  }
  if (!id.has_value() || !secret.has_value()) {
    return Status::FailedPrecondition(
        fmt::format("no AWS credentials: {} is not set (AWS targets read AWS_ACCESS_KEY_ID, "
                    "AWS_SECRET_ACCESS_KEY and, for temporary credentials, AWS_SESSION_TOKEN)",
                    id.has_value() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID"));
  }
  return Found(Credentials{*id, *secret, NonEmptyVar(env, "AWS_SESSION_TOKEN").value_or(""),
                           "environment", 0});
}

// 2. Keys written in the profile.
SourceResult FromProfileKeys(const Profile& profile) {
  std::optional<std::string> id = profile.Get("aws_access_key_id");
  std::optional<std::string> secret = profile.Get("aws_secret_access_key");
  if (!id.has_value() && !secret.has_value()) return None("");
  if (!id.has_value() || !secret.has_value()) {
    return Status::FailedPrecondition(
        fmt::format("the AWS profile '{}' has {} but no {}", profile.name,
                    id.has_value() ? "aws_access_key_id" : "aws_secret_access_key",
                    id.has_value() ? "aws_secret_access_key" : "aws_access_key_id"));
  }
  std::optional<std::string> token = profile.Get("aws_session_token");
  if (!token.has_value()) token = profile.Get("aws_security_token");  // the older name
  return Found(Credentials{*id, *secret, token.value_or(""),
                           fmt::format("profile '{}' in {}", profile.name,
                                       profile.origin.at("aws_access_key_id").string()),
                           0});
}

// `command` split into words as a POSIX shell would (quotes and backslashes), without
// expanding anything.
Result<std::vector<std::string>> SplitCommand(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (c == '\'' || c == '"') {
      const std::size_t close = command.find(c, i + 1);
      if (close == std::string_view::npos) {
        return Status::InvalidArgument("credential_process has an unclosed quote");
      }
      for (std::size_t j = i + 1; j < close; ++j) {
        if (c == '"' && command[j] == '\\' && j + 1 < close) ++j;
        word += command[j];
      }
      i = close;
      in_word = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return Status::InvalidArgument("credential_process is empty");
  return words;
}

// 3. The profile's credential_process.
SourceResult FromCredentialProcess(const Profile& profile) {
  std::optional<std::string> command = profile.Get("credential_process");
  if (!command.has_value()) return None("");
  const std::string source = fmt::format("credential_process of profile '{}'", profile.name);
  Result<std::vector<std::string>> words = SplitCommand(*command);
  if (!words.ok()) {
    return Status::FailedPrecondition(fmt::format("{}: {}", source, words.status().message()));
  }
  // Through sh only to drop stderr: the one pipe RunSubprocess reads carries both streams,
  // and what the command says on stderr would otherwise spoil the JSON on stdout.
  SubprocessOptions options;
  options.argv = {"/bin/sh", "-c", "exec \"$@\" 2>/dev/null", "credential_process"};
  options.argv.insert(options.argv.end(), words->begin(), words->end());
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    options.env.emplace_back(*entry);
  }
  options.timeout = milliseconds(60'000);
  options.tail_capacity = 1 << 20;
  Result<SubprocessResult> ran = RunSubprocess(options);
  if (!ran.ok()) {
    return Status::FailedPrecondition(
        fmt::format("{} did not start: {}", source, ran.status().message()));
  }
  if (ran->stopped == StopReason::kDeadline) {
    return Status::Timeout(fmt::format("{} did not finish within 60 s", source));
  }
  if (ran->exit_code != 0) {
    return Status::FailedPrecondition(fmt::format(
        "{} failed ({}); its output is not shown, as it may hold secrets", source,
        ran->exit_code.has_value() ? fmt::format("exit {}", *ran->exit_code)
                                   : fmt::format("signal {}", ran->term_signal.value_or(0))));
  }
  json answer = json::parse(ran->output_tail, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || answer.value("Version", json()) != 1) {
    return Status::FailedPrecondition(
        fmt::format("{} printed something other than a JSON object with \"Version\": 1", source));
  }
  Result<Credentials> credentials = CredentialsFromJson(answer, "AccessKeyId", "SecretAccessKey",
                                                        "SessionToken", "Expiration", source);
  if (!credentials.ok()) return credentials.status();
  return Found(*std::move(credentials));
}

// 4. The profile's SSO settings and the token `aws sso login` cached for them.
SourceResult FromSso(const Profile& profile, Env& env) {
  std::optional<std::string> session_name = profile.Get("sso_session");
  std::optional<std::string> start_url = profile.Get("sso_start_url");
  if (!session_name.has_value() && !start_url.has_value()) return None("");
  const std::string source = fmt::format("SSO of profile '{}'", profile.name);
  std::optional<std::string> region = profile.Get("sso_region");
  std::string cache_key;
  if (session_name.has_value()) {
    const auto session = profile.sso_sessions.find(*session_name);
    if (session == profile.sso_sessions.end()) {
      return Status::FailedPrecondition(fmt::format("{}: {} has no [sso-session {}]", source,
                                                    profile.config_file.string(), *session_name));
    }
    if (const auto it = session->second.find("sso_region"); it != session->second.end()) {
      region = it->second;
    }
    cache_key = *session_name;
  } else {
    cache_key = *start_url;
  }
  std::optional<std::string> account = profile.Get("sso_account_id");
  std::optional<std::string> role = profile.Get("sso_role_name");
  if (!region.has_value() || !account.has_value() || !role.has_value()) {
    return Status::FailedPrecondition(
        fmt::format("{} needs sso_region, sso_account_id and sso_role_name", source));
  }
  const std::filesystem::path cache_file =
      ExpandHome(fmt::format("~/.aws/sso/cache/{}.json", Sha1Hex(cache_key)), env);
  const std::string login_hint = fmt::format("run `aws sso login --profile {}`", profile.name);
  Result<std::string> cached = ReadFileToString(cache_file);
  if (!cached.ok()) {
    return Status::FailedPrecondition(fmt::format("{}: no cached SSO token ({}); {}", source,
                                                  cached.status().message(), login_hint));
  }
  const json token = json::parse(*cached, nullptr, /*allow_exceptions=*/false);
  const std::string access_token = token.is_object() ? StringMember(token, "accessToken") : "";
  std::optional<std::int64_t> expires =
      token.is_object() ? ParseUtcTime(StringMember(token, "expiresAt")) : std::nullopt;
  if (access_token.empty() || !expires.has_value()) {
    return Status::FailedPrecondition(
        fmt::format("{}: the cached SSO token {} has no accessToken and expiresAt; {}", source,
                    cache_file.string(), login_hint));
  }
  if (*expires <= env.NowMicros()) {
    return Status::FailedPrecondition(
        fmt::format("{}: the cached SSO token has expired; {}", source, login_hint));
  }
  net::HttpRequest request;
  request.url = fmt::format(
      "{}/federation/credentials?role_name={}&account_id={}",
      ServiceEndpoint(env, "SSO", fmt::format("https://portal.sso.{}.amazonaws.com", *region)),
      PercentEncode(*role), PercentEncode(*account));
  request.headers = {{"x-amz-sso_bearer_token", access_token}};
  Result<net::HttpResponse> response = net::Send(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) return RefusedBy(source, *response);
  Result<json> answer = JsonAnswer(*response, source);
  if (!answer.ok()) return answer.status();
  Result<Credentials> credentials =
      CredentialsFromJson(answer->value("roleCredentials", json::object()), "accessKeyId",
                          "secretAccessKey", "sessionToken", "expiration", source);
  if (!credentials.ok()) return credentials.status();
  return Found(*std::move(credentials));
}

// The text of the first <tag>...</tag> in `xml`, "" when there is none.
std::string XmlElement(std::string_view xml, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag);
  const std::size_t start = xml.find(open);
  if (start == std::string_view::npos) return "";
  const std::size_t end = xml.find(fmt::format("</{}>", tag), start);
  if (end == std::string_view::npos) return "";
  return std::string(xml.substr(start + open.size(), end - start - open.size()));
}

// 5. Web identity, from the environment or else the profile.
SourceResult FromWebIdentity(const json& target, const Profile& profile, Env& env) {
  // Each setting from the environment, else from the profile, as the AWS CLI takes them.
  const auto setting = [&](const char* variable, const char* key) {
    std::optional<std::string> value = NonEmptyVar(env, variable);
    return value.has_value() ? value : profile.Get(key);
  };
  std::optional<std::string> token_file =
      setting("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file");
  std::optional<std::string> role_arn = setting("AWS_ROLE_ARN", "role_arn");
  std::optional<std::string> session_name = setting("AWS_ROLE_SESSION_NAME", "role_session_name");
  if (!token_file.has_value()) {
    if (profile.Get("role_arn").has_value()) {
      return Status::FailedPrecondition(fmt::format(
          "the AWS profile '{}' assumes a role from another profile or source (role_arn "
          "without web_identity_token_file), which backout does not support; give the profile "
          "keys, credential_process or SSO instead",
          profile.name));
    }
    return None("web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set)");
  }
  if (!role_arn.has_value()) {
    return Status::FailedPrecondition(
        "web identity has a token file but no role: set AWS_ROLE_ARN (or role_arn in the "
        "profile)");
  }
  const std::string source = "web identity (STS AssumeRoleWithWebIdentity)";
  Result<std::string> token =
      ReadTokenFile(ExpandHome(*token_file, env), "web identity token file");
  if (!token.ok()) return token.status();
  Result<std::string> region = RegionFor(target, env);
  net::HttpRequest request;
  request.method = "POST";
  request.url = ServiceEndpoint(env, "STS",
                                region.ok() ? fmt::format("https://sts.{}.amazonaws.com", *region)
                                            : "https://sts.amazonaws.com") +
                "/";
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
  request.body = fmt::format(
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}"
      "&WebIdentityToken={}",
      PercentEncode(*role_arn),
      PercentEncode(
          session_name.value_or(fmt::format("backout-session-{}", env.NowMicros() / 1'000'000))),
      PercentEncode(*token));
  Result<net::HttpResponse> response = net::Send(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) {
    return RefusedBy(source, *response, XmlElement(response->body, "Code"));
  }
  const std::string block = XmlElement(response->body, "Credentials");
  Credentials credentials{XmlElement(block, "AccessKeyId"), XmlElement(block, "SecretAccessKey"),
                          XmlElement(block, "SessionToken"), source,
                          ParseUtcTime(XmlElement(block, "Expiration")).value_or(0)};
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return Status::IOError(
        fmt::format("the answer of {} has no AccessKeyId and SecretAccessKey", source));
  }
  return Found(std::move(credentials));
}

// Whether plain http to the host of `url` stays on this machine or goes to a container
// agent, the only hosts the AWS SDKs accept a non-TLS full URI for.
bool AllowedPlainHttpHost(std::string_view url) {
  std::string_view host = url.substr(std::string_view("http://").size());
  host = host.substr(0, host.find('/'));
  if (host.starts_with('[')) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || host.starts_with("127.") || host == "[::1]" ||
         host == "169.254.170.2" || host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

// 6. The container credentials endpoint (ECS, EKS Pod Identity).
SourceResult FromContainer(Env& env) {
  std::string url;
  if (std::optional<std::string> relative =
          NonEmptyVar(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    url = "http://169.254.170.2" + *relative;
  } else if (std::optional<std::string> full =
                 NonEmptyVar(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    url = *full;
    if (!url.starts_with("https://") &&
        !(url.starts_with("http://") && AllowedPlainHttpHost(url))) {
      return Status::FailedPrecondition(fmt::format(
          "AWS_CONTAINER_CREDENTIALS_FULL_URI ({}) must be https, or http to a loopback "
          "address or the container agent",
          net::UrlForMessages(url)));
    }
  } else {
    return None("container (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set)");
  }
  const std::string source =
      fmt::format("the container credentials endpoint {}", net::UrlForMessages(url));
  net::HttpRequest request;
  request.url = url;
  request.connect_timeout = milliseconds(2'000);
  request.timeout = milliseconds(5'000);
  std::optional<std::string> token;
  if (std::optional<std::string> file =
          NonEmptyVar(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    Result<std::string> read = ReadTokenFile(*file, "container authorization token file");
    if (!read.ok()) return read.status();
    token = *std::move(read);
  } else {
    token = NonEmptyVar(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
  }
  if (token.has_value()) request.headers.emplace_back("Authorization", *token);
  Result<net::HttpResponse> response = net::Send(request);
  if (!response.ok()) return response.status();
  if (response->status != 200) return RefusedBy(source, *response);
  Result<json> answer = JsonAnswer(*response, source);
  if (!answer.ok()) return answer.status();
  Result<Credentials> credentials = CredentialsFromJson(*answer, "AccessKeyId", "SecretAccessKey",
                                                        "Token", "Expiration", "container");
  if (!credentials.ok()) return credentials.status();
  return Found(*std::move(credentials));
}

// The instance metadata endpoint, as the AWS SDKs choose it.
std::string MetadataEndpoint(const Profile& profile, Env& env) {
  std::optional<std::string> endpoint = NonEmptyVar(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (!endpoint.has_value()) endpoint = profile.Get("ec2_metadata_service_endpoint");
  if (endpoint.has_value()) {
    while (endpoint->ends_with('/')) endpoint->pop_back();
    return *endpoint;
  }
  std::optional<std::string> mode = NonEmptyVar(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
  if (!mode.has_value()) mode = profile.Get("ec2_metadata_service_endpoint_mode");
  return mode.has_value() && EqualsIgnoringCase(*mode, "IPv6") ? "http://[fd00:ec2::254]"
                                                               : "http://169.254.169.254";
}

// 7. Instance metadata, IMDSv2.
SourceResult FromInstanceMetadata(const Profile& profile, Env& env) {
  if (EqualsIgnoringCase(NonEmptyVar(env, "AWS_EC2_METADATA_DISABLED").value_or(""), "true")) {
    return None("instance metadata (AWS_EC2_METADATA_DISABLED=true)");
  }
  const std::string endpoint = MetadataEndpoint(profile, env);
  milliseconds timeout(1'000);
  if (std::optional<std::string> seconds = NonEmptyVar(env, "AWS_METADATA_SERVICE_TIMEOUT")) {
    if (const int parsed = std::atoi(seconds->c_str()); parsed > 0)
      timeout = milliseconds(parsed * 1000);
  }
  const auto request_to = [&](const std::string& method, const std::string& path) {
    net::HttpRequest request;
    request.method = method;
    request.url = endpoint + path;
    request.connect_timeout = timeout;
    request.timeout = timeout;
    return request;
  };
  const auto unreachable = [&](const std::string& why) {
    return None(fmt::format("instance metadata ({}: {})", endpoint, why));
  };

  net::HttpRequest token_request = request_to("PUT", "/latest/api/token");
  token_request.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  Result<net::HttpResponse> token = net::Send(token_request);
  if (!token.ok()) return unreachable(token.status().message());
  if (token->status != 200) {
    return unreachable(fmt::format("HTTP {} for an IMDSv2 session token", token->status));
  }
  constexpr std::string_view kRoles = "/latest/meta-data/iam/security-credentials/";
  net::HttpRequest roles_request = request_to("GET", std::string(kRoles));
  roles_request.headers = {{"X-aws-ec2-metadata-token", token->body}};
  Result<net::HttpResponse> roles = net::Send(roles_request);
  if (!roles.ok()) return unreachable(roles.status().message());
  if (roles->status == 404) return unreachable("the instance has no IAM role");
  const std::string source = fmt::format("instance metadata {}", endpoint);
  if (roles->status != 200) return RefusedBy(source, *roles);
  const std::string role(
      TrimWhitespace(std::string_view(roles->body).substr(0, roles->body.find('\n'))));
  if (role.empty()) return unreachable("the instance has no IAM role");

  net::HttpRequest role_request = request_to("GET", std::string(kRoles) + PercentEncode(role));
  role_request.headers = roles_request.headers;
  Result<net::HttpResponse> response = net::Send(role_request);
  if (!response.ok()) return response.status();
  if (response->status != 200) return RefusedBy(source, *response);
  Result<json> answer = JsonAnswer(*response, source);
  if (!answer.ok()) return answer.status();
  if (const std::string code = StringMember(*answer, "Code"); code != "Success") {
    return Status::FailedPrecondition(
        fmt::format("{} answered Code '{}' for role '{}'", source, code, role));
  }
  Result<Credentials> credentials = CredentialsFromJson(*answer, "AccessKeyId", "SecretAccessKey",
                                                        "Token", "Expiration", "instance metadata");
  if (!credentials.ok()) return credentials.status();
  return Found(*std::move(credentials));
}

}  // namespace

Result<Credentials> CredentialsFor(const json& target, Env& env) {
  std::vector<std::string> tried;
  const auto consider = [&](SourceResult outcome) -> std::optional<Result<Credentials>> {
    if (!outcome.ok()) return Result<Credentials>(outcome.status());
    if (outcome->credentials.has_value()) return Result<Credentials>(*outcome->credentials);
    if (!outcome->why_none.empty()) tried.push_back(std::move(outcome->why_none));
    return std::nullopt;
  };

  // A target that names its profile chooses it over the environment, as `aws --profile` does.
  if (const auto it = target.find("profile"); it != target.end() && it->is_string()) {
    tried.emplace_back("environment (skipped: the target names a profile)");
  } else if (auto found = consider(FromEnvironment(env))) {
    return *std::move(found);
  }
  Result<Profile> profile = LoadProfile(target, env);
  if (!profile.ok()) return profile.status();
  for (auto source : {FromProfileKeys, FromCredentialProcess}) {
    if (auto found = consider(source(*profile))) return *std::move(found);
  }
  if (auto found = consider(FromSso(*profile, env))) return *std::move(found);
  tried.push_back(profile->settings.empty()
                      ? fmt::format("profile '{}' (in neither {} nor {})", profile->name,
                                    profile->credentials_file.string(),
                                    profile->config_file.string())
                      : fmt::format("profile '{}' (no keys, credential_process or SSO settings)",
                                    profile->name));
  if (auto found = consider(FromWebIdentity(target, *profile, env))) return *std::move(found);
  if (auto found = consider(FromContainer(env))) return *std::move(found);
  if (auto found = consider(FromInstanceMetadata(*profile, env))) return *std::move(found);
  return Status::FailedPrecondition(
      fmt::format("no AWS credentials; tried {}", fmt::join(tried, "; ")));
}

Result<std::string> RegionFor(const json& target, Env& env) {
  if (const auto it = target.find("region"); it != target.end() && it->is_string()) {
    return it->get<std::string>();
  }
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::optional<std::string> region = NonEmptyVar(env, name)) return *region;
  }
  Result<Profile> profile = LoadProfile(target, env);
  if (!profile.ok()) return profile.status();
  if (std::optional<std::string> region = profile->Get("region")) return *region;
  return Status::FailedPrecondition(fmt::format(
      "no region: give the target a 'region', set AWS_REGION or AWS_DEFAULT_REGION, or give "
      "the AWS profile '{}' a region in {}",
      profile->name, profile->config_file.string()));
}

}  // namespace backout::adapters::aws
