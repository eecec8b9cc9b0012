// http preflight (Adapter::Preflight): the host of the URL the action calls resolves and
// accepts a TCP connection. No request is sent: whether the service answers as the plan
// expects is the step's to find out.
#include "adapters/common/preflight.h"
#include "adapters/http/http_adapter.h"

namespace backout::adapters {

std::vector<PreflightFinding> HttpPreflight(const PreflightRequest& request) {
  // A `url` of the action, else the target's base URL (a `path` only adds to it).
  const std::optional<std::string> url = request.params.contains("url")
                                             ? common::KnownString(request.params, "url")
                                             : common::KnownString(request.target, "base_url");
  if (!url) return {};
  return {common::CheckReachable(*url, common::kConnectTimeout, request.cancel)};
}

}  // namespace backout::adapters
