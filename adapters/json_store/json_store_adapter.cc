#include "adapters/json_store/json_store_adapter.h"

#include "adapters/common/run.h"
#include "adapters/json_store/actions.h"
#include "adapters/json_store/params.h"

namespace backout::adapters {
namespace {

using json_store::References;
using nlohmann::json;

class JsonStoreAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return JsonStoreVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return json_store::ValidateInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunValidated(invocation, json_store::ValidateInvocation,
                                [&] { return json_store::RunAction(invocation); });
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return JsonStorePreflight(request);
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeJsonStoreAdapter() { return std::make_unique<JsonStoreAdapter>(); }

}  // namespace backout::adapters
