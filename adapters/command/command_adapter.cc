#include "adapters/command/command_adapter.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "adapters/common/params.h"
#include "adapters/common/run.h"
#include "adapters/common/run_log.h"
#include "adapters/common/subprocess.h"
#include "base/time.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::size_t kTailBytes = 4096;
constexpr milliseconds kDefaultKillGrace{5000};
constexpr std::size_t kMaxMessageLineBytes = 200;

// A command action and its target, checked, in the form a run needs.
struct CommandSpec {
  std::vector<std::string> argv;  // for `shell: SCRIPT`, {"/bin/sh", "-c", SCRIPT}
  std::string target_cwd;         // as written; relative to the plan's directory
  std::string cwd;                // as written; relative to the target's
  // The target's variables, then the action's: a later entry wins.
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<int> accept_exit{0};
  milliseconds kill_grace = kDefaultKillGrace;
};

using common::Checker;
using common::Child;

// A map of environment variable names to strings (the target's `env` or the action's).
void ReadEnv(Checker& checker, const json& env, const std::string& pointer, CommandSpec& spec) {
  if (checker.Deferred(env)) return;
  if (!env.is_object()) {
    checker.Fail(pointer, "expected a mapping of variable names to strings");
    return;
  }
  for (const auto& [name, value] : env.items()) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
      checker.Fail(Child(pointer, name), "not a valid environment variable name");
      continue;
    }
    if (std::optional<std::string> text = checker.Text(value, Child(pointer, name))) {
      spec.env.emplace_back(name, std::move(*text));
    }
  }
}

void ReadTarget(Checker& checker, const json& target, CommandSpec& spec) {
  if (!checker.Mapping(target, "", {"type", "cwd", "env"})) return;
  if (auto it = target.find("type");
      it != target.end() &&
      !(it->is_string() && it->get_ref<const std::string&>() == CommandVocabulary().type)) {
    checker.Fail("/type", fmt::format("expected '{}'", CommandVocabulary().type));
  }
  if (auto it = target.find("cwd"); it != target.end()) {
    spec.target_cwd = checker.Text(*it, "/cwd").value_or("");
  }
  if (auto it = target.find("env"); it != target.end()) ReadEnv(checker, *it, "/env", spec);
}

void ReadArgv(Checker& checker, const json& argv, CommandSpec& spec) {
  const std::string pointer = "/argv";
  if (checker.Deferred(argv)) return;
  if (!argv.is_array() || argv.empty()) {
    checker.Fail(pointer, "expected a non-empty list: the program, then its arguments");
    return;
  }
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (std::optional<std::string> text = checker.Text(argv[i], Child(pointer, i))) {
      spec.argv.push_back(std::move(*text));
    }
  }
  if (!spec.argv.empty() && spec.argv[0].empty()) {
    checker.Fail(Child(pointer, 0), "empty program name");
  }
}

void ReadAcceptExit(Checker& checker, const json& codes, CommandSpec& spec) {
  const std::string pointer = "/accept_exit";
  if (checker.Deferred(codes)) return;
  if (!codes.is_array() || codes.empty()) {
    checker.Fail(pointer, "expected a non-empty list of exit codes");
    return;
  }
  spec.accept_exit.clear();
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (checker.Deferred(codes[i])) continue;
    const std::optional<std::int64_t> code = common::AsInteger(codes[i]);
    if (!code || *code < 0 || *code > 255) {
      checker.Fail(Child(pointer, i), "expected an exit code from 0 to 255");
      continue;
    }
    spec.accept_exit.push_back(static_cast<int>(*code));
  }
}

// Milliseconds as an integer, or a plan duration ("300ms", "5s").
void ReadKillGrace(Checker& checker, const json& grace, CommandSpec& spec) {
  if (checker.Deferred(grace)) return;
  if (const std::optional<std::int64_t> ms = common::AsCount(grace)) {
    spec.kill_grace = milliseconds(*ms);
    return;
  }
  if (grace.is_string()) {
    Result<milliseconds> parsed = ParseDuration(grace.get_ref<const std::string&>());
    if (parsed.ok()) {
      spec.kill_grace = *parsed;
      return;
    }
  }
  checker.Fail("/kill_grace",
               "expected milliseconds (a non-negative integer) or a duration such as 5s");
}

