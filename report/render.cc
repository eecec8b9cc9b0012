#include "report/render.h"

#include <fmt/format.h>

namespace backout::report {

Result<std::string> Render(const Report& report, std::string_view format) {
  if (format == "md") return RenderMarkdown(report);
  if (format == "html") return RenderHtml(report);
  if (format == "json") {
    // Every string came from the journal's JSON payloads, so it is valid UTF-8; `replace`
    // only makes sure a dump can never throw.
    return RenderJson(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return Status::InvalidArgument(
      fmt::format("unknown report format '{}' (expected md, html or json)", format));
}

}  // namespace backout::report
