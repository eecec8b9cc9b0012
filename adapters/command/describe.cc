// The command action written out for `backout plan` (adapter.h: Describe): the program and
// its arguments, where it runs and the NAMES of the environment variables it gets (their
// values may be secrets).
#include <fmt/format.h>

#include <string>

#include "adapters/command/command_adapter.h"
#include "adapters/common/describe.h"

namespace backout::adapters {

nlohmann::json DescribeCommandAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(CommandVocabulary(), request.action);
  common::AddParam(d, request, "argv");
  common::AddParam(d, request, "shell");
  // The plan's folder, then the target's cwd, then the action's (command_adapter.cc).
  std::string cwd = "the plan's folder";
  for (const nlohmann::json* config : {&request.target, &request.params}) {
    if (const auto it = config->find("cwd"); it != config->end() && it->is_string()) {
      cwd += fmt::format(", then {}", it->get<std::string>());
    }
  }
  common::AddDetail(d, "cwd", cwd);
  common::AddMappingNames(d, request, "env", "env names");
  common::AddParam(d, request, "accept_exit");
  common::AddParam(d, request, "kill_grace");
  return d;
}

}  // namespace backout::adapters