void ReadParams(Checker& checker, const json& params, CommandSpec& spec) {
  if (!checker.Mapping(params, "", {"argv", "shell", "cwd", "env", "accept_exit", "kill_grace"})) {
    return;
  }
  const auto argv = params.find("argv");
  const auto shell = params.find("shell");
  if (argv != params.end() && shell != params.end()) {
    checker.Fail("", "give either 'argv' or 'shell', not both");
  } else if (argv != params.end()) {
    ReadArgv(checker, *argv, spec);
  } else if (shell != params.end()) {
    if (std::optional<std::string> script = checker.Text(*shell, "/shell")) {
      spec.argv = {"/bin/sh", "-c", std::move(*script)};
    }
  } else {
    checker.Fail("", "expected 'argv' (a program and its arguments) or 'shell' (a script)");
  }
  if (auto it = params.find("cwd"); it != params.end()) {
    spec.cwd = checker.Text(*it, "/cwd").value_or("");
  }
  if (auto it = params.find("env"); it != params.end()) ReadEnv(checker, *it, "/env", spec);
  if (auto it = params.find("accept_exit"); it != params.end()) ReadAcceptExit(checker, *it, spec);
  if (auto it = params.find("kill_grace"); it != params.end()) ReadKillGrace(checker, *it, spec);
}

// Reads a command action and its target into `spec`; every problem found. Before expansion
// (Validate), a string holding `${` may stand for a value of any type.
std::vector<ParamError> ReadSpec(std::string_view action, const json& target, const json& params,
                                 common::References references, CommandSpec& spec) {
  if (CommandVocabulary().Find(action) == nullptr) {
    return common::NoSuchAction(CommandVocabulary(), action);
  }
  return common::CheckInvocation(
      references, [&](Checker& checker) { ReadTarget(checker, target, spec); },
      [&](Checker& checker) { ReadParams(checker, params, spec); });
}

// The plan's directory, then the target's cwd, then the action's; an absolute one restarts.
fs::path WorkingDirectory(const fs::path& base_dir, const CommandSpec& spec) {
  fs::path dir = base_dir;
  for (const std::string& part : {spec.target_cwd, spec.cwd}) {
    if (!part.empty()) dir /= part;
  }
  return dir.lexically_normal();
}

// Our environment, overlaid with the target's variables and then the action's.
std::vector<std::string> ChildEnvironment(const CommandSpec& spec) {
  std::map<std::string, std::string, std::less<>> vars;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const std::size_t eq = text.find('=');
    if (eq != std::string_view::npos) vars.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  for (const auto& [name, value] : spec.env) vars.insert_or_assign(name, value);
  std::vector<std::string> env;
  env.reserve(vars.size());
  for (const auto& [name, value] : vars) env.push_back(name + "=" + value);
  return env;
}

// The run log holding the attempt's section (absolute: RunLog); empty when there is none.
fs::path LogPath(const Invocation& invocation) {
  return invocation.log == nullptr ? fs::path() : invocation.log->file();
}

SubprocessOptions MakeOptions(const CommandSpec& spec, const Invocation& invocation) {
  SubprocessOptions options;
  options.argv = spec.argv;
  options.cwd = WorkingDirectory(invocation.base_dir, spec);
  options.env = ChildEnvironment(spec);
  options.timeout = invocation.timeout;
  options.kill_grace = spec.kill_grace;
  options.cancel = invocation.cancel;
  options.log = invocation.log;
  options.tail_capacity = kTailBytes;
  return options;
}

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The output tail as the command wrote it. When the tail window is full it may start inside
// a character; that fragment is dropped rather than shown as bytes that are not UTF-8. Other
// such bytes stay: the engine marks them when it journals the outputs (base/utf8.h).
std::string TailText(std::string_view tail) {
  if (tail.size() >= kTailBytes) {
    for (int i = 0; i < 3 && !tail.empty() && IsUtf8Continuation(tail.front()); ++i) {
      tail.remove_prefix(1);
    }
  }
  return std::string(tail);
}

