// The notify adapter's vocabulary (docs/adapters/notify.md). A notification names no target
// (it goes to stdout or a file) or an http target, whose webhook it posts to: plans declare
// no targets of type notify.
#include "adapters/notify/notify_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& NotifyVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "notify",
      .actions = {
          {.name = "notify",
           .params = {{"message", kString, true},
                      {.name = "to", .type = kString | kObject, .written_in_rehearsal_scratch = true},
                      {"path", kString},
                      {"required", kBoolean}},
           .outputs = {{"message", kString},
                       {"to", kString},
                       {"status", kInteger},
                       {"delivered", kBoolean},
                       {"error", kString}},
           .needs_target = false},
      },
      .has_own_targets = false,
      .serves_targets_of = {"http"}};
  return kVocabulary;
}

}  // namespace backout::adapters
