// The json_store adapter's vocabulary (docs/adapters/file.md, "json_store").
#include "adapters/json_store/json_store_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& JsonStoreVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "json_store",
      .actions = {
          {.name = "backup",
           .params = {{.name = "to", .type = kString, .required = true, .written_in_rehearsal_scratch = true}},
           .outputs = {{"path", kString},
                       {"bytes", kInteger},
                       {"sha256", kString},
                       {"files", kInteger},
                       {"source", kString},
                       {"collections", kObject}},
           .idempotent = true},
          {.name = "restore",
           .params = {{"from", kString, true}, {"sha256", kString}},
           .outputs = {{"from", kString},
                       {"path", kString},
                       {"bytes", kInteger},
                       {"sha256", kString},
                       {"files", kInteger},
                       {"before_sha256", kString},
                       {"replaced", kBoolean},
                       {"collections", kObject}}},
          {.name = "baseline",
           .params = {{"collections", kArray}, {"checksum", kBoolean | kArray}},
           .outputs = {{"collections", kObject}},
           .read_only = true,
           .idempotent = true},
          VerifyAction(),
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
