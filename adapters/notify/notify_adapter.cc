#include "adapters/notify/notify_adapter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "adapters/common/params.h"
#include "adapters/common/run.h"
#include "adapters/common/stop.h"
#include "adapters/http/http_target.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using common::Checker;
using common::Child;
using nlohmann::json;

constexpr std::size_t kMessageExcerptBytes = 200;
// The facts a message may name: what the engine puts in Invocation::run_facts.
constexpr std::array<std::string_view, 12> kFacts = {
    "run_id",   "plan",    "incident",   "step",        "step_title",   "status",
    "operator", "elapsed", "steps_done", "steps_total", "failed_steps", "rehearsal"};

// One fact as text: lists joined with ", " ("none" when empty), strings as they are.
std::string FactText(const json& fact) {
  if (fact.is_string()) return fact.get<std::string>();
  if (!fact.is_array()) return fact.dump();
  if (fact.empty()) return "none";
  std::vector<std::string> items;
  for (const json& item : fact) items.push_back(FactText(item));
  return fmt::format("{}", fmt::join(items, ", "));
}

bool IsFactName(std::string_view name) {
  return std::find(kFacts.begin(), kFacts.end(), name) != kFacts.end();
}

// Renders `text`: "{name}" becomes the fact of that name, "{{" and "}}" are single braces.
// Returns the problems a plan author must fix: an unknown name, a '{' that starts no
// placeholder. At run time they are ignored and such text is kept as it is: the message then
// holds expanded `${VAR}` values, whose braces are nobody's placeholders. Before expansion
// (`unresolved`), `${...}` references are kept whole.
std::string Render(std::string_view text, const json& facts, bool unresolved,
                   std::vector<std::string>* problems) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool doubled = i + 1 < text.size() && text[i + 1] == c;
    if ((c == '{' || c == '}') && doubled) {
      out += c;
      ++i;
      continue;
    }
    if (unresolved && c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const std::size_t close = text.find('}', i);
      const std::size_t end = close == std::string_view::npos ? text.size() : close + 1;
      out.append(text.substr(i, end - i));
      i = end - 1;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const std::size_t close = text.find('}', i);
    const std::string_view name =
        close == std::string_view::npos ? std::string_view() : text.substr(i + 1, close - i - 1);
    const bool well_formed = !name.empty() && std::all_of(name.begin(), name.end(), [](char n) {
      return (n >= 'a' && n <= 'z') || n == '_';
    });
    if (!well_formed) {
      if (problems != nullptr) {
        problems->push_back(fmt::format("'{{' at byte {} starts no placeholder such as {{plan}}; "
                                        "write {{{{ for a literal brace", i));
      }
      out += c;
      continue;
    }
    if (!IsFactName(name) && problems != nullptr) {
      problems->push_back(fmt::format("unknown placeholder {{{}}} (known: {})", name,
                                      fmt::join(kFacts, ", ")));
    }
    const auto fact = facts.is_object() ? facts.find(name) : facts.end();
    if (IsFactName(name) && facts.is_object() && fact != facts.end()) {
      out += FactText(*fact);
    } else {
      out.append(text.substr(i, close - i + 1));
    }
    i = close;
  }
  return out;
}

// Where a notification goes.
struct Notification {
  enum class To { kStdout, kFile, kUrl, kTarget };
  To to = To::kStdout;
  std::string message;  // as the plan wrote it (expanded); rendered with the facts in Run()
  std::string file;     // kFile: as written, relative to the plan's directory
  std::string url;      // kUrl, kTarget
  http::HttpTarget target;
  bool required = false;
};

