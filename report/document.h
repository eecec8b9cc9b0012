// The human-readable shape of a report, shared by the Markdown and HTML renderers: every
// sentence, table cell and post-mortem blank is decided here once, and the renderers only add
// markup. Deterministic: built from the RunReport alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/report.h"

namespace backout::report {

// How a cell wants to be shown: good/bad/warn colour a result; code is an identifier, path
// or hash (monospace).
enum class Tone { kPlain, kGood, kBad, kWarn, kCode };

struct Cell {
  std::string text;
  Tone tone = Tone::kPlain;
};

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<Cell>> rows;  // each as wide as `columns`
};

// A post-mortem section (Google SRE template): what the journal says, then what people
// still have to write, shown as a marked blank.
struct PostMortemSection {
  std::string title;
  std::vector<std::string> facts;
  std::string blank;  // the question the blank asks; "" when the journal answers it all
};

// A detail section: a lead sentence and a table (or `if_empty` when it has no rows).
struct Section {
  enum class Figure { kNone, kPlannedVsActual };  // a chart the HTML form draws first
  std::string title;
  std::string lead;
  Table table;
  std::string if_empty;
  Figure figure = Figure::kNone;
  // The section of the event timeline: its rows, one per event, are made by TimelineRow()
  // as the renderer writes them (report/render.h), so `table.rows` stays empty and `if_empty`
  // is for a timeline without entries.
  bool timeline_rows = false;
};

struct Document {
  std::string title;     // "Rollback report: PLAN"
  std::string subtitle;  // "INC-2041 · run RUN"
  std::string description;
  Cell outcome;                                        // the run's outcome, toned
  std::vector<std::pair<std::string, Cell>> overview;  // the run summary, label -> value
  std::vector<PostMortemSection> post_mortem;
  std::vector<Section> details;
  // The journaled plan text (`report --embed-plan`), shown last and verbatim.
  std::optional<std::string> plan_text;
};

// The heading of the embedded plan text.
inline constexpr std::string_view kPlanTextTitle = "Plan as journaled";

Document BuildDocument(const RunReport& report);

// The row of the timeline section for `entry`, an entry of `report`'s run.
std::vector<Cell> TimelineRow(const RunReport& report, const TimelineEntry& entry);

}  // namespace backout::report
