// The http adapter's vocabulary (docs/adapters/http.md describes its one action).
#include "adapters/http/http_adapter.h"

namespace backout::adapters {

const AdapterVocabulary& HttpVocabulary() {
  static const AdapterVocabulary kVocabulary{
      .type = "http",
      .actions = {
          {.name = "http",
           .params = {{"method", kString},
                      {"path", kString},
                      {"url", kString},
                      {"headers", kObject},
                      {"body", kAnyJson},
                      {"expect_status", kInteger | kString | kArray},
                      {"wait_until", kObject},
                      {"request_timeout", kInteger | kString}},
           .outputs = {{"method", kString},
                       {"url", kString},
                       {"elapsed_ms", kInteger},
                       {"polls", kInteger},
                       {"status", kInteger},
                       {"body", kString},
                       {"body_bytes", kInteger},
                       {"content_type", kString},
                       {"json", kAnyJson}}},
      }};
  return kVocabulary;
}

}  // namespace backout::adapters
