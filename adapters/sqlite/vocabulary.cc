// The SQLite adapter's vocabulary (docs/adapters/sqlite.md describes each action).
#include "adapters/sqlite/sqlite_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& SqliteVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "sqlite",
      .actions = {
          {.name = "sql",
           .params = {{"script", kString}, {"file", kString}},
           .outputs = {{"changes", kInteger}}},
          {.name = "backup",
           .params = {{.name = "to", .type = kString, .required = true, .written_in_rehearsal_scratch = true}},
           .outputs = {{"path", kString}, {"bytes", kInteger}, {"sha256", kString},
                       {"source", kString}},
           .idempotent = true},
          {.name = "restore",
           .params = {{"from", kString, true}, {"sha256", kString}},
           .outputs = {{"from", kString}, {"bytes", kInteger}, {"sha256", kString}}},
          {.name = "baseline",
           .params = {{"tables", kArray, true}, {"checksum", kBoolean | kArray}},
           .outputs = {{"tables", kObject}, {"column_order", kString}},
           .read_only = true,
           .idempotent = true},
          VerifyAction(),
          SqlQueryAction(),
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
