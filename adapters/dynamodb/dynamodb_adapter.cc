#include "adapters/dynamodb/dynamodb_adapter.h"

#include <string>
#include <utility>
#include <vector>

#include "adapters/common/run.h"
#include "adapters/dynamodb/actions.h"
#include "adapters/dynamodb/client.h"
#include "adapters/dynamodb/params.h"
#include "base/env.h"

namespace backout::adapters {
namespace {

using common::FromResult;
using nlohmann::json;

Outcome Dispatch(dynamodb::Action action, const dynamodb::ActionContext& context) {
  switch (action) {
    case dynamodb::Action::kBaseline:
      return FromResult(dynamodb::RunBaseline(context));
    case dynamodb::Action::kVerify:
      return dynamodb::RunVerify(context);
    case dynamodb::Action::kExport:
      return FromResult(dynamodb::RunExport(context));
    case dynamodb::Action::kImport:
      return FromResult(dynamodb::RunImport(context));
    case dynamodb::Action::kDeleteTable:
      return FromResult(dynamodb::RunDeleteTable(context));
    case dynamodb::Action::kUpdateBilling:
      return FromResult(dynamodb::RunUpdateBilling(context));
  }
  return Outcome{Status::InvalidArgument("unknown dynamodb action")};  // unreachable: validated
}

class DynamoDbAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return DynamoDbVocabulary(); }
  nlohmann::json Describe(const DescribeRequest& r) const override { return DescribeDynamoDbAction(r); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return dynamodb::ValidateInvocation(action, target, params,
                                        dynamodb::References::kUnresolved);
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return dynamodb::Preflight(request);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunValidated(
        invocation, dynamodb::ValidateInvocation, [&] {
          Result<dynamodb::ClientConfig> config = dynamodb::ClientConfigFor(
              invocation.target, *invocation.env, invocation.progress);
          if (!config.ok()) return Outcome{config.status().WithContext(invocation.action)};
          const dynamodb::Deadline deadline(invocation.cancel, invocation.timeout);
          const dynamodb::Client client(std::move(config).value(), deadline);
          const dynamodb::ActionContext context(invocation, client);
          return Dispatch(*dynamodb::ParseAction(invocation.action), context);
        });
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeDynamoDbAdapter() { return std::make_unique<DynamoDbAdapter>(); }

}  // namespace backout::adapters
