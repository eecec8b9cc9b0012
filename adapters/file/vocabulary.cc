// The file adapter's vocabulary (docs/adapters/file.md). Its one action holds exactly one
// operation as a key: copy, restore, set_env or unset_env.
#include "adapters/file/file_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& FileVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "file",
      .actions = {
          {.name = "file",
           .params = {{"copy", kObject},
                      {"restore", kObject},
                      {"set_env", kObject},
                      {"unset_env", kObject}},
           .outputs = {{"operation", kString},
                       {"root", kString},
                       {"from", kString},
                       {"to", kString},
                       {"path", kString},
                       {"bytes", kInteger},
                       {"sha256", kString},
                       {"before_sha256", kString},
                       {"before_bytes", kInteger},
                       {"after_sha256", kString},
                       // copy and restore: whether `to` changed; set_env, unset_env: the keys
                       {"changed", kBoolean | kArray},
                       {"replaced", kBoolean},
                       {"written", kBoolean},
                       {"added", kArray},
                       {"unchanged", kArray},
                       {"absent", kArray},
                       {"mode", kString}},
           .idempotent = true},
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
