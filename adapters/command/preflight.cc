// Command preflight (Adapter::Preflight): the working directory exists, and the program is
// found as the step would start it (execvp: a name with a '/' relative to that directory,
// else looked up in the PATH the command gets). Nothing is started.
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "adapters/command/command_adapter.h"
#include "adapters/common/files.h"
#include "adapters/common/preflight.h"
#include "adapters/common/program.h"

namespace backout::adapters {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The PATH the command is started with: the action's `env`, else the target's, else ours.
std::string SearchPath(const PreflightRequest& request) {
  for (const json* config : {&request.params, &request.target}) {
    const auto env = config->find("env");
    if (env == config->end() || !env->is_object()) continue;
    if (const std::optional<std::string> path = common::KnownString(*env, "PATH")) return *path;
  }
  return request.env->GetVar("PATH").value_or(std::string(common::kDefaultSearchPath));
}

PreflightFinding CheckProgram(const std::string& program, const fs::path& cwd,
                              const PreflightRequest& request) {
  PreflightFinding finding{.check = fmt::format("program {}", program), .status = {}};
  if (program.find('/') != std::string::npos) {
    if (!common::IsExecutableFile(common::ResolvePath(cwd, program))) {
      finding.status = Status::NotFound(fmt::format(
          "program {} is not an executable file (relative to {})", program, cwd.string()));
    } else {
      finding.check += " (executable)";
    }
    return finding;
  }
  const std::string search = SearchPath(request);
  Result<fs::path> found = common::SearchProgram(program, program, search, cwd);
  if (found.ok()) {
    finding.check += fmt::format(" (found in {})", found->parent_path().string());
    return finding;
  }
  finding.status = Status::NotFound(
      fmt::format("program {} is not found in the PATH ({})", program, search));
  return finding;
}

}  // namespace

std::vector<PreflightFinding> CommandPreflight(const PreflightRequest& request) {
  // The plan's directory, then the target's cwd, then the action's, as the step runs it.
  fs::path cwd = request.base_dir;
  std::string cwd_as_written = ".";
  for (const json* config : {&request.target, &request.params}) {
    if (!config->contains("cwd")) continue;
    const std::optional<std::string> part = common::KnownString(*config, "cwd");
    if (!part) return {};  // known only at run time
    cwd /= *part;
    cwd_as_written = *part;
  }
  cwd = cwd.lexically_normal();
  PreflightFinding directory{.check = fmt::format("working directory {}", cwd_as_written),
                             .status = {}};
  std::error_code error;
  if (!fs::is_directory(cwd, error)) {
    directory.status = Status::NotFound(fmt::format(
        "working directory {} does not exist or is not a directory ({})", cwd_as_written,
        cwd.string()));
    return {directory};
  }
  std::vector<PreflightFinding> findings{directory};
  const auto argv = request.params.find("argv");
  if (argv != request.params.end() && argv->is_array() && !argv->empty() &&
      (*argv)[0].is_string()) {
    const std::string& program = (*argv)[0].get_ref<const std::string&>();
    if (!common::KnownOnlyAtRunTime(program)) findings.push_back(CheckProgram(program, cwd, request));
  }
  return findings;
}

}  // namespace backout::adapters
