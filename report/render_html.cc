// The HTML form: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
// laying out the Document (report/document.h), with headline tiles and a chart of planned vs
// actual time per step.
#include <fmt/format.h>

#include <algorithm>

#include "report/document.h"
#include "report/render.h"
#include "report/write_forms.h"
#include "report/text.h"

namespace backout::report {
namespace {

constexpr std::string_view kStyle = R"css(
:root {
  --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --soft: #f6f8fa; --accent: #0969da;
  --good: #1a7f37; --good-bg: #dafbe1; --bad: #cf222e; --bad-bg: #ffebe9;
  --warn: #9a6700; --warn-bg: #fff8c5;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--soft); color: var(--fg);
  font: 15px/1.55 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial,
        sans-serif;
}
main { max-width: 1080px; margin: 0 auto; padding: 32px 24px 48px; }
header.hero { padding: 8px 4px 20px; }
.eyebrow { margin: 0; color: var(--muted); font-size: 13px; letter-spacing: .06em;
           text-transform: uppercase; }
h1 { margin: 4px 0 6px; font-size: 30px; line-height: 1.2; letter-spacing: -.01em; }
.sub { margin: 0; color: var(--muted); }
.description { margin: 12px 0 0; max-width: 72ch; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
         margin-top: 22px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 12px 16px; }
.tile .label { display: block; color: var(--muted); font-size: 12px; text-transform: uppercase;
               letter-spacing: .05em; }
.tile .value { display: block; font-size: 22px; font-weight: 600; margin-top: 2px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 12px;
          padding: 20px 24px; margin: 18px 0; }
h2 { margin: 0 0 12px; font-size: 20px; }
h3 { margin: 20px 0 6px; font-size: 16px; }
h3:first-of-type { margin-top: 4px; }
.lead { margin: -4px 0 14px; color: var(--muted); max-width: 80ch; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 24px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
ul { margin: 6px 0; padding-left: 22px; }
li { margin: 2px 0; }
.blank { margin: 8px 0 4px; padding: 8px 12px; border: 1px dashed #d4a72c; border-radius: 8px;
         background: #fffdf0; color: var(--muted); }
.blank em { color: var(--warn); font-weight: 600; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th { text-align: left; color: var(--muted); font-weight: 600; padding: 6px 10px;
     border-bottom: 2px solid var(--line); white-space: nowrap; }
td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top;
     overflow-wrap: anywhere; }
td.short { white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace;
       background: var(--soft); border-radius: 4px; padding: 1px 4px; white-space: nowrap; }
code.long { white-space: normal; word-break: break-all; }
pre { font: 13px/1.45 ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace;
      background: var(--soft); border-radius: 8px; padding: 12px 16px; margin: 0;
      overflow-x: auto; }
.good { color: var(--good); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.pill { display: inline-block; padding: 1px 10px; border-radius: 999px; font-weight: 600; }
.pill.good { background: var(--good-bg); }
.pill.bad { background: var(--bad-bg); }
.pill.warn { background: var(--warn-bg); }
.empty { color: var(--muted); margin: 0; }
figure { margin: 0 0 16px; }
figure svg { display: block; width: 100%; height: auto; max-width: 860px; }
footer { color: var(--muted); font-size: 13px; text-align: center; margin-top: 28px; }
@media print {
  body { background: #fff; }
  section, .tile { border-color: #bbb; break-inside: avoid; }
}
)css";

// Identifiers stay on one line; hashes and paths may break anywhere rather than widen tables.
void AppendCodeHtml(std::string_view text, std::string* out) {
  constexpr std::size_t kLongCode = 32;
  if (text.empty()) return;
  out->append(text.size() > kLongCode ? "<code class=\"long\">" : "<code>");
  AppendEscapedMarkup(text, out);
  out->append("</code>");
}

std::string CodeHtml(std::string_view text) {
  std::string out;
  AppendCodeHtml(text, &out);
  return out;
}

// Escaped text in which `backquoted` spans (the Document's convention) become <code>.
void AppendInline(std::string_view text, std::string* out) {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t open = text.find('`', at);
    const std::size_t close = open == std::string_view::npos ? open : text.find('`', open + 1);
    if (close == std::string_view::npos) break;
    AppendEscapedMarkup(text.substr(at, open - at), out);
    AppendCodeHtml(text.substr(open + 1, close - open - 1), out);
    at = close + 1;
  }
  AppendEscapedMarkup(text.substr(std::min(at, text.size())), out);
}

std::string Inline(std::string_view text) {
  std::string out;
  AppendInline(text, &out);
  return out;
}

std::string_view ToneClass(Tone tone) {
  switch (tone) {
    case Tone::kGood:
      return "good";
    case Tone::kBad:
      return "bad";
    case Tone::kWarn:
      return "warn";
    default:
      return "";
  }
}

void AppendCellHtml(const Cell& cell, std::string* out) {
  if (cell.tone == Tone::kCode) return AppendCodeHtml(cell.text, out);
  const std::string_view cls = ToneClass(cell.tone);
  if (cls.empty()) return AppendInline(cell.text, out);
  out->append("<span class=\"").append(cls).append("\">");
  AppendInline(cell.text, out);
  out->append("</span>");
}

std::string CellHtml(const Cell& cell) {
  std::string out;
  AppendCellHtml(cell, &out);
  return out;
}

std::string TableHead(const std::vector<std::string>& columns) {
  std::string out = "<div class=\"table-wrap\"><table>\n<thead><tr>";
  for (const std::string& c : columns) out += "<th>" + EscapeMarkup(c) + "</th>";
  return out + "</tr></thead>\n<tbody>\n";
}

void AppendTableRow(const std::vector<Cell>& row, std::string* out) {
  out->append("<tr>");
  for (const Cell& c : row) {
    // Short values (times, durations, names, results) stay on one line; long text wraps.
    constexpr std::size_t kShortCell = 24;
    out->append(c.text.size() <= kShortCell ? std::string_view("<td class=\"short\">")
                                            : std::string_view("<td>"));
    AppendCellHtml(c, out);
    out->append("</td>");
  }
  out->append("</tr>\n");
}

constexpr std::string_view kTableFoot = "</tbody>\n</table></div>\n";

std::string TableHtml(const Table& t) {
  std::string out = TableHead(t.columns);
  for (const std::vector<Cell>& row : t.rows) AppendTableRow(row, &out);
  return out + std::string(kTableFoot);
}

// --- planned vs actual chart -----------------------------------------------------------

constexpr std::int64_t kLabelWidth = 190;
constexpr std::int64_t kBarWidth = 480;
constexpr std::int64_t kValueWidth = 120;
constexpr std::int64_t kRowHeight = 40;
constexpr std::int64_t kChartTop = 36;

constexpr std::string_view kPlannedColour = "#c5ced8";
constexpr std::string_view kWithinColour = "#2da44e";
constexpr std::string_view kOverColour = "#d4a72c";
constexpr std::string_view kFailedColour = "#cf222e";
constexpr std::string_view kUnplannedColour = "#0969da";

std::string_view ActualColour(const StepReport& s) {
  if (s.status == "failed") return kFailedColour;
  if (!s.planned_ms) return kUnplannedColour;
  return s.actual_ms && *s.actual_ms > *s.planned_ms ? kOverColour : kWithinColour;
}

// Bar length in whole pixels (integer arithmetic: the same on every machine); a non-zero
// value is never invisible.
std::int64_t BarLength(std::int64_t ms, std::int64_t max_ms) {
  if (ms <= 0) return 0;
  return std::max<std::int64_t>(2, ms * kBarWidth / max_ms);
}

std::string Bar(std::int64_t y, const std::optional<std::int64_t>& ms, std::int64_t max_ms,
                std::string_view colour, std::string_view what, const std::string& step) {
  const std::string value = ms ? HumanDuration(ms) : (what == "planned" ? "not planned" : "—");
  const std::int64_t length = ms ? BarLength(*ms, max_ms) : 0;
  std::string out;
  if (length > 0) {
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" rx=\"3\" fill=\"{}\">"
        "<title>{}: {} {}</title></rect>",
        kLabelWidth, y, length, colour, EscapeMarkup(step), what, value);
  }
  out += fmt::format("<text x=\"{}\" y=\"{}\" class=\"v\">{}</text>", kLabelWidth + length + 6,
                     y + 10, EscapeMarkup(value));
  return out;
}

std::string LegendItem(std::int64_t x, std::string_view colour, std::string_view label) {
  return fmt::format(
      "<rect x=\"{}\" y=\"8\" width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/>"
      "<text x=\"{}\" y=\"18\" class=\"v\">{}</text>",
      x, colour, x + 17, label);
}

std::string Chart(const std::vector<StepReport>& steps) {
  std::int64_t max_ms = 1;
  for (const StepReport& s : steps) {
    max_ms = std::max({max_ms, s.planned_ms.value_or(0), s.actual_ms.value_or(0)});
  }
  const std::int64_t width = kLabelWidth + kBarWidth + kValueWidth;
  const std::int64_t height = kChartTop + static_cast<std::int64_t>(steps.size()) * kRowHeight + 4;
  std::string out = fmt::format(
      "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-labelledby=\"chart-title\">\n<title id=\"chart-title\">Planned and actual time per "
      "step</title>\n<style>text{{font:12px -apple-system,'Segoe UI',Helvetica,Arial,"
      "sans-serif;fill:#1f2328}} .v{{fill:#59636e}}</style>\n",
      width, height);
  out += LegendItem(kLabelWidth, kPlannedColour, "planned") +
         LegendItem(kLabelWidth + 90, kWithinColour, "actual, within plan") +
         LegendItem(kLabelWidth + 240, kOverColour, "over plan") +
         LegendItem(kLabelWidth + 340, kUnplannedColour, "no plan") +
         LegendItem(kLabelWidth + 430, kFailedColour, "failed") + "\n";
  std::int64_t y = kChartTop;
  for (const StepReport& s : steps) {
    out += fmt::format("<g><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", kLabelWidth - 10,
                       y + 20, EscapeMarkup(OneLine(s.id, 28)));
    out += Bar(y + 4, s.planned_ms, max_ms, kPlannedColour, "planned", s.id);
    out += Bar(y + 19, s.actual_ms, max_ms, ActualColour(s), "actual", s.id);
    out += "</g>\n";
    y += kRowHeight;
  }
  return out + "</svg></figure>\n";
}

// --- page ----------------------------------------------------------------------------

std::string Tile(std::string_view label, const Cell& value) {
  const std::string_view tone = ToneClass(value.tone);
  return fmt::format(
      "<div class=\"tile\"><span class=\"label\">{}</span><span class=\"value{}{}\">{}</span>"
      "</div>",
      EscapeMarkup(label), tone.empty() ? "" : " ", tone, EscapeMarkup(value.text));
}

std::string Tiles(const RunReport& r, const EventLists& lists, const Document& doc) {
  const auto succeeded = std::count_if(r.steps.begin(), r.steps.end(),
                                       [](const StepReport& s) { return s.status == "succeeded"; });
  const Downtime& d = r.summary.downtime;
  const std::string downtime = d.state == Downtime::State::kNotMarked ? "not marked"
                               : d.duration_ms                        ? HumanDuration(d.duration_ms)
                                                                      : "—";
  return "<div class=\"tiles\">" + Tile("Outcome", Cell{r.summary.outcome, doc.outcome.tone}) +
         Tile("Total time", Cell{HumanDuration(r.summary.total_ms)}) +
         Tile("Downtime",
              Cell{downtime, d.state == Downtime::State::kOpen ? Tone::kWarn : Tone::kPlain}) +
         Tile("Steps succeeded", Cell{fmt::format("{} / {}", succeeded, r.steps.size())}) +
         Tile("Interruptions", Cell{std::to_string(lists.interruptions.entries),
                                    lists.interruptions.entries == 0 ? Tone::kPlain
                                                                     : Tone::kWarn}) +
         "</div>\n";
}

std::string Header(const RunReport& r, const EventLists& lists, const Document& doc) {
  std::string out = fmt::format(
      "<header class=\"hero\">\n<p class=\"eyebrow\">backout · post-incident report</p>\n"
      "<h1>{}</h1>\n<p class=\"sub\">{} · <span class=\"pill {}\">{}</span></p>\n",
      EscapeMarkup(doc.title), EscapeMarkup(doc.subtitle), ToneClass(doc.outcome.tone),
      EscapeMarkup(doc.outcome.text));
  if (!doc.description.empty()) {
    out += "<p class=\"description\">" + Inline(doc.description) + "</p>\n";
  }
  return out + Tiles(r, lists, doc) + "</header>\n";
}

std::string Overview(const Document& doc) {
  std::string out = "<section id=\"run-summary\">\n<h2>Run summary</h2>\n<dl class=\"facts\">\n";
  for (const auto& [label, value] : doc.overview) {
    out += "<dt>" + EscapeMarkup(label) + "</dt><dd>" + CellHtml(value) + "</dd>\n";
  }
  return out + "</dl>\n</section>\n";
}

void AppendFact(const std::string& fact, std::string* out) {
  out->append("<li>");
  AppendInline(fact, out);
  out->append("</li>\n");
}

Status WritePostMortem(const Document& doc, PieceWriter& w) {
  w.piece() += "<section id=\"post-mortem\">\n<h2>Post-mortem</h2>\n";
  for (const PostMortemSection& s : doc.post_mortem) {
    w.piece() += "<h3>" + EscapeMarkup(s.title) + "</h3>\n";
    if (s.streamed_facts.scan) {
      BACKOUT_RETURN_IF_ERROR(w.Stream(FactsOf(s), "<ul>\n", AppendFact, "", "</ul>\n", ""));
    } else if (!s.facts.empty()) {
      w.piece() += "<ul>\n";
      for (const std::string& fact : s.facts) AppendFact(fact, &w.piece());
      w.piece() += "</ul>\n";
    }
    if (!s.blank.empty()) {
      w.piece() += "<p class=\"blank\"><em>to be filled in</em>: " + Inline(s.blank) + "</p>\n";
    }
  }
  w.piece() += "</section>\n";
  return Status::Ok();
}

std::string DetailHead(const RunReport& r, const Section& s) {
  std::string out = "<section>\n<h2>" + EscapeMarkup(s.title) + "</h2>\n";
  if (!s.lead.empty()) out += "<p class=\"lead\">" + Inline(s.lead) + "</p>\n";
  if (s.figure == Section::Figure::kPlannedVsActual && !r.steps.empty()) out += Chart(r.steps);
  return out;
}

std::string Empty(const Section& s) { return "<p class=\"empty\">" + Inline(s.if_empty) + "</p>\n"; }

constexpr std::string_view kSectionEnd = "</section>\n";

Status WriteDetail(const RunReport& r, const Section& s, PieceWriter& w) {
  w.piece() += DetailHead(r, s);
  if (s.streamed_rows.scan) {
    BACKOUT_RETURN_IF_ERROR(w.Stream(s.streamed_rows, TableHead(s.table.columns), AppendTableRow,
                                     "", kTableFoot, Empty(s)));
  } else {
    w.piece() += s.table.rows.empty() ? Empty(s) : TableHtml(s.table);
  }
  w.piece() += kSectionEnd;
  return Status::Ok();
}

}  // namespace

Status WriteHtml(const RunReport& report, const EventLists& lists, const OutputSink& out) {
  const Document doc = BuildDocument(report, lists);
  PieceWriter w(out);
  std::string& piece = w.piece();
  piece = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n",
      EscapeMarkup(doc.title + " · " + report.run_id), kStyle);
  piece += Header(report, lists, doc);
  piece += Overview(doc);
  BACKOUT_RETURN_IF_ERROR(WritePostMortem(doc, w));
  for (const Section& s : doc.details) BACKOUT_RETURN_IF_ERROR(WriteDetail(report, s, w));
  if (doc.plan_text) {
    piece += fmt::format("<section id=\"plan-text\">\n<h2>{}</h2>\n<pre>{}</pre>\n</section>\n",
                         EscapeMarkup(kPlanTextTitle), EscapeMarkup(*doc.plan_text));
  }
  piece += fmt::format(
      "<footer>Replayed by backout from the run's journal alone: {} events, head hash {}."
      "</footer>\n",
      report.integrity.events, CodeHtml(report.integrity.head_hash));
  piece += "</main>\n</body>\n</html>\n";
  return w.Flush();
}

}  // namespace backout::report
