// The human-readable shape of a report, shared by the Markdown and HTML renderers: every
// sentence, table cell and post-mortem blank is decided here once, and the renderers only add
// markup. Deterministic: built from the RunReport alone.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/render.h"
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

using FactVisitor = std::function<Status(const std::string& fact)>;
using RowVisitor = std::function<Status(const std::vector<Cell>& row)>;

// A post-mortem section (Google SRE template): what the journal says, then what people
// still have to write, shown as a marked blank.
struct PostMortemSection {
  std::string title;
  std::vector<std::string> facts;
  // Facts a long run makes many of (one per key moment, triage, crash), made from the run's
  // lists as the renderer writes them, shown before facts[streamed_at]; no scan: none.
  EntrySource<std::string> streamed_facts;
  std::size_t streamed_at = 0;
  std::string blank;  // the question the blank asks; "" when the journal answers it all
};

// Every fact of `s`, in order, the streamed ones among them; valid while `s` is.
EntrySource<std::string> FactsOf(const PostMortemSection& s);

// A detail section: a lead sentence and a table (or `if_empty` when it has no rows).
struct Section {
  enum class Figure { kNone, kPlannedVsActual };  // a chart the HTML form draws first
  std::string title;
  std::string lead;
  Table table;
  std::string if_empty;
  Figure figure = Figure::kNone;
  // The rows of a table with a row per event, note, failure, ... (the timeline, notes,
  // decisions, errors, interruptions, preflight, logs): made from the run's lists as the
  // renderer writes them (report/render.h), `table.rows` staying empty; no scan for the
  // others.
  EntrySource<std::vector<Cell>> streamed_rows;
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

// `lists` are `report`'s (see WriteReport); the Document's streamed facts and rows read them
// and `report`, which must outlive it.
Document BuildDocument(const RunReport& report, const EventLists& lists);

}  // namespace backout::report
