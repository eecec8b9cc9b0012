#include "cli/report_spool.h"

#include <type_traits>
#include <vector>

#include "report/entry_codec.h"

namespace backout::cli {
namespace {

Status KeepEntry(const auto& entry, std::string* encoded, RecordSpool& spool) {
  encoded->clear();
  report::EncodeEntry(entry, encoded);
  return spool.Append(*encoded);
}

template <typename T>
Status KeepAll(const std::vector<T>& entries, std::string* encoded, RecordSpool& spool) {
  for (const T& entry : entries) BACKOUT_RETURN_IF_ERROR(KeepEntry(entry, encoded, spool));
  return Status::Ok();
}

// The entries of `spool` that `keep` accepts (every one for nullptr), decoded one at a time;
// with every one kept, an entry not wanted is not decoded.
template <typename T, typename Keep>
report::EntrySource<T> SourceOf(const RecordSpool& spool, std::size_t entries, Keep keep) {
  return report::EntrySource<T>{
      .entries = entries,
      .scan =
          [&spool, keep](const typename report::EntrySource<T>::Visitor& visit,
                         const report::EntryWanted& wanted) {
            T entry;
            std::size_t next = 0;
            return spool.ReadRecords([&](std::string_view bytes) -> Status {
              if constexpr (std::is_null_pointer_v<Keep>) {
                if (!report::Wanted(wanted, &next)) return Status::Ok();
                BACKOUT_RETURN_IF_ERROR(report::DecodeEntry(bytes, &entry));
                return visit(entry);
              } else {
                BACKOUT_RETURN_IF_ERROR(report::DecodeEntry(bytes, &entry));
                return keep(entry) && report::Wanted(wanted, &next) ? visit(entry)
                                                                    : Status::Ok();
              }
            });
          },
      .concurrent_scans = true};  // (RecordSpool::ReadRecords may run on two threads at once)
}

template <typename T>
report::EntrySource<T> SourceOf(const RecordSpool& spool) {
  return SourceOf<T>(spool, static_cast<std::size_t>(spool.records()), nullptr);
}

}  // namespace

Status ReportSpool::Keep(const report::TimelineEntry* entry, const report::RunReport& made) {
  if (entry != nullptr) {
    BACKOUT_RETURN_IF_ERROR(KeepEntry(*entry, &encoded_, timeline_));
    if (entry->key) ++key_moments_;
  }
  BACKOUT_RETURN_IF_ERROR(KeepAll(made.decisions, &encoded_, decisions_));
  BACKOUT_RETURN_IF_ERROR(KeepAll(made.errors, &encoded_, errors_));
  BACKOUT_RETURN_IF_ERROR(KeepAll(made.notes, &encoded_, notes_));
  BACKOUT_RETURN_IF_ERROR(KeepAll(made.triage, &encoded_, triage_));
  BACKOUT_RETURN_IF_ERROR(KeepAll(made.interruptions, &encoded_, interruptions_));
  BACKOUT_RETURN_IF_ERROR(KeepAll(made.preflight, &encoded_, preflight_));
  return KeepAll(made.logs, &encoded_, logs_);
}

report::EventLists ReportSpool::Lists() const {
  return report::EventLists{
      .timeline = SourceOf<report::TimelineEntry>(timeline_),
      .key_moments = SourceOf<report::TimelineEntry>(
          timeline_, key_moments_, [](const report::TimelineEntry& e) { return e.key; }),
      .decisions = SourceOf<report::Decision>(decisions_),
      .errors = SourceOf<report::StepError>(errors_),
      .notes = SourceOf<report::Note>(notes_),
      .triage = SourceOf<report::Triage>(triage_),
      .interruptions = SourceOf<report::Interruption>(interruptions_),
      .preflight = SourceOf<report::Preflight>(preflight_),
      .logs = SourceOf<report::StepLog>(logs_)};
}

}  // namespace backout::cli
