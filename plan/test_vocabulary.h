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
               {"backup", "baseline", "verify", "query"}},
              {"postgres",
               {"sql", "backup", "restore", "baseline", "verify", "query"},
               {"backup", "baseline", "verify", "query"}},
              {"command", {"command"}, {}},
              {"http", {"http", "notify"}, {}},
              {"file", {"file"}, {"file"}},
              {"json_store",
               {"backup", "restore", "baseline", "verify"},
               {"backup", "baseline", "verify"}},
              {"dynamodb",
               {"baseline", "verify", "export", "import", "delete_table", "update_billing"},
               {"baseline", "verify", "export", "import", "delete_table", "update_billing"}},
          },
      .action_kinds = {"sql", "backup", "restore", "baseline", "verify", "query", "command",
                       "http", "file", "export", "import", "delete_table", "update_billing",
                       "notify"},
      .targetless_actions = {"notify"},
  };
  return kVocabulary;
}

}  // namespace backout::plan