// The last non-blank line of `text`, shortened to fit in a one-line message.
std::string LastLine(std::string_view text) {
  constexpr std::string_view kBlank = " \t\r\n";
  const std::size_t end = text.find_last_not_of(kBlank);
  if (end == std::string_view::npos) return "";
  text = text.substr(0, end + 1);
  const std::size_t newline = text.rfind('\n');
  if (newline != std::string_view::npos) text.remove_prefix(newline + 1);
  if (text.size() <= kMaxMessageLineBytes) return std::string(text);
  std::size_t cut = kMaxMessageLineBytes;
  while (cut > 0 && IsUtf8Continuation(text[cut])) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

Status WithLastLine(Status status, std::string_view tail) {
  const std::string line = LastLine(tail);
  if (line.empty()) return status;
  return Status(status.code(), fmt::format("{}; last output: {}", status.message(), line));
}

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev == nullptr ? "unknown signal" : fmt::format("SIG{}", abbrev);
}

Status Verdict(const CommandSpec& spec, const SubprocessResult& run, std::string_view tail,
               milliseconds timeout) {
  switch (run.stopped) {
    case StopReason::kDeadline:
      return Status::Timeout(
          fmt::format("command timed out after {}; process group killed", FormatDuration(timeout)));
    case StopReason::kCancel:
      return Status::Cancelled("command cancelled; process group killed");
    case StopReason::kNone:
      break;
  }
  if (!run.exit_code) {
    const int signal = run.term_signal.value_or(0);
    return WithLastLine(Status::ExpectationFailed(fmt::format(
                            "command was killed by signal {} ({})", signal, SignalName(signal))),
                        tail);
  }
  const int code = *run.exit_code;
  if (std::find(spec.accept_exit.begin(), spec.accept_exit.end(), code) != spec.accept_exit.end()) {
    return Status::Ok();
  }
  return WithLastLine(
      Status::ExpectationFailed(fmt::format("command exited with code {} (accepted: {})", code,
                                            fmt::join(spec.accept_exit, ", "))),
      tail);
}

json Outputs(const SubprocessResult& run, std::string tail, const fs::path& log) {
  json outputs = json::object();
  outputs["exit_code"] = run.exit_code ? json(*run.exit_code) : json(nullptr);
  if (run.term_signal) outputs["signal"] = *run.term_signal;
  outputs["output_tail"] = std::move(tail);
  outputs["log"] = log.empty() ? json(nullptr) : json(log.string());
  outputs["duration_ms"] = run.duration.count();
  if (!run.log_status.ok()) outputs["log_error"] = run.log_status.message();
  return outputs;
}

class CommandAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return CommandVocabulary(); }
  nlohmann::json Describe(const DescribeRequest& r) const override { return DescribeCommandAction(r); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return common::CheckRead<CommandSpec>(ReadSpec, action, target, params);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunRead<CommandSpec>(
        invocation, ReadSpec, [&](const CommandSpec& spec) { return RunSpec(spec, invocation); });
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return CommandPreflight(request);
  }

 private:
  static Outcome RunSpec(const CommandSpec& spec, const Invocation& invocation) {
    const SubprocessOptions options = MakeOptions(spec, invocation);
    Result<SubprocessResult> run = RunSubprocess(options);
    if (!run.ok()) return {run.status()};
    std::string tail = TailText(run->output_tail);
    Outcome outcome;
    outcome.status = Verdict(spec, *run, tail, invocation.timeout);
    outcome.outputs = Outputs(*run, std::move(tail), LogPath(invocation));
    return outcome;
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeCommandAdapter() { return std::make_unique<CommandAdapter>(); }

}  // namespace backout::adapters
