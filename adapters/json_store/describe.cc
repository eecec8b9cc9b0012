// The json_store actions written out for `backout plan` (adapter.h: Describe).
#include "adapters/common/describe.h"
#include "adapters/json_store/json_store_adapter.h"
#include "adapters/json_store/params.h"

namespace backout::adapters {

nlohmann::json DescribeJsonStoreAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(JsonStoreVocabulary(), request.action);
  const std::optional<json_store::Action> action = json_store::ParseAction(request.action);
  if (!action) return d;
  switch (*action) {
    case json_store::Action::kBackup:
      common::AddParam(d, request, "to", "backup to");
      break;
    case json_store::Action::kRestore:
      common::AddSourceFile(d, request, "from", "restore from");
      break;
    case json_store::Action::kBaseline:
      common::AddParam(d, request, "collections");
      break;
    case json_store::Action::kVerify:
      common::AddVerifyChecks(d, request);
      break;
  }
  return d;
}

}  // namespace backout::adapters
