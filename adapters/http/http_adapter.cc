#include "adapters/http/http_adapter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "adapters/http/http_target.h"
#include "base/env.h"
#include "base/time.h"

namespace backout::adapters {
namespace {

using http::HttpTarget;
using http::ParamReader;
using http::Place;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kBodyExcerptBytes = 2048;  // of a body in the outputs
constexpr std::size_t kMessageExcerptBytes = 200;  // of a body in an error message
constexpr std::size_t kProgressExcerptBytes = 80;
constexpr milliseconds kDefaultInterval{2000};
// How long a wait_until polls when its step has no timeout: a health check must not spin
// for ever, and a rollback that waits longer than this should say so in its plan.
constexpr milliseconds kDefaultWaitLimit{5 * 60 * 1000};
constexpr std::array<std::string_view, 7> kMethods = {"GET",    "HEAD",   "POST",   "PUT",
                                                      "PATCH",  "DELETE", "OPTIONS"};

// Accepted statuses: single codes (200) and classes ("2xx").
class StatusSet {
 public:
  static StatusSet Success() { return StatusSet({{200, 299}}, "2xx"); }

  bool Contains(long status) const {
    return std::any_of(ranges_.begin(), ranges_.end(),
                       [&](const auto& r) { return status >= r.first && status <= r.second; });
  }
  const std::string& text() const { return text_; }

  // `value`: one status or class, or a list of them.
  static std::optional<StatusSet> Read(const json& value, const Place& place,
                                       ParamReader& reader) {
    if (reader.IsReference(value)) return std::nullopt;
    const json list = value.is_array() ? value : json::array({value});
    if (list.empty()) {
      reader.Problem(place, "expected a status (200), a class (\"2xx\") or a list of them");
      return std::nullopt;
    }
    StatusSet set({}, "");
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Place at = value.is_array() ? place / i : place;
      if (reader.IsReference(list[i])) return std::nullopt;
      const std::string text = list[i].is_string() ? list[i].get<std::string>() : list[i].dump();
      if (text.size() == 3 && text[0] >= '1' && text[0] <= '5' &&
          (text.substr(1) == "xx" || text.substr(1) == "XX")) {
        const long base = (text[0] - '0') * 100;
        set.ranges_.emplace_back(base, base + 99);
      } else if (std::optional<std::int64_t> code = reader.Integer(list[i], at)) {
        if (*code < 100 || *code > 599) {
          reader.Problem(at, "expected an HTTP status from 100 to 599");
          continue;
        }
        set.ranges_.emplace_back(*code, *code);
      } else {
        continue;  // reader.Integer recorded the problem
      }
      texts.push_back(text);
    }
    if (set.ranges_.empty()) return std::nullopt;
    set.text_ = fmt::format("{}", fmt::join(texts, ", "));
    return set;
  }

 private:
  StatusSet(std::vector<std::pair<long, long>> ranges, std::string text)
      : ranges_(std::move(ranges)), text_(std::move(text)) {}
  std::vector<std::pair<long, long>> ranges_;
  std::string text_;
};

// `wait_until: { status, body_contains, json: { path, equals }, interval }`.
struct WaitUntil {
  StatusSet status = StatusSet::Success();
  std::optional<std::string> body_contains;
  std::optional<json::json_pointer> json_path;
  json json_equals;
  milliseconds interval = kDefaultInterval;

