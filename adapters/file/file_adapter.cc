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
  const AdapterVocabulary& vocabulary() const override { return FileVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return file::ValidateFileInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunChecked(
        invocation,
        file::ValidateFileInvocation(invocation.action, invocation.target, invocation.params,
                                     References::kResolved),
        [&] { return common::FromResult(file::RunFileOperation(invocation)); });
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeFileAdapter() { return std::make_unique<FileAdapter>(); }

}  // namespace backout::adapters
