// For tests that parse plans without the adapters at hand (plan/ and report/ may not include
// adapters/ or engine/): the vocabulary of the default adapter registry, written out.
// engine/vocabulary_test.cc checks that it equals engine::PlanVocabulary(Registry::Default()).
#pragma once

#include "plan/vocabulary.h"

namespace backout::plan {

inline const Vocabulary& DefaultVocabularyForTests() {
  static const Vocabulary kVocabulary{
      .target_types =
          {
              {"sqlite",
               {"sql", "backup", "restore", "baseline", "verify", "query"},
               {"backup", "baseline", "verify", "query"},
               {{"sql", {"changes"}},
                {"backup", {"path", "bytes", "sha256", "source",
                            "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"restore", {"from", "bytes", "sha256",
                             "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"baseline", {"tables", "column_order"}},
                {"verify", {"checks", "passed", "failed"}},
                {"query", {"value"}}}},
              {"postgres",
               {"sql", "backup", "restore", "baseline", "verify", "query"},
               {"backup", "baseline", "verify", "query"},
               {{"sql", {"transaction", "last_command", "statements", "notices"}},
                {"backup",
                 {"path", "bytes", "sha256", "format", "tables",
                  "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"restore",
                 {"from", "bytes", "sha256", "format", "tables",
                  "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"baseline", {"tables", "schema_fingerprint", "scope", "column_order"}},
                {"verify", {"checks", "passed", "failed"}},
                {"query", {"value"}}}},
              {"command",
               {"command"},
               {},
               {{"command",
                 {"exit_code", "signal", "output_tail", "log", "duration_ms", "log_error"}}}},
              {"http",
               {"http", "notify"},
               {},
               {{"http",
                 {"method", "url", "elapsed_ms", "polls", "status", "body", "body_bytes",
                  "content_type", "json"}},
                {"notify", {"message", "to", "status", "delivered", "error"}}}},
              {"file",
               {"file"},
               {"file"},
               {{"file",
                 {"operation", "root", "from", "to", "path", "bytes", "sha256",
                  "before_sha256", "before_bytes", "after_sha256", "changed", "replaced",
                  "written", "added", "unchanged", "absent", "mode"}}}},
              {"json_store",
               {"backup", "restore", "baseline", "verify"},
               {"backup", "baseline", "verify"},
               {{"backup",
                 {"path", "bytes", "sha256", "files", "source", "collections",
                  "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"restore",
                 {"from", "path", "bytes", "sha256", "files", "before_sha256", "replaced",
                  "collections",
                  "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"baseline", {"collections"}},
                {"verify", {"checks", "passed", "failed"}}}},
              {"dynamodb",
               {"baseline", "verify", "export", "import", "delete_table", "update_billing"},
               {"baseline", "verify", "export", "import", "delete_table", "update_billing"},
               {{"baseline", {"tables"}},
                {"verify", {"checks", "passed", "failed"}},
                {"export", {"files", "path"}},
                {"import",
                 {"table", "items", "path", "bytes", "sha256",
                  "url", "endpoint", "region", "path_style", "parts", "parts_resumed"}},
                {"delete_table", {"deleted", "already_absent"}},
                {"update_billing", {"table", "mode", "previous_mode", "changed"}}}},
          },
      .action_kinds = {"sql", "backup", "restore", "baseline", "verify", "query", "command",
                       "http", "file", "export", "import", "delete_table", "update_billing",
                       "notify"},
      .targetless_actions = {"notify"},
      .targetless_outputs = {{"notify", {"message", "to", "status", "delivered", "error"}}},
      .engine_actions = {{"capture", "baseline", {"name", "baseline", "backup"}, true}},
  };
  return kVocabulary;
}

}  // namespace backout::plan
