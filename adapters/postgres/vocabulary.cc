// The PostgreSQL adapter's vocabulary (docs/adapters/postgres.md describes each action).
#include "adapters/postgres/postgres_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& PostgresVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "postgres",
      .actions = {
          {.name = "sql",
           .params = {{"script", kString},
                      {"file", kString},
                      {"transaction", kBoolean},
                      {"lock_timeout", kString | kInteger}},
           .outputs = {{"transaction", kBoolean},
                       {"last_command", kString},
                       {"statements", kInteger},
                       {"notices", kArray}}},
          {.name = "backup",
           .params = {{.name = "to", .type = kString, .required = true, .written_in_rehearsal_scratch = true},
                      {"full", kBoolean},
                      {"schema_only", kBoolean},
                      {"tables", kArray}},
           .outputs = {{"path", kString},
                       {"bytes", kInteger},
                       {"sha256", kString},
                       {"format", kString},
                       {"tables", kObject}},
           .idempotent = true},
          {.name = "restore",
           .params = {{"from", kString, true},
                      {"full", kBoolean},
                      {"tables", kArray},
                      {"sha256", kString},
                      {"cascade", kBoolean}},
           .outputs = {{"from", kString},
                       {"bytes", kInteger},
                       {"sha256", kString},
                       {"format", kString},
                       {"tables", kObject}}},
          {.name = "baseline",
           .params = {{"tables", kArray}, {"schema", kString}, {"checksum", kBoolean | kArray}},
           .outputs = {{"tables", kObject},
                       {"schema_fingerprint", kString},
                       {"scope", kObject},
                       {"column_order", kString}},
           .read_only = true,
           .idempotent = true},
          VerifyAction(),
          SqlQueryAction(),
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
