// The three forms of a report. Each is deterministic: the same RunReport gives the same bytes
// (no clock, stable ordering), so rendered journals can be golden-tested.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "report/report.h"

namespace backout::report {

// Every field of the report; docs/report.schema.json describes it exactly.
nlohmann::json RenderJson(const RunReport& report);

// For a ticket: headings, tables and lists, post-mortem sections first.
std::string RenderMarkdown(const RunReport& report);

// One self-contained page (inline CSS, an inline SVG chart of planned vs actual per step,
// no scripts, nothing fetched).
std::string RenderHtml(const RunReport& report);

// `format` is "md", "html" or "json" (the JSON indented by 2, with a final newline);
// kInvalidArgument for anything else.
Result<std::string> Render(const RunReport& report, std::string_view format);

// --- written as produced -----------------------------------------------------------------
//
// A report written to its output a piece at a time, so that what it holds is the RunReport
// without its timeline (bounded by the run's steps, see ReportBuilder) plus one section or one
// timeline entry: never the page. The bytes are Render()'s.

// Takes the next bytes of the output, in order; an error stops the writing and is returned.
using OutputSink = std::function<Status(std::string_view bytes)>;

using TimelineVisitor = std::function<Status(const TimelineEntry& entry)>;

// The run's timeline, entry by entry, in journal order: `scan` calls its visitor once for
// each of the `entries` entries (a second pass over the run, see ReportBuilder) and returns
// the first error, its own or the visitor's. Called at most once per report.
struct TimelineSource {
  std::size_t entries = 0;
  std::function<Status(const TimelineVisitor& visit)> scan;
};

// The timeline `report` holds (a report built with ReportBuilder::Timeline::kAll).
TimelineSource TimelineOf(const RunReport& report);

// Render(report, format) with the timeline taken from `timeline` rather than report.timeline
// (which the post-mortem still reads its key moments from), written to `out` as it is
// produced. kInvalidArgument for an unknown format, before anything is written; otherwise the
// first error of `out` or of `timeline.scan`, after which the output is incomplete.
Status WriteReport(const RunReport& report, const TimelineSource& timeline,
                   std::string_view format, const OutputSink& out);

}  // namespace backout::report
