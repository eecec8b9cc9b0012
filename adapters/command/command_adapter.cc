#include "adapters/command/command_adapter.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <optional>
#include <utility>

#include "adapters/command/subprocess.h"
#include "base/time.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Pointer = json::json_pointer;
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

// An integer written as a JSON number or as a string of digits (a plan parser may keep
// scalars as text).
std::optional<std::int64_t> IntegerOf(const json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  std::int64_t n = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return n;
}

// Reads a command target's config and a command action's params into a CommandSpec,
// collecting every problem as a ParamError. Before expansion (Validate), a string holding
// `${` may stand for a value of any type, known only when the step runs.
class SpecReader {
 public:
  explicit SpecReader(bool unexpanded) : unexpanded_(unexpanded) {}

  CommandSpec Read(const json& target, const json& params) {
    CommandSpec spec;
    ReadTarget(target, spec);
    ReadParams(params, spec);
    return spec;
  }

  std::vector<ParamError> TakeErrors() { return std::move(errors_); }

 private:
  // Where a value sits: a pointer into the target's config or into the action's params.
  struct Place {
    Pointer pointer;
    bool in_target = false;

    Place operator/(const std::string& key) const { return {pointer / key, in_target}; }
    Place operator/(std::size_t index) const { return {pointer / index, in_target}; }
  };

  void Problem(const Place& place, std::string message) {
    errors_.push_back({place.pointer.to_string(), std::move(message), place.in_target});
  }

  bool IsReference(const json& value) const {
    return unexpanded_ && value.is_string() &&
           value.get_ref<const std::string&>().find("${") != std::string::npos;
  }

  bool CheckObject(const json& object, const Place& place,
                   std::initializer_list<std::string_view> known) {
    if (!object.is_object()) {
      Problem(place, "expected a mapping");
      return false;
    }
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        Problem(place / key,
                fmt::format("unknown key '{}' (expected one of: {})", key, fmt::join(known, ", ")));
      }
    }
    return true;
  }

  // A string. Numbers are refused rather than turned into text: YAML would already have
  // changed their spelling (`010` is 10, `1e3` is 1000.0).
  std::optional<std::string> ReadText(const json& value, const Place& place) {
    if (!value.is_string()) {
      Problem(place,
              value.is_number() ? "expected a string (quote the number)" : "expected a string");
      return std::nullopt;
    }
    std::string text = value.get<std::string>();
    if (text.find('\0') != std::string::npos) {
      Problem(place, "must not contain a NUL character");
      return std::nullopt;
    }
    return text;
  }

  void ReadEnv(const json& env, const Place& place, CommandSpec& spec) {
    if (IsReference(env)) return;
    if (!env.is_object()) {
      Problem(place, "expected a mapping of variable names to strings");
      return;
    }
    for (const auto& [name, value] : env.items()) {
      if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos) {
        Problem(place / name, "not a valid environment variable name");
        continue;
      }
      if (std::optional<std::string> text = ReadText(value, place / name)) {
        spec.env.emplace_back(name, std::move(*text));
      }
    }
  }

  void ReadTarget(const json& target, CommandSpec& spec) {
    const Place root{Pointer(), true};
    if (!CheckObject(target, root, {"type", "cwd", "env"})) return;
    if (auto it = target.find("type");
        it != target.end() &&
        !(it->is_string() && it->get_ref<const std::string&>() == CommandVocabulary().type)) {
      Problem(root / "type", "expected 'command'");
    }
    if (auto it = target.find("cwd"); it != target.end()) {
      spec.target_cwd = ReadText(*it, root / "cwd").value_or("");
    }
    if (auto it = target.find("env"); it != target.end()) ReadEnv(*it, root / "env", spec);
  }

  void ReadArgv(const json& argv, const Place& place, CommandSpec& spec) {
    if (IsReference(argv)) return;
    if (!argv.is_array() || argv.empty()) {
      Problem(place, "expected a non-empty list: the program, then its arguments");
      return;
    }
    for (std::size_t i = 0; i < argv.size(); ++i) {
      if (std::optional<std::string> text = ReadText(argv[i], place / i)) {
        spec.argv.push_back(std::move(*text));
      }
    }
    if (!spec.argv.empty() && spec.argv[0].empty()) Problem(place / 0, "empty program name");
  }

  void ReadShell(const json& script, const Place& place, CommandSpec& spec) {
    if (std::optional<std::string> text = ReadText(script, place)) {
      spec.argv = {"/bin/sh", "-c", std::move(*text)};
    }
  }

  void ReadAcceptExit(const json& codes, const Place& place, CommandSpec& spec) {
    if (IsReference(codes)) return;
    if (!codes.is_array() || codes.empty()) {
      Problem(place, "expected a non-empty list of exit codes");
      return;
    }
    spec.accept_exit.clear();
    for (std::size_t i = 0; i < codes.size(); ++i) {
      if (IsReference(codes[i])) continue;
      const std::optional<std::int64_t> code = IntegerOf(codes[i]);
      if (!code || *code < 0 || *code > 255) {
        Problem(place / i, "expected an exit code from 0 to 255");
        continue;
      }
      spec.accept_exit.push_back(static_cast<int>(*code));
    }
  }

  // Milliseconds as an integer, or a plan duration ("300ms", "5s").
  void ReadKillGrace(const json& grace, const Place& place, CommandSpec& spec) {
    if (IsReference(grace)) return;
    if (const std::optional<std::int64_t> ms = IntegerOf(grace); ms && *ms >= 0) {
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
    Problem(place, "expected milliseconds (a non-negative integer) or a duration such as 5s");
  }

  void ReadParams(const json& params, CommandSpec& spec) {
    const Place root{Pointer(), false};
    // `target` and `timeout` belong to the engine.
    if (!CheckObject(
            params, root,
            {"target", "timeout", "argv", "shell", "cwd", "env", "accept_exit", "kill_grace"})) {
      return;
    }
    const auto argv = params.find("argv");
    const auto shell = params.find("shell");
    if (argv != params.end() && shell != params.end()) {
      Problem(root, "give either 'argv' or 'shell', not both");
    } else if (argv != params.end()) {
      ReadArgv(*argv, root / "argv", spec);
    } else if (shell != params.end()) {
      ReadShell(*shell, root / "shell", spec);
    } else {
      Problem(root, "expected 'argv' (a program and its arguments) or 'shell' (a script)");
    }
    if (auto it = params.find("cwd"); it != params.end()) {
      spec.cwd = ReadText(*it, root / "cwd").value_or("");
    }
    if (auto it = params.find("env"); it != params.end()) ReadEnv(*it, root / "env", spec);
    if (auto it = params.find("accept_exit"); it != params.end()) {
      ReadAcceptExit(*it, root / "accept_exit", spec);
    }
    if (auto it = params.find("kill_grace"); it != params.end()) {
      ReadKillGrace(*it, root / "kill_grace", spec);
    }
  }

  bool unexpanded_;
  std::vector<ParamError> errors_;
};

