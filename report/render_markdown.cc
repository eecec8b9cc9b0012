// The Markdown form: the Document (report/document.h) with Markdown markup, written to read
// well when pasted into a ticket (GitHub-flavoured tables, no HTML).
#include <fmt/format.h>

#include <algorithm>

#include "base/byte_scan.h"
#include "report/document.h"
#include "report/render.h"
#include "report/write_forms.h"

namespace backout::report {
namespace {

// What a cell's text cannot hold as it is: the column separator and a line break.
constexpr ByteClass kCellSpecial{.listed = "|\n"};

// A table cell on one line, with the column separator escaped, appended to `out`.
void AppendCellText(std::string_view text, std::string* out) {
  while (!text.empty()) {
    // (Not find_first_of, which calls memchr once per byte of `text`.)
    const std::size_t plain = FindByteOf<kCellSpecial>(text, 0);
    out->append(text.substr(0, plain));
    if (plain == text.size()) return;
    out->append(text[plain] == '|' ? "\\|" : " ");
    text.remove_prefix(plain + 1);
  }
}

// `text` as a code span in a cell, with a longer fence when the text itself holds a backtick.
void AppendCellCode(std::string_view text, std::string* out) {
  if (text.empty()) return;
  const std::string_view fence =
      text.find('`') == std::string_view::npos ? std::string_view("`") : std::string_view("``");
  out->append(fence);
  if (fence.size() > 1) out->push_back(' ');
  AppendCellText(text, out);
  if (fence.size() > 1) out->push_back(' ');
  out->append(fence);
}

void AppendCellMarkdown(const Cell& cell, std::string* out) {
  switch (cell.tone) {
    case Tone::kCode:
      return AppendCellCode(cell.text, out);
    case Tone::kBad:
      if (cell.text.empty()) return;
      out->append("**");
      AppendCellText(cell.text, out);
      out->append("**");
      return;
    default:
      return AppendCellText(cell.text, out);
  }
}

std::string Row(const std::vector<std::string>& cells) {
  return fmt::format("| {} |\n", fmt::join(cells, " | "));
}

std::string TableHead(const std::vector<std::string>& columns) {
  return Row(columns) + Row(std::vector<std::string>(columns.size(), "---"));
}

// Appends Row() of the cells' Markdown.
void AppendTableRow(const std::vector<Cell>& row, std::string* out) {
  out->append("| ");
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (i > 0) out->append(" | ");
    AppendCellMarkdown(row[i], out);
  }
  out->append(" |\n");
}

std::string TableMarkdown(const Table& t) {
  std::string out = TableHead(t.columns);
  for (const std::vector<Cell>& row : t.rows) AppendTableRow(row, &out);
  return out;
}

std::string Overview(const Document& doc) {
  Table t{{"Field", "Value"}, {}};
  for (const auto& [label, value] : doc.overview) t.rows.push_back({Cell{label}, value});
  return "## Run summary\n\n" + TableMarkdown(t) + "\n";
}

Status WritePostMortem(const Document& doc, PieceWriter& w) {
  w.piece() += "## Post-mortem\n\n";
  for (const PostMortemSection& s : doc.post_mortem) {
    w.piece() += fmt::format("### {}\n\n", s.title);
    if (s.streamed_facts.scan) {
      BACKOUT_RETURN_IF_ERROR(w.Stream(
          FactsOf(s), "",
          [](const std::string& fact, std::string* out) {
            out->append("- ").append(fact).push_back('\n');
          },
          "", "\n", ""));
    } else {
      for (const std::string& fact : s.facts) w.piece() += "- " + fact + "\n";
      if (!s.facts.empty()) w.piece() += "\n";
    }
    if (!s.blank.empty()) w.piece() += fmt::format("_to be filled in_: {}\n\n", s.blank);
  }
  return Status::Ok();
}

std::string DetailHead(const Section& s) {
  std::string out = fmt::format("## {}\n\n", s.title);
  if (!s.lead.empty()) out += s.lead + "\n\n";
  return out;
}

Status WriteDetail(const Section& s, PieceWriter& w) {
  w.piece() += DetailHead(s);
  if (s.streamed_rows.scan) {
    return w.Stream(s.streamed_rows, TableHead(s.table.columns), AppendTableRow, "", "\n",
                    s.if_empty + "\n\n");
  }
  w.piece() += (s.table.rows.empty() ? s.if_empty + "\n" : TableMarkdown(s.table)) + "\n";
  return Status::Ok();
}

// The plan text in a fenced block whose fence is longer than any run of backticks in it.
std::string PlanText(const std::string& text) {
  std::size_t longest = 0;
  for (std::size_t run = 0; char ch : text) {
    run = ch == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  const std::string fence(std::max<std::size_t>(3, longest + 1), '`');
  const bool ends_in_newline = !text.empty() && text.back() == '\n';
  return fmt::format("## {}\n\n{}yaml\n{}{}{}\n\n", kPlanTextTitle, fence, text,
                     ends_in_newline ? "" : "\n", fence);
}

}  // namespace

Status WriteMarkdown(const RunReport& report, const EventLists& lists, const OutputSink& out) {
  const Document doc = BuildDocument(report, lists);
  PieceWriter w(out);
  w.piece() =
      fmt::format("# {}\n\n{} · outcome: **{}**\n\n", doc.title, doc.subtitle, doc.outcome.text);
  if (!doc.description.empty()) w.piece() += "> " + doc.description + "\n\n";
  w.piece() += Overview(doc);
  BACKOUT_RETURN_IF_ERROR(WritePostMortem(doc, w));
  for (const Section& s : doc.details) BACKOUT_RETURN_IF_ERROR(WriteDetail(s, w));
  if (doc.plan_text) w.piece() += PlanText(*doc.plan_text);
  // One final newline, not two (what comes last, the integrity section or the plan, is never
  // streamed: it is in the piece).
  w.piece().pop_back();
  return w.Flush();
}

}  // namespace backout::report
