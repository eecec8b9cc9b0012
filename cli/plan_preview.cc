#include "cli/plan_preview.h"

#include <filesystem>
#include <iostream>

#include "base/env.h"
#include "base/file_util.h"
#include "base/utf8.h"
#include "preview/preview.h"

namespace backout::cli {

int WritePreview(const Common& c, const plan::Plan& plan, const adapters::Registry& registry,
                 const PreviewOutput& output) {
  const preview::PreviewOptions options{
      .registry = &registry,
      .variables = [](const std::string& name) { return Env::Default()->GetVar(name); },
      .base_dir = std::filesystem::absolute(plan.source_file).parent_path(),
      .secrets = c.secrets};
  Result<nlohmann::json> built = preview::BuildPreview(plan, options);
  if (!built.ok()) {
    std::cerr << "backout: error: " << built.status().message() << "\n";
    return 2;  // an "internal error: ..." of the simulation, as for other commands
  }
  const std::string text =
      output.json ? DumpJson(*built, 2) + "\n" : preview::RenderPreviewText(*built);
  if (output.output_file.empty()) {
    std::cout << text << std::flush;
    return 0;
  }
  if (Status s = WriteFileAtomically(output.output_file, text); !s.ok()) {
    std::cerr << "backout: error: cannot write the preview: " << s.message() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace backout::cli
