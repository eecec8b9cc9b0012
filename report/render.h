// The three forms of a report. Each is deterministic: the same RunReport gives the same bytes
// (no clock, stable ordering), so rendered journals can be golden-tested.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"
#include "report/report.h"

namespace backout::report {

// Every field of the report; docs/report.schema.json describes it exactly.
nlohmann::json RenderJson(const RunReport& report);

// RenderJson(report) dumped with indent 2 (no final newline), rendered a piece at a time.
std::string DumpJson(const RunReport& report);

// For a ticket: headings, tables and lists, post-mortem sections first.
std::string RenderMarkdown(const RunReport& report);

// One self-contained page (inline CSS, an inline SVG chart of planned vs actual per step,
// no scripts, nothing fetched).
std::string RenderHtml(const RunReport& report);

// `format` is "md", "html" or "json" (the JSON indented by 2, with a final newline);
// kInvalidArgument for anything else.
Result<std::string> Render(const RunReport& report, std::string_view format);

}  // namespace backout::report
