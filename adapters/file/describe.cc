// The file actions written out for `backout plan` (adapter.h: Describe).
#include "adapters/common/describe.h"
#include "adapters/common/files.h"
#include "adapters/file/file_adapter.h"
#include "adapters/file/params.h"

namespace backout::adapters {

nlohmann::json DescribeFileAction(const DescribeRequest& request) {
  nlohmann::json d = common::ActionDescription(FileVocabulary(), request.action);
  if (!request.params.is_object()) return d;
  const file::Operation operation = file::OperationOf(request.params);
  const std::string name(file::OperationName(operation));
  const auto written = request.params.find(name);
  if (written == request.params.end()) return d;
  common::AddDetail(d, "operation", name);
  // The operation's own mapping, its paths under the target's root.
  const std::string root = request.expanded_target.value("root", "");
  const DescribeRequest inner{
      .action = request.action,
      .target = request.target,
      .params = *written,
      .expanded_target = request.expanded_target,
      .expanded_params = request.expanded_params.value(name, nlohmann::json::object()),
      .base_dir = root.empty() ? request.base_dir : common::ResolvePath(request.base_dir, root)};
  if (const auto it = request.target.find("root"); it != request.target.end()) {
    common::AddDetail(d, "root", *it);
  }
  switch (operation) {
    case file::Operation::kCopy:
      common::AddParam(d, inner, "from", "copy from");
      common::AddParam(d, inner, "to");
      common::AddParam(d, inner, "overwrite");
      break;
    case file::Operation::kRestore:
      common::AddSourceFile(d, inner, "from", "restore from");
      common::AddParam(d, inner, "to");
      break;
    case file::Operation::kSetEnv:
      common::AddParam(d, inner, "path", "env file");
      common::AddParam(d, inner, "values", "set");
      break;
    case file::Operation::kUnsetEnv:
      common::AddParam(d, inner, "path", "env file");
      common::AddParam(d, inner, "keys", "unset");
      break;
  }
  return d;
}

}  // namespace backout::adapters
