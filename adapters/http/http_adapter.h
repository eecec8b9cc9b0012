// HTTP target adapter (type `http`, action `http`): one request (method, path on the target's
// base URL or a full URL, headers, body) judged by its status, or `wait_until`: polling until
// a status/body/JSON condition holds or the step's timeout passes. TLS is verified unless the
// target says `verify_tls: false`; secret header values never reach outputs, errors or
// progress. See docs/adapters/http.md for every parameter, output and failure.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeHttpAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& HttpVocabulary();

// The adapter's Preflight (preflight.cc beside this header).
std::vector<PreflightFinding> HttpPreflight(const PreflightRequest& request);

}  // namespace backout::adapters
