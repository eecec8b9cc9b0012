// The example adapter's vocabulary: the one place that names its type, its actions, their
// parameters and their outputs. The engine builds the plan parser's checks from it.
#include "adapters/example/example_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& ExampleVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "example",
      .actions = {
          {.name = "echo",
           .params = {{"text", kString, true}},
           .outputs = {{"text", kString}},
           .read_only = true,
           .idempotent = true},
          {.name = "length",
           .params = {{"text", kString, true}},
           .outputs = {{"length", kInteger}},
           .read_only = true,
           .idempotent = true},
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
