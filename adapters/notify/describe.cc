// The notify action written out for `backout plan` (adapter.h: Describe): the message as
// written ({status} and the other facts are filled in when it is sent) and where it goes.
#include "adapters/common/describe.h"
#include "adapters/http/http_adapter.h"
#include "adapters/notify/notify_adapter.h"

namespace backout::adapters {

nlohmann::json DescribeNotifyAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(NotifyVocabulary(), request.action);
  d["effect"] = common::kCallsOut;
  common::AddParam(d, request, "message");
  if (request.params.contains("target")) {
    common::AddDetail(d, "method", "POST");
    AddHttpRequest(d, request);
  } else {
    common::AddDetail(d, "to", request.params.value("to", nlohmann::json("stdout")));
  }
  common::AddParam(d, request, "required");
  return d;
}

}  // namespace backout::adapters
