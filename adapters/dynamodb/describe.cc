// The dynamodb actions written out for `backout plan` (adapter.h: Describe).
#include "adapters/common/describe.h"
#include "adapters/dynamodb/dynamodb_adapter.h"
#include "adapters/dynamodb/params.h"

namespace backout::adapters {

nlohmann::json DescribeDynamoDbAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(DynamoDbVocabulary(), request.action);
  const std::optional<dynamodb::Action> action = dynamodb::ParseAction(request.action);
  if (!action) return d;
  switch (*action) {
    case dynamodb::Action::kBaseline:
      common::AddParam(d, request, "tables");
      break;
    case dynamodb::Action::kVerify:
      common::AddVerifyChecks(d, request);
      break;
    case dynamodb::Action::kExport:
      common::AddParam(d, request, "tables");
      common::AddParam(d, request, "to", "export to");
      break;
    case dynamodb::Action::kImport:
      common::AddSourceFile(d, request, "from", "import from");
      common::AddParam(d, request, "table", "into table");
      break;
    case dynamodb::Action::kDeleteTable:
      common::AddParam(d, request, "tables", "delete tables");
      break;
    case dynamodb::Action::kUpdateBilling:
      common::AddParam(d, request, "table");
      common::AddParam(d, request, "mode", "billing mode");
      common::AddParam(d, request, "read_capacity");
      common::AddParam(d, request, "write_capacity");
      break;
  }
  return d;
}

}  // namespace backout::adapters
