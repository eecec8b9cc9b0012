#include "adapters/http/http_adapter.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "adapters/common/params.h"
#include "adapters/common/run.h"
#include "adapters/common/stop.h"
#include "adapters/http/http_target.h"
#include "base/time.h"

namespace backout::adapters {
namespace {

using common::Checker;
using common::Child;
using http::HttpTarget;
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
  static std::optional<StatusSet> Read(const json& value, const std::string& pointer,
                                       Checker& checker) {
    if (checker.Deferred(value)) return std::nullopt;
    const json list = value.is_array() ? value : json::array({value});
    if (list.empty()) {
      checker.Fail(pointer, "expected a status (200), a class (\"2xx\") or a list of them");
      return std::nullopt;
    }
    StatusSet set({}, "");
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::string at = value.is_array() ? Child(pointer, i) : pointer;
      if (checker.Deferred(list[i])) return std::nullopt;
      const std::string text = list[i].is_string() ? list[i].get<std::string>() : list[i].dump();
      if (text.size() == 3 && text[0] >= '1' && text[0] <= '5' &&
          (text.substr(1) == "xx" || text.substr(1) == "XX")) {
        const long base = (text[0] - '0') * 100;
        set.ranges_.emplace_back(base, base + 99);
      } else if (std::optional<std::int64_t> code = checker.Integer(list[i], at)) {
        if (*code < 100 || *code > 599) {
          checker.Fail(at, "expected an HTTP status from 100 to 599");
          continue;
        }
        set.ranges_.emplace_back(*code, *code);
      } else {
        continue;  // checker.Integer reported the problem
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

std::optional<std::string> ReadMethod(const json& value, Checker& checker) {
  const std::string pointer = "/method";
  if (checker.Deferred(value)) return std::nullopt;
  std::optional<std::string> text = checker.Text(value, pointer);
  if (!text) return std::nullopt;
  std::transform(text->begin(), text->end(), text->begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (std::find(kMethods.begin(), kMethods.end(), *text) == kMethods.end()) {
    checker.Fail(pointer, fmt::format("expected {}", common::OneOf(kMethods)));
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
void ReadBody(const json& value, Checker& checker, HttpAction& action) {
  if (value.is_object() || value.is_array()) {
    action.body = value.dump();
  } else if (std::optional<std::string> text = checker.Text(value, "/body")) {
    action.body = std::move(*text);
  } else {
    return;
  }
  if (HasHeader(action.headers, "content-type")) return;
  const bool is_json = json::accept(action.body);
  action.headers.emplace_back("Content-Type", is_json ? "application/json" : "text/plain; charset=utf-8");
}

std::optional<WaitUntil> ReadWaitUntil(const json& value, Checker& checker,
                                       const StatusSet& expect) {
  const std::string pointer = "/wait_until";
  if (!checker.Mapping(value, pointer, {"status", "body_contains", "json", "interval"})) {
    return std::nullopt;
  }
  WaitUntil wait;
  wait.status = expect;
  if (auto it = value.find("status"); it != value.end()) {
    if (std::optional<StatusSet> set = StatusSet::Read(*it, Child(pointer, "status"), checker)) {
      wait.status = std::move(*set);
    }
  }
  if (auto it = value.find("body_contains"); it != value.end()) {
    wait.body_contains = checker.NonEmptyText(*it, Child(pointer, "body_contains"));
  }
  if (auto it = value.find("json"); it != value.end()) {
    const std::string at = Child(pointer, "json");
    if (checker.Mapping(*it, at, {"path", "equals"})) {
      const auto path = it->find("path");
      const auto equals = it->find("equals");
      if (path == it->end() || equals == it->end()) {
        checker.Fail(at, "expected 'path' (a JSON pointer such as /status) and 'equals'");
      } else if (std::optional<std::string> text = checker.Text(*path, Child(at, "path"))) {
        if (!text->empty() && !text->starts_with('/')) {
          checker.Fail(Child(at, "path"), "expected a JSON pointer such as /status or /checks/0/ok");
        } else {
          // A pointer that starts with '/' can still be malformed ("/a~2"): the parse error is
          // a problem, and the only exception nlohmann raises here.
          try {
            wait.json_path = json::json_pointer(*text);
            wait.json_equals = *equals;
          } catch (const json::exception&) {
            checker.Fail(Child(at, "path"),
                         "not a valid JSON pointer ('~' must be followed by 0 or 1)");
          }
        }
      }
    }
  }
  if (auto it = value.find("interval"); it != value.end()) {
    wait.interval = checker.Duration(*it, Child(pointer, "interval")).value_or(kDefaultInterval);
  }
  return wait;
}

// Reads an http action and its target into `action`; every problem found.
std::vector<ParamError> ReadAction(std::string_view name, const json& target, const json& params,
                                   common::References references, HttpAction& action) {
  if (HttpVocabulary().Find(name) == nullptr) return common::NoSuchAction(HttpVocabulary(), name);
  common::InvocationChecker checkers(references);
  Checker& checker = checkers.params();
  action.target = http::ReadHttpTarget(target, checkers.target());
  if (!checker.Mapping(params, "",
                       {"method", "path", "url", "headers", "body", "expect_status", "wait_until",
                        "request_timeout"})) {
    return checkers.TakeErrors();
  }
  if (auto it = params.find("method"); it != params.end()) {
    action.method = ReadMethod(*it, checker).value_or("GET");
  }
  action.url = http::ReadUrl(params, action.target, checker).value_or("");
  net::Headers own;
  if (auto it = params.find("headers"); it != params.end()) {
    own = http::ReadHeaders(*it, "/headers", checker);
  }
  action.headers = http::MergeHeaders(action.target.headers, own);
  if (auto it = params.find("body"); it != params.end()) ReadBody(*it, checker, action);
  if (auto it = params.find("expect_status"); it != params.end()) {
    if (std::optional<StatusSet> set = StatusSet::Read(*it, "/expect_status", checker)) {
      action.expect = std::move(*set);
    }
  }
  if (auto it = params.find("wait_until"); it != params.end()) {
    if (params.contains("expect_status") && it->is_object() && it->contains("status")) {
      checker.Fail("/wait_until/status",
                   "give the awaited status here or in 'expect_status', not in both");
    }
    action.wait = ReadWaitUntil(*it, checker, action.expect);
  }
  if (auto it = params.find("request_timeout"); it != params.end()) {
    action.request_timeout = checker.Duration(*it, "/request_timeout");
  }
  if (!action.request_timeout) action.request_timeout = action.target.request_timeout;
  return checkers.TakeErrors();
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
        started_(Clock::now()),
        limit_(invocation.timeout.count() > 0 ? invocation.timeout
               : action.wait                  ? kDefaultWaitLimit
                                              : milliseconds(0)),
        stop_(invocation.cancel, limit_, common::kPlainStopWording, invocation.env) {
    request_.body = action.body;
    request_.cancel = stop_.cancel();
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
    while (stop_.Check().code() != Code::kTimeout) {
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
      const Status slept = stop_.Sleep(wait.interval);
      if (slept.code() == Code::kCancelled) {
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
    if (stop_.Check().code() == Code::kTimeout) {
      return Status::Timeout(fmt::format("{}: the step's timeout of {} has passed", what(),
                                         FormatDuration(limit_)));
    }
    request_.timeout = http::RequestTimeout(stop_, action_.request_timeout);
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
  milliseconds limit_;  // the step's timeout, or kDefaultWaitLimit for a wait; 0: none
  common::StopCondition stop_;
  int polls_ = 0;
};

class HttpAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return HttpVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return common::CheckRead<HttpAction>(ReadAction, action, target, params);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunRead<HttpAction>(invocation, ReadAction, [&](const HttpAction& action) {
      Exchange exchange(action, invocation);
      return action.wait ? exchange.Wait(*action.wait) : exchange.Once();
    });
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return HttpPreflight(request);
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeHttpAdapter() { return std::make_unique<HttpAdapter>(); }

}  // namespace backout::adapters
