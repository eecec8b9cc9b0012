#include "adapters/file/file_adapter.h"

#include "adapters/common/run.h"
#include "adapters/file/file_actions.h"
#include "adapters/file/params.h"

namespace backout::adapters {
namespace {

using nlohmann::json;
using file::References;

class FileAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return FileVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return file::ValidateFileInvocation(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunValidated(invocation, file::ValidateFileInvocation, [&] {
      return common::FromResult(file::RunFileOperation(invocation));
    });
  }

  std::vector<PreflightFinding> Preflight(const PreflightRequest& request) override {
    return FilePreflight(request);
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeFileAdapter() { return std::make_unique<FileAdapter>(); }

}  // namespace backout::adapters
