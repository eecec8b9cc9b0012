// The command adapter's vocabulary (docs/adapters/command.md describes its one action).
#include "adapters/command/command_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& CommandVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "command",
      .actions = {
          {.name = "command",
           .params = {{"argv", kArray},
                      {"shell", kString},
                      {"cwd", kString},
                      {"env", kObject},
                      {"accept_exit", kInteger | kArray},
                      {"kill_grace", kInteger | kString}},
           .outputs = {{"exit_code", kInteger | kNull},
                       {"signal", kInteger},
                       {"output_tail", kString},
                       {"log", kString | kNull},
                       {"duration_ms", kInteger},
                       {"log_error", kString}}},
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
