#include "adapters/postgres/client_programs.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <system_error>

#include "adapters/common/subprocess.h"

extern char** environ;

namespace backout::adapters::postgres {
namespace {

namespace fs = std::filesystem;

// The last few lines of a program's output, cleaned up for one message.
std::string Tail(const std::string& output) {
  std::string_view text = output;
  std::size_t lines = 0;
  std::size_t start = text.size();
  while (start > 0 && lines < 4) {
    start = text.rfind('\n', start - 1);
    if (start == std::string_view::npos) {
      start = 0;
      break;
    }
    ++lines;
  }
  return CleanLibpqMessage(text.substr(start));
}

}  // namespace

Result<fs::path> FindClientProgram(std::string_view name) {
  fs::path best;
  int best_major = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const int major = std::atoi(entry.path().filename().c_str());
    const fs::path candidate = entry.path() / "bin" / name;
    if (major > best_major && ::access(candidate.c_str(), X_OK) == 0) {
      best_major = major;
      best = candidate;
    }
  }
  if (!best.empty()) return best;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const std::size_t colon = dirs.find(':');
    const fs::path candidate = fs::path(dirs.substr(0, colon)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return Status::NotFound(fmt::format(
      "{} not found in /usr/lib/postgresql/*/bin or on PATH (install postgresql-client)", name));
}

Result<std::string> RunClientProgram(const ClientCall& call) {
  Result<fs::path> program = FindClientProgram(call.program);
  if (!program.ok()) return program.status();
  const std::string password = call.connection.Get("password");
  const ConnInfo shown = call.connection.Without("password").With("application_name",
                                                                  call.application_name);
  SubprocessOptions options;
  options.argv = {program->string()};
  options.argv.insert(options.argv.end(), call.args.begin(), call.args.end());
  options.argv.push_back("--dbname=" + shown.ToString());
  std::string pgoptions;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry = *e;
    if (entry.starts_with("PGOPTIONS=")) {
      pgoptions = entry.substr(10);
      continue;
    }
    if (!password.empty() && entry.starts_with("PGPASSWORD=")) continue;
    options.env.emplace_back(entry);
  }
  if (!password.empty()) options.env.push_back("PGPASSWORD=" + password);
  if (call.lock_timeout.has_value()) {
    pgoptions += fmt::format(" -c lock_timeout={}", call.lock_timeout->count());
  }
  if (!pgoptions.empty()) options.env.push_back("PGOPTIONS=" + pgoptions);
  options.timeout = call.timeout;
  options.cancel = call.cancel;
  options.tail_capacity = call.output_capacity;
  Result<SubprocessResult> ran = RunSubprocess(options);
  if (!ran.ok()) return ran.status().WithContext(call.program);
  const std::string output = Scrub(ran->output_tail, password);
  switch (ran->stopped) {
    case StopReason::kCancel:
      return Status::Cancelled(fmt::format("{}: stopped by signal", call.program));
    case StopReason::kDeadline:
      return Status::Timeout(fmt::format("{}: the step's timeout passed", call.program));
    case StopReason::kNone:
      break;
  }
  if (ran->exit_code == 0) return output;
  const std::string how = ran->exit_code.has_value()
                              ? fmt::format("exit {}", *ran->exit_code)
                              : fmt::format("signal {}", ran->term_signal.value_or(0));
  return Status::IOError(fmt::format("{} failed ({}): {}", call.program, how, Tail(output)));
}

}  // namespace backout::adapters::postgres