  std::string Describe() const {
    std::vector<std::string> parts{fmt::format("status {}", status.text())};
    if (body_contains) parts.push_back(fmt::format("body containing '{}'", *body_contains));
    if (json_path) {
      parts.push_back(fmt::format("{} equal to {}", json_path->to_string(), json_equals.dump()));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  bool Holds(const net::HttpResponse& response) const {
    if (!status.Contains(response.status)) return false;
    if (body_contains && response.body.find(*body_contains) == std::string::npos) return false;
    if (!json_path) return true;
    const json body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.contains(*json_path)) return false;
    const json& actual = body.at(*json_path);
    // A `${VAR}` expands to text: "3" then stands for the number 3 (or true, null).
    return actual == json_equals ||
           (json_equals.is_string() && !actual.is_string() && actual.dump() == json_equals);
  }
};

struct HttpAction {
  HttpTarget target;
  std::string method = "GET";
  std::string url;
  net::Headers headers;  // the target's, merged with the action's
  std::string body;
  StatusSet expect = StatusSet::Success();
  std::optional<WaitUntil> wait;
  std::optional<milliseconds> request_timeout;
};

std::optional<std::string> ReadMethod(const json& value, const Place& place, ParamReader& reader) {
  if (reader.IsReference(value)) return std::nullopt;
  std::optional<std::string> text = reader.Text(value, place);
  if (!text) return std::nullopt;
  std::transform(text->begin(), text->end(), text->begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (std::find(kMethods.begin(), kMethods.end(), *text) == kMethods.end()) {
    reader.Problem(place, fmt::format("expected one of: {}", fmt::join(kMethods, ", ")));
    return std::nullopt;
  }
  return text;
}

bool HasHeader(const net::Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) {
    return h.first.size() == name.size() &&
           std::equal(h.first.begin(), h.first.end(), name.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  });
}

// A text body is sent as is; a mapping or list as JSON. Without a Content-Type header, a
// body that is JSON says so (curl would otherwise call it a form), any other text/plain.
void ReadBody(const json& value, const Place& place, ParamReader& reader, HttpAction& action) {
  if (value.is_object() || value.is_array()) {
    action.body = value.dump();
  } else if (std::optional<std::string> text = reader.Text(value, place)) {
    action.body = std::move(*text);
  } else {
    return;
  }
  if (HasHeader(action.headers, "content-type")) return;
  const bool is_json = json::accept(action.body);
  action.headers.emplace_back("Content-Type", is_json ? "application/json" : "text/plain; charset=utf-8");
}

std::optional<WaitUntil> ReadWaitUntil(const json& value, const Place& place,
                                       ParamReader& reader, const StatusSet& expect) {
  if (!reader.Mapping(value, place, {"status", "body_contains", "json", "interval"})) {
    return std::nullopt;
  }
  WaitUntil wait;
  wait.status = expect;
  if (auto it = value.find("status"); it != value.end()) {
    if (std::optional<StatusSet> set = StatusSet::Read(*it, place / "status", reader)) {
      wait.status = std::move(*set);
    }
  }
  if (auto it = value.find("body_contains"); it != value.end()) {
    wait.body_contains = reader.NonEmptyText(*it, place / "body_contains");
  }
  if (auto it = value.find("json"); it != value.end()) {
    const Place at = place / "json";
    if (reader.Mapping(*it, at, {"path", "equals"})) {
      const auto path = it->find("path");
      const auto equals = it->find("equals");
      if (path == it->end() || equals == it->end()) {
        reader.Problem(at, "expected 'path' (a JSON pointer such as /status) and 'equals'");
      } else if (std::optional<std::string> text = reader.Text(*path, at / "path")) {
        if (!text->empty() && !text->starts_with('/')) {
          reader.Problem(at / "path", "expected a JSON pointer such as /status or /checks/0/ok");
        } else {
          // A pointer that starts with '/' can still be malformed ("/a~2"): the parse error is
          // a problem, and the only exception nlohmann raises here.
          try {
            wait.json_path = json::json_pointer(*text);
            wait.json_equals = *equals;
          } catch (const json::exception&) {
            reader.Problem(at / "path", "not a valid JSON pointer ('~' must be followed by 0 or 1)");
          }
        }
      }
    }
  }
  if (auto it = value.find("interval"); it != value.end()) {
    wait.interval = reader.Duration(*it, place / "interval").value_or(kDefaultInterval);
  }
  return wait;
}

HttpAction ReadAction(const json& target, const json& params, ParamReader& reader) {
  HttpAction action;
  action.target = http::ReadHttpTarget(target, reader);
  const Place root;
  // `target` and `timeout` belong to the engine.
  if (!reader.Mapping(params, root,
                      {"target", "timeout", "method", "path", "url", "headers", "body",
                       "expect_status", "wait_until", "request_timeout"})) {
    return action;
  }
  if (auto it = params.find("method"); it != params.end()) {
    action.method = ReadMethod(*it, root / "method", reader).value_or("GET");
  }
  action.url = http::ReadUrl(params, action.target, reader).value_or("");
  net::Headers own;
  if (auto it = params.find("headers"); it != params.end()) {
    own = http::ReadHeaders(*it, root / "headers", reader);
  }
  action.headers = http::MergeHeaders(action.target.headers, own);
  if (auto it = params.find("body"); it != params.end()) {
    ReadBody(*it, root / "body", reader, action);
  }
  if (auto it = params.find("expect_status"); it != params.end()) {
    if (std::optional<StatusSet> set = StatusSet::Read(*it, root / "expect_status", reader)) {
      action.expect = std::move(*set);
    }
  }
  if (auto it = params.find("wait_until"); it != params.end()) {
    if (params.contains("expect_status") && it->is_object() && it->contains("status")) {
      reader.Problem(root / "wait_until" / "status",
                     "give the awaited status here or in 'expect_status', not in both");
    }
    action.wait = ReadWaitUntil(*it, root / "wait_until", reader, action.expect);
  }
  if (auto it = params.find("request_timeout"); it != params.end()) {
    action.request_timeout = reader.Duration(*it, root / "request_timeout");
  }
  if (!action.request_timeout) action.request_timeout = action.target.request_timeout;
  return action;
}

std::string UnsupportedAction(std::string_view action) {
  return fmt::format("http targets support only the 'http' action, not '{}'", action);
}

// One running action: the request, the clock, what to keep out of the outputs.
class Exchange {
 public:
  Exchange(const HttpAction& action, const Invocation& invocation)
      : action_(action),
        invocation_(invocation),
        scrub_(action.target, action.headers),
        request_(http::MakeRequest(action.target, action.method, action.url, action.headers,
                                   invocation.base_dir)),
        started_(Clock::now()) {
    request_.body = action.body;
    request_.cancel = invocation.cancel;
    if (invocation.timeout.count() > 0) {
      deadline_ = started_ + invocation.timeout;
      limit_ = invocation.timeout;
    } else if (action.wait) {
      deadline_ = started_ + kDefaultWaitLimit;
      limit_ = kDefaultWaitLimit;
    }
  }

