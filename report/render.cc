#include "report/render.h"

#include <fmt/format.h>

#include <algorithm>

#include "report/write_forms.h"

namespace backout::report {

namespace {

template <typename T, typename Keep>
EntrySource<T> SourceOf(const std::vector<T>& list, const Keep& keep) {
  return EntrySource<T>{
      .entries = static_cast<std::size_t>(std::count_if(list.begin(), list.end(), keep)),
      .scan =
          [&list, keep](const typename EntrySource<T>::Visitor& visit, const EntryWanted& wanted) {
            std::size_t next = 0;
            for (const T& entry : list) {
              if (keep(entry) && Wanted(wanted, &next)) BACKOUT_RETURN_IF_ERROR(visit(entry));
            }
            return Status::Ok();
          },
      .concurrent_scans = true};
}

template <typename T>
EntrySource<T> SourceOf(const std::vector<T>& list) {
  return SourceOf(list, [](const T&) { return true; });
}

}  // namespace

EventLists ListsOf(const RunReport& report) {
  return EventLists{
      .timeline = SourceOf(report.timeline),
      .key_moments = SourceOf(report.timeline, [](const TimelineEntry& e) { return e.key; }),
      .decisions = SourceOf(report.decisions),
      .errors = SourceOf(report.errors),
      .notes = SourceOf(report.notes),
      .triage = SourceOf(report.triage),
      .interruptions = SourceOf(report.interruptions),
      .preflight = SourceOf(report.preflight),
      .logs = SourceOf(report.logs)};
}

namespace {

// A list made again by a pass over the run: `take(entry, builder, visit)` visits what the
// builder's last Add() (entry: its timeline entry) or EndOfEvents() (entry: nullopt) finished
// of it.
template <typename T, typename Take>
EntrySource<T> Remade(const std::string& run_id, const sm::RunState& state,
                      const plan::Plan& plan, const RunPass& pass, std::size_t entries,
                      Take take) {
  return EntrySource<T>{
      .entries = entries,
      .scan = [run_id, &state, &plan, pass, entries, take](
                  const typename EntrySource<T>::Visitor& visit,
                  const EntryWanted& wanted) -> Status {
        if (entries == 0) return Status::Ok();
        std::size_t next = 0;
        const typename EntrySource<T>::Visitor visit_wanted = [&](const T& made) {
          return Wanted(wanted, &next) ? visit(made) : Status::Ok();
        };
        ReportBuilder builder(run_id, state, plan, ReportBuilder::Lists::kHandOver);
        BACKOUT_RETURN_IF_ERROR(pass([&](const journal::Record& r, const sm::Event& e) {
          const TimelineEntry& entry = builder.Add(r, e);
          return take(&entry, builder, visit_wanted);
        }));
        builder.EndOfEvents();
        return take(nullptr, builder, visit_wanted);
      }};
}

// Remade() of the list `list` of the report.
template <typename T>
EntrySource<T> Remade(const std::string& run_id, const sm::RunState& state,
                      const plan::Plan& plan, const RunPass& pass, std::size_t entries,
                      std::vector<T> RunReport::*list) {
  return Remade<T>(run_id, state, plan, pass, entries,
                   [list](const TimelineEntry*, const ReportBuilder& builder,
                          const typename EntrySource<T>::Visitor& visit) -> Status {
                     for (const T& entry : builder.made().*list) {
                       BACKOUT_RETURN_IF_ERROR(visit(entry));
                     }
                     return Status::Ok();
                   });
}

// Remade() of the timeline, or (`key_only`) of its key moments.
TimelineSource RemadeTimeline(const std::string& run_id, const sm::RunState& state,
                              const plan::Plan& plan, const RunPass& pass, std::size_t entries,
                              bool key_only) {
  return Remade<TimelineEntry>(
      run_id, state, plan, pass, entries,
      [key_only](const TimelineEntry* entry, const ReportBuilder&, const TimelineVisitor& visit) {
        if (entry == nullptr || (key_only && !entry->key)) return Status::Ok();
        return visit(*entry);
      });
}

}  // namespace

EventLists ListsFromPasses(const std::string& run_id, const sm::RunState& state,
                           const plan::Plan& plan, const EventListSizes& sizes, RunPass pass) {
  const auto list = [&]<typename T>(std::size_t entries, std::vector<T> RunReport::*member) {
    return Remade(run_id, state, plan, pass, entries, member);
  };
  return EventLists{
      .timeline = RemadeTimeline(run_id, state, plan, pass, sizes.timeline, false),
      .key_moments = RemadeTimeline(run_id, state, plan, pass, sizes.key_moments, true),
      .decisions = list(sizes.decisions, &RunReport::decisions),
      .errors = list(sizes.errors, &RunReport::errors),
      .notes = list(sizes.notes, &RunReport::notes),
      .triage = list(sizes.triage, &RunReport::triage),
      .interruptions = list(sizes.interruptions, &RunReport::interruptions),
      .preflight = list(sizes.preflight, &RunReport::preflight),
      .logs = list(sizes.logs, &RunReport::logs)};
}

Status WriteReport(const RunReport& report, const EventLists& lists, std::string_view format,
                   const OutputSink& out) {
  if (format == "md") return WriteMarkdown(report, lists, out);
  if (format == "html") return WriteHtml(report, lists, out);
  if (format == "json") return WriteJson(report, lists, out);
  return Status::InvalidArgument(
      fmt::format("unknown report format '{}' (expected md, html or json)", format));
}

Result<std::string> Render(const RunReport& report, std::string_view format) {
  std::string text;
  BACKOUT_RETURN_IF_ERROR(
      WriteReport(report, ListsOf(report), format, [&text](std::string_view bytes) {
        text.append(bytes);
        return Status::Ok();
      }));
  return text;
}

// The formats are known: neither can fail.
std::string RenderMarkdown(const RunReport& report) { return *Render(report, "md"); }
std::string RenderHtml(const RunReport& report) { return *Render(report, "html"); }

}  // namespace backout::report