std::string UnsupportedAction(std::string_view action) {
  return fmt::format("command targets support only the 'command' action, not '{}'", action);
}

// "target config /env/X: expected a string", or "/argv/1: ..." for the action's params.
std::string Describe(const ParamError& error) {
  const std::string where = (error.in_target ? "target config " : "") + error.pointer;
  return where.empty() ? error.message : fmt::format("{}: {}", where, error.message);
}

Status InvalidParams(const std::vector<ParamError>& errors) {
  std::vector<std::string> problems;
  for (const ParamError& error : errors) problems.push_back(Describe(error));
  return Status::InvalidArgument(
      fmt::format("invalid command action: {}", fmt::join(problems, "; ")));
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

// `<log_dir>/<step_id>.<attempt>.log`, absolute; empty when there is no log directory.
fs::path LogPath(const Invocation& invocation) {
  if (invocation.log_dir.empty()) return {};
  const fs::path path =
      invocation.log_dir / fmt::format("{}.{}.log", invocation.step_id, invocation.attempt);
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return ec ? path : absolute;
}

SubprocessOptions MakeOptions(const CommandSpec& spec, const Invocation& invocation) {
  SubprocessOptions options;
  options.argv = spec.argv;
  options.cwd = WorkingDirectory(invocation.base_dir, spec);
  options.env = ChildEnvironment(spec);
  options.timeout = invocation.timeout;
  options.kill_grace = spec.kill_grace;
  options.cancel = invocation.cancel;
  options.log_path = LogPath(invocation);
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

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    if (action != vocabulary().actions.front().name) {
      return {ParamError{"", UnsupportedAction(action), false}};
    }
    SpecReader reader(/*unexpanded=*/true);
    reader.Read(target, params);
    return reader.TakeErrors();
  }

  Outcome Run(const Invocation& invocation) override {
    if (invocation.action != vocabulary().actions.front().name) {
      return {Status::InvalidArgument(UnsupportedAction(invocation.action))};
    }
    SpecReader reader(/*unexpanded=*/false);
    CommandSpec spec = reader.Read(invocation.target, invocation.params);
    if (std::vector<ParamError> errors = reader.TakeErrors(); !errors.empty()) {
      return {InvalidParams(errors)};
    }
    const SubprocessOptions options = MakeOptions(spec, invocation);
    Result<SubprocessResult> run = RunSubprocess(options);
    if (!run.ok()) return {run.status()};
    std::string tail = TailText(run->output_tail);
    Outcome outcome;
    outcome.status = Verdict(spec, *run, tail, invocation.timeout);
    outcome.outputs = Outputs(*run, std::move(tail), options.log_path);
    return outcome;
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeCommandAdapter() { return std::make_unique<CommandAdapter>(); }

}  // namespace backout::adapters