  Outcome Once() {
    Progress(what());
    Result<net::HttpResponse> response = Send();
    if (!response.ok()) return Finish(response.status(), nullptr);
    if (action_.expect.Contains(response->status)) return Finish(Status::Ok(), &*response);
    return Finish(Status::ExpectationFailed(fmt::format(
                      "{} answered {} (expected {}){}", what(), response->status,
                      action_.expect.text(), BodyForMessage(*response))),
                  &*response);
  }

  Outcome Wait(const WaitUntil& wait) {
    Progress(fmt::format("{}: waiting for {}", what(), wait.Describe()));
    std::optional<net::HttpResponse> last;  // the last answer
    Status failed;                          // why the latest poll got none, if it did not
    while (Clock::now() < *deadline_) {
      ++polls_;
      Result<net::HttpResponse> response = Send();
      if (response.ok() && wait.Holds(*response)) return Finish(Status::Ok(), &*response);
      if (response.status().code() == Code::kCancelled) {
        return Finish(response.status(), last ? &*last : nullptr);
      }
      if (response.ok()) {
        last = std::move(*response);
        failed = Status::Ok();
        Progress(fmt::format("poll {}: {}{}", polls_, last->status,
                             BodyForMessage(*last, kProgressExcerptBytes)));
      } else {
        failed = response.status();
        Progress(fmt::format("poll {}: {}", polls_, failed.message()));
      }
      const auto left = std::chrono::ceil<milliseconds>(*deadline_ - Clock::now());
      if (left.count() <= 0) break;
      if (!Env::Default()->SleepFor(std::min(wait.interval, left), invocation_.cancel)) {
        return Finish(Status::Cancelled(fmt::format("{}: cancelled while waiting", what())),
                      last ? &*last : nullptr);
      }
    }
    // The last answer says most about why the wait failed. A poll cut short by the deadline
    // adds nothing; any other failure after it (the service went away) is worth saying.
    std::string seen = last ? fmt::format("last answer {}{}", last->status, BodyForMessage(*last))
                            : "no answer";
    if (!failed.ok() && (!last || failed.code() != Code::kTimeout)) {
      seen += fmt::format("{}last error: {}", last ? ", then " : "; ", failed.message());
    }
    return Finish(Status::Timeout(fmt::format(
                      "{}: {} did not hold within {}{} ({} polls); {}", what(), wait.Describe(),
                      FormatDuration(limit_),
                      invocation_.timeout.count() > 0 ? "" : " (the default; set the step's timeout)",
                      polls_, seen)),
                  last ? &*last : nullptr);
  }

