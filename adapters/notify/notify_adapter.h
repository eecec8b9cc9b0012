// Notification adapter (type "notify", action `notify`): renders a message from the run's
// facts ({plan}, {incident}, {status}, ...; the engine passes them as Invocation::run_facts) and
// delivers it to stdout (one line), appends it to a file, or posts it as Slack-style JSON
// ({"text": ...}) to a URL or to a path on an `http` target. A failed delivery is an output
// (delivered: false, error) and the step still succeeds, unless the step says
// `required: true`. See docs/adapters/notify.md.
#pragma once

#include <memory>

#include "adapters/adapter.h"

namespace backout::adapters {

std::unique_ptr<Adapter> MakeNotifyAdapter();

// What the adapter offers (vocabulary.cc beside this header).
const AdapterVocabulary& NotifyVocabulary();

// The adapter's Preflight (preflight.cc beside this header).
std::vector<PreflightFinding> NotifyPreflight(const PreflightRequest& request);

}  // namespace backout::adapters
