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
// without its lists that grow with events (bounded by the run's steps, see ReportBuilder)
// plus one section or one list entry: never the page. The bytes are Render()'s.

// Takes the next bytes of the output, in order; an error stops the writing and is returned.
using OutputSink = std::function<Status(std::string_view bytes)>;

// A list of a report, entry by entry, in journal order: `scan` calls its visitor once for
// each of the `entries` entries (for a long run, a pass of its own over the run, see
// ReportBuilder) and returns the first error, its own or the visitor's. A report may scan a
// list more than once (Markdown and HTML list the crashes among the action items, then in
// the interruptions table), and scans none that has no entries. The rows or facts a
// Document makes of a list (report/document.h) are an EntrySource too, whose `entries` are
// those of the list they are made of: as many as it makes, or about.
//
// `wanted`, when set, picks the entries a scan visits: the scan calls it with 0, 1, 2, ... for
// its entries in order, and visits an entry only when it returns true; an entry not wanted
// may be passed over without being made (a row or fact not formatted). Unset: every entry.
//
// `concurrent_scans`: `scan` may run on two threads at once, each call reading the list on
// its own, and a second scan costs a read of the list, not a pass over the run (a list held
// in memory or spooled; not ListsFromPasses'). A long list that allows it is formatted on two
// threads (report/piece_writer.h).
using EntryWanted = std::function<bool(std::size_t entry)>;

template <typename T>
struct EntrySource {
  using Visitor = std::function<Status(const T& entry)>;
  std::size_t entries = 0;
  std::function<Status(const Visitor& visit, const EntryWanted& wanted)> scan;
  bool concurrent_scans = false;
};

// Counts an entry of a scan (`*next`: its number) and says whether `wanted` wants it.
inline bool Wanted(const EntryWanted& wanted, std::size_t* next) {
  const std::size_t entry = (*next)++;
  return !wanted || wanted(entry);
}

using TimelineSource = EntrySource<TimelineEntry>;
using TimelineVisitor = TimelineSource::Visitor;

// The lists of a report that grow with the run's events (EventListSizes).
struct EventLists {
  TimelineSource timeline;
  TimelineSource key_moments;  // the timeline's entries with `key`
  EntrySource<Decision> decisions;
  EntrySource<StepError> errors;
  EntrySource<Note> notes;
  EntrySource<Triage> triage;
  EntrySource<Interruption> interruptions;
  EntrySource<Preflight> preflight;
  EntrySource<StepLog> logs;
};

// The lists `report` holds (a report built with ReportBuilder::Lists::kHold); valid while
// `report` is.
EventLists ListsOf(const RunReport& report);

// One pass over a run's records with their events, in order (a journal::Journal::ScanRun
// with each record decoded), to the same head each time; returns the first error, its own
// or `visit`'s.
using RunVisitor = std::function<Status(const journal::Record& record, const sm::Event& event)>;
using RunPass = std::function<Status(const RunVisitor& visit)>;

// The lists of the report a ReportBuilder(run_id, state, plan, Lists::kHandOver) made over
// `pass`, `sizes` being its sizes(): each made again, by a ReportBuilder over a `pass` of its
// own, whenever it is scanned (a list without entries takes no pass). What `backout report`
// falls back to when it cannot spool the lists (cli/report_spool.h). `state` and `plan` must
// outlive the result. Memory: a builder's, as for the summing up.
EventLists ListsFromPasses(const std::string& run_id, const sm::RunState& state,
                           const plan::Plan& plan, const EventListSizes& sizes, RunPass pass);

// Render(report, format) with the lists that grow with events taken from `lists` rather than
// from `report` (whose lists of them are not read), written to `out` as it is produced.
// kInvalidArgument for an unknown format, before anything is written; otherwise the first
// error of `out` or of a list's scan, after which the output is incomplete.
Status WriteReport(const RunReport& report, const EventLists& lists, std::string_view format,
                   const OutputSink& out);

}  // namespace backout::report
