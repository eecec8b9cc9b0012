// The http action written out for `backout plan` (adapter.h: Describe): method, URL, the
// NAMES of the headers sent (their values may be credentials), body and what is expected.
#include <string>

#include "adapters/common/describe.h"
#include "adapters/http/http_adapter.h"

namespace backout::adapters {

void AddHttpRequest(nlohmann::json& description, const DescribeRequest& request) {
  // As http_target.cc's ReadUrl: `url`, or the target's base_url and `path`.
  if (const auto url = request.params.find("url"); url != request.params.end()) {
    common::AddDetail(description, "url", *url);
  } else {
    std::string base = request.target.value("base_url", "");
    while (base.ends_with('/')) base.pop_back();
    common::AddDetail(description, "url", base + request.params.value("path", ""));
  }
  common::AddMappingNames(description, request, "headers", "header names");
}

nlohmann::json DescribeHttpAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(HttpVocabulary(), request.action);
  d["effect"] = common::kCallsOut;
  common::AddDetail(d, "method", request.params.value("method", "GET"));
  AddHttpRequest(d, request);
  common::AddParam(d, request, "body");
  common::AddParam(d, request, "expect_status");
  common::AddParam(d, request, "wait_until");
  common::AddParam(d, request, "request_timeout");
  return d;
}

}  // namespace backout::adapters
