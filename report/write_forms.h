// The writers behind WriteReport (report/render.h), one per form; internal to report/.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "report/document.h"
#include "report/render.h"
#include "report/report.h"

namespace backout::report {

// Each writes its whole form, the JSON one with its final newline.
Status WriteJson(const RunReport& report, const TimelineSource& timeline, const OutputSink& out);
Status WriteMarkdown(const RunReport& report, const TimelineSource& timeline,
                     const OutputSink& out);
Status WriteHtml(const RunReport& report, const TimelineSource& timeline, const OutputSink& out);

// The detail sections of a Markdown or HTML page: each appended to `*piece` as `detail(s)`
// makes it, except the timeline's, before which `*piece` is written out (and emptied) and
// which `timeline(s)` writes itself, entry by entry.
template <typename Detail, typename Timeline>
Status AppendDetails(const std::vector<Section>& sections, const OutputSink& out,
                     const Detail& detail, const Timeline& timeline, std::string* piece) {
  for (const Section& s : sections) {
    if (!s.timeline_rows) {
      *piece += detail(s);
      continue;
    }
    BACKOUT_RETURN_IF_ERROR(out(*piece));
    piece->clear();
    BACKOUT_RETURN_IF_ERROR(timeline(s));
  }
  return Status::Ok();
}

}  // namespace backout::report
