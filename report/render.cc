#include "report/render.h"

#include <fmt/format.h>

#include "report/write_forms.h"

namespace backout::report {

TimelineSource TimelineOf(const RunReport& report) {
  return TimelineSource{.entries = report.timeline.size(),
                        .scan = [&report](const TimelineVisitor& visit) {
                          for (const TimelineEntry& e : report.timeline) {
                            BACKOUT_RETURN_IF_ERROR(visit(e));
                          }
                          return Status::Ok();
                        }};
}

Status WriteReport(const RunReport& report, const TimelineSource& timeline,
                   std::string_view format, const OutputSink& out) {
  if (format == "md") return WriteMarkdown(report, timeline, out);
  if (format == "html") return WriteHtml(report, timeline, out);
  if (format == "json") return WriteJson(report, timeline, out);
  return Status::InvalidArgument(
      fmt::format("unknown report format '{}' (expected md, html or json)", format));
}

Result<std::string> Render(const RunReport& report, std::string_view format) {
  std::string text;
  BACKOUT_RETURN_IF_ERROR(
      WriteReport(report, TimelineOf(report), format, [&text](std::string_view bytes) {
        text.append(bytes);
        return Status::Ok();
      }));
  return text;
}

// The formats are known: neither can fail.
std::string RenderMarkdown(const RunReport& report) { return *Render(report, "md"); }
std::string RenderHtml(const RunReport& report) { return *Render(report, "html"); }

}  // namespace backout::report
