#include "adapters/file/file_adapter.h"

#include "adapters/common/run.h"
#include "adapters/file/file_actions.h"
#include "adapters/file/params.h"

namespace backout::adapters {
namespace {

using nlohmann::json;
using file::References;

using Validator = std::vector<ParamError> (*)(std::string_view action, const json& target,
                                              const json& params, References references);

// Checks the expanded invocation again, then runs `action`.
template <typename Action>
Outcome CheckedRun(const Invocation& invocation, Validator validate, Action action) {
  return common::RunChecked(
      invocation,
      [&] {
        return validate(invocation.action, invocation.target, invocation.params,
                        References::kResolved);
      },
      [&] { return action(invocation); });
}

class FileAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "file"; }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return file::ValidateFileInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return CheckedRun(invocation, file::ValidateFileInvocation, [](const Invocation& inv) {
      return common::FromResult(file::RunFileOperation(inv));
    });
  }
};

class JsonStoreAdapter final : public Adapter {
 public:
  std::string_view type() const override { return "json_store"; }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return file::ValidateStoreInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return CheckedRun(invocation, file::ValidateStoreInvocation, file::RunStoreAction);
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeFileAdapter() { return std::make_unique<FileAdapter>(); }
std::unique_ptr<Adapter> MakeJsonStoreAdapter() { return std::make_unique<JsonStoreAdapter>(); }

}  // namespace backout::adapters