void ReadTo(const json& value, Checker& checker, Notification& n) {
  const std::string pointer = "/to";
  if (value.is_string() && !checker.Deferred(value)) {
    if (value != "stdout") checker.Fail(pointer, "expected stdout, {file: PATH} or {url: URL}");
    return;
  }
  if (!value.is_object() || value.size() != 1) {
    checker.Fail(pointer, "expected stdout, {file: PATH} or {url: URL}");
    return;
  }
  if (!checker.Mapping(value, pointer, {"file", "url"})) return;
  if (auto it = value.find("file"); it != value.end()) {
    n.to = Notification::To::kFile;
    n.file = checker.NonEmptyText(*it, Child(pointer, "file")).value_or("");
  } else if (auto url = value.find("url"); url != value.end()) {
    n.to = Notification::To::kUrl;
    n.url = checker.Url(*url, Child(pointer, "url")).value_or("");
  }
}

// Reads a notify action (and its http target, when it names one) into `n`; every problem
// found.
std::vector<ParamError> ReadNotification(std::string_view action, const json& target,
                                         const json& params, common::References references,
                                         Notification& n) {
  if (NotifyVocabulary().Find(action) == nullptr) {
    return common::NoSuchAction(NotifyVocabulary(), action);
  }
  common::InvocationChecker checkers(references);
  Checker& checker = checkers.params();
  const bool unresolved = checker.Unresolved();
  if (!checker.Mapping(params, "", {"message", "to", "path", "required"})) {
    return checkers.TakeErrors();
  }
  if (params.contains("target")) {
    // A webhook on an http target: its base URL, headers and TLS settings.
    n.to = Notification::To::kTarget;
    n.target = http::ReadHttpTarget(target, checkers.target());
    n.url = http::ReadUrl(params, n.target, checker).value_or("");
    if (params.contains("to")) {
      checker.Fail("/to", "a notification on a target goes to its webhook ('path'); "
                          "leave out 'to', or the target");
    }
  } else {
    if (params.contains("path")) {
      checker.Fail("/path", "'path' needs a target (an http target with a base_url)");
    }
    if (auto it = params.find("to"); it != params.end()) ReadTo(*it, checker, n);
  }
  if (auto it = params.find("required"); it != params.end()) {
    n.required = checker.Flag(*it, "/required").value_or(false);
  }
  const auto message = params.find("message");
  if (message == params.end()) {
    checker.Fail("", "expected 'message' (the text to send; {plan}, {status}... are "
                     "replaced by the run's facts)");
  } else if (std::optional<std::string> text = checker.NonEmptyText(*message, "/message")) {
    std::vector<std::string> problems;
    Render(*text, json::object(), unresolved, &problems);
    n.message = std::move(*text);  // Run() renders it with the run's facts
    // At run time a brace may come from an expanded value: only the plan's text is judged.
    if (unresolved) {
      for (std::string& problem : problems) checker.Fail("/message", std::move(problem));
    }
  }
  return checkers.TakeErrors();
}

// The message on one line: each run of line breaks becomes one space.
std::string OneLine(std::string_view text) {
  std::string out;
  bool in_break = false;
  for (const char c : text) {
    const bool line_break = c == '\n' || c == '\r';
    if (!line_break) {
      out += c;
    } else if (!in_break) {
      out += ' ';
    }
    in_break = line_break;
  }
  return out;
}

Status ToStdout(const std::string& line) {
  // std::cout, not the descriptor: the CLI's own lines go through it too, so they stay in order.
  std::cout << line << '\n' << std::flush;
  if (!std::cout) {
    std::cout.clear();
    return Status::IOError("cannot write the notification to stdout");
  }
  return Status::Ok();
}

Status AppendToFile(const fs::path& path, const std::string& line) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  // Appended in place (a log shared by runs), so no temp-and-rename: O_NOFOLLOW is what keeps
  // a symlink planted at the name from aiming the write at another file.
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  // One write, so that notifications from two runs never interleave inside a line.
  const std::string text = line + "\n";
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int write_errno = errno;
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size())) {
    return Status::IOError(fmt::format("cannot append to {}: {}", path.string(),
                                       written < 0 ? std::strerror(write_errno) : "short write"));
  }
  if (!synced) return Status::IOError(fmt::format("cannot sync {}", path.string()));
  return Status::Ok();
}

class NotifyAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return NotifyVocabulary(); }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return NotifyPreflight(request);
  }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return common::CheckRead<Notification>(ReadNotification, action, target, params);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunRead<Notification>(
        invocation, ReadNotification, [&](const Notification& read) -> Outcome {
          Notification n = read;
          n.message = Render(read.message, invocation.run_facts, /*unresolved=*/false, nullptr);
          json outputs = {{"message", n.message}};
          Status status = Deliver(n, invocation, outputs);
          outputs["delivered"] = status.ok();
          if (status.ok() || status.code() == Code::kCancelled) {
            return {status, std::move(outputs)};
          }
          outputs["error"] = status.message();
          // A notification that did not go out must not stop a rollback, unless the plan
          // says so.
          return {n.required ? status : Status::Ok(), std::move(outputs)};
        });
  }

 private:
  // Sends the notification; fills outputs["to"] (and "status" for a webhook).
  static Status Deliver(const Notification& n, const Invocation& invocation, json& outputs) {
    switch (n.to) {
      case Notification::To::kStdout:
        outputs["to"] = "stdout";
        return ToStdout(OneLine(n.message));
      case Notification::To::kFile:
        outputs["to"] = "file " + n.file;
        return AppendToFile(invocation.base_dir / n.file, OneLine(n.message));
      case Notification::To::kUrl: {
        // The whole URL may be the secret (a Slack webhook's path is its key): only its origin
        // is ever shown.
        net::HttpRequest request =
            http::MakeRequest(http::HttpTarget{}, "POST", n.url,
                              {{"Content-Type", "application/json"}}, invocation.base_dir);
        request.url_for_messages = net::OriginOf(n.url) + "/...";
        outputs["to"] = "url " + request.url_for_messages;
        return Post(std::move(request), http::HttpTarget{}, n.message, invocation, outputs);
      }
      case Notification::To::kTarget: {
        const net::Headers headers =
            http::MergeHeaders(n.target.headers, {{"Content-Type", "application/json"}});
        net::HttpRequest request =
            http::MakeRequest(n.target, "POST", n.url, headers, invocation.base_dir);
        outputs["to"] = fmt::format("target {} ({})", invocation.params.value("target", ""),
                                    net::UrlForMessages(n.url));
        return Post(std::move(request), n.target, n.message, invocation, outputs);
      }
    }
    return Status::Ok();
  }

  // POSTs {"text": message}; any 2xx counts as delivered.
  static Status Post(net::HttpRequest request, const http::HttpTarget& target,
                     const std::string& message, const Invocation& invocation, json& outputs) {
    const http::Scrubber scrub(target, request.headers);
    request.body = json{{"text", message}}.dump();
    const common::StopCondition stop(invocation.cancel, invocation.timeout,
                                     common::kPlainStopWording, invocation.env);
    request.cancel = stop.cancel();
    request.timeout = http::RequestTimeout(stop, target.request_timeout);
    const std::string what =
        "POST " + (request.url_for_messages.empty() ? net::UrlForMessages(request.url)
                                                    : request.url_for_messages);
    if (invocation.progress) invocation.progress(scrub("notifying " + what));
    Result<net::HttpResponse> response = net::Send(request);
    if (!response.ok()) return scrub(response.status());
    outputs["status"] = response->status;
    if (response->status >= 200 && response->status < 300) return Status::Ok();
    const std::string body =
        response->body.empty() ? "" : ": " + http::OneLineExcerpt(response->body, kMessageExcerptBytes);
    return scrub(Status::ExpectationFailed(
        fmt::format("{} answered {} (expected 2xx){}", what, response->status, body)));
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeNotifyAdapter() { return std::make_unique<NotifyAdapter>(); }

}  // namespace backout::adapters