 private:
  std::string what() const {
    return fmt::format("{} {}", request_.method, net::UrlForMessages(request_.url));
  }

  Result<net::HttpResponse> Send() {
    request_.timeout = http::RequestTimeout(deadline_, action_.request_timeout);
    if (request_.timeout.count() <= 0) {
      return Status::Timeout(fmt::format("{}: the step's timeout of {} has passed", what(),
                                         FormatDuration(limit_)));
    }
    return net::Send(request_);
  }

  // ": {"status":"unhealthy"}" (a short excerpt of the body), or "" for an empty one.
  std::string BodyForMessage(const net::HttpResponse& response,
                             std::size_t bytes = kMessageExcerptBytes) const {
    if (response.body.empty()) return "";
    return ": " + http::OneLineExcerpt(response.body, bytes);
  }

  void Progress(const std::string& text) const {
    if (invocation_.progress) invocation_.progress(scrub_(text));
  }

  // The outputs: the request, the time, and the (last) response when there is one.
  Outcome Finish(Status status, const net::HttpResponse* response) const {
    json outputs = {
        {"method", request_.method},
        {"url", net::UrlForMessages(request_.url)},
        {"elapsed_ms",
         std::chrono::duration_cast<milliseconds>(Clock::now() - started_).count()}};
    if (action_.wait) outputs["polls"] = polls_;
    if (response != nullptr) {
      outputs["status"] = response->status;
      outputs["body"] = net::TextExcerpt(response->body, kBodyExcerptBytes);
      outputs["body_bytes"] = response->body.size();
      if (std::optional<std::string> type = response->Header("content-type")) {
        outputs["content_type"] = *type;
      }
      if (response->body.size() <= kBodyExcerptBytes) {
        json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
        if (!parsed.is_discarded()) outputs["json"] = std::move(parsed);
      }
    }
    return {scrub_(status), scrub_.Json(outputs)};
  }

  const HttpAction& action_;
  const Invocation& invocation_;
  http::Scrubber scrub_;
  net::HttpRequest request_;
  Clock::time_point started_;
  std::optional<Clock::time_point> deadline_;
  milliseconds limit_{0};
  int polls_ = 0;
};

class HttpAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return HttpVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return http::ValidateOneAction(action, target, params, vocabulary().actions.front().name,
                                   UnsupportedAction, ReadAction);
  }

  Outcome Run(const Invocation& invocation) override {
    return http::RunOneAction(invocation, vocabulary().actions.front().name, UnsupportedAction,
                              ReadAction,
                              [&](const HttpAction& action) {
                                Exchange exchange(action, invocation);
                                return action.wait ? exchange.Wait(*action.wait)
                                                   : exchange.Once();
                              });
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeHttpAdapter() { return std::make_unique<HttpAdapter>(); }

}  // namespace backout::adapters
