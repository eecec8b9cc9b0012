// The example adapter: the smallest complete adapter, for docs/architecture.md ("Adding an
// adapter") and the tests that prove an adapter needs only its folder and a registry line.
// Registered only in tests' registries, never in Registry::Default().
//
// Target type `example` (config: `greeting`, an optional string). Actions:
//   echo   { text }  outputs {text: GREETING + TEXT}; reads nothing, changes nothing
//   length { text }  outputs {length: the number of bytes of TEXT}
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeExampleAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& ExampleVocabulary();

}  // namespace backout::adapters
