#include "cli/plan_preview.h"

#include <filesystem>
#include <iostream>

#include "base/utf8.h"
#include "cli/render.h"
#include "preview/preview.h"

namespace backout::cli {

int WritePreview(const Common& c, const plan::Plan& plan, const adapters::Registry& registry,
                 const PreviewOutput& output) {
  const preview::PreviewOptions options{
      .registry = &registry,
      .variables = EnvLookup(),
      .base_dir = std::filesystem::absolute(plan.source_file).parent_path(),
      .secrets = c.secrets};
  Result<nlohmann::json> built = preview::BuildPreview(plan, options);
  if (!built.ok()) {
    std::cerr << "backout: error: " << built.status().message() << "\n";
    return 2;  // an "internal error: ..." of the simulation, as for other commands
  }
  const std::string text =
      output.json ? DumpJson(*built, 2) + "\n" : preview::RenderPreviewText(*built);
  return WriteOutput(text, output.output_file, "preview") ? 0 : 2;
}

}  // namespace backout::cli
