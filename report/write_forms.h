// The writers behind WriteReport (report/render.h), one per form; internal to report/.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "report/document.h"
#include "report/piece_writer.h"
#include "report/render.h"
#include "report/report.h"

namespace backout::report {

// Each writes its whole form, the JSON one with its final newline.
Status WriteJson(const RunReport& report, const EventLists& lists, const OutputSink& out);
Status WriteMarkdown(const RunReport& report, const EventLists& lists, const OutputSink& out);
Status WriteHtml(const RunReport& report, const EventLists& lists, const OutputSink& out);

}  // namespace backout::report
