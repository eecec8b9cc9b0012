// notify preflight (Adapter::Preflight): for a `required: true` notification to a webhook (a
// `to: {url}` or an http target), the host resolves and accepts a TCP connection; nothing is
// sent. A notification that is not required cannot fail its step, so it is not checked.
#include "adapters/common/preflight.h"
#include "adapters/notify/notify_adapter.h"

namespace backout::adapters {

std::vector<PreflightFinding> NotifyPreflight(const PreflightRequest& request) {
  const auto required = request.params.find("required");
  if (required == request.params.end() || !required->is_boolean() || !required->get<bool>()) {
    return {};
  }
  std::optional<std::string> url;
  if (request.params.contains("target")) {
    url = common::KnownString(request.target, "base_url");
  } else if (const auto to = request.params.find("to"); to != request.params.end()) {
    url = common::KnownString(*to, "url");
  }
  if (!url) return {};
  return {common::CheckReachable(*url, common::kConnectTimeout, request.cancel)};
}

}  // namespace backout::adapters
