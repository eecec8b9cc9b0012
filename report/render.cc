#include "report/render.h"

#include <fmt/format.h>

namespace backout::report {

Result<std::string> Render(const RunReport& report, std::string_view format) {
  if (format == "md") return RenderMarkdown(report);
  if (format == "html") return RenderHtml(report);
  if (format == "json") return DumpJson(report) + "\n";
  return Status::InvalidArgument(
      fmt::format("unknown report format '{}' (expected md, html or json)", format));
}

}  // namespace backout::report
