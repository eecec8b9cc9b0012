// A report written as it is produced (WriteReport), as `backout report` writes it when it
// cannot spool the lists that grow with events (cli/report_spool.h): a first pass that keeps
// none of those lists (ReportBuilder::Lists::kHandOver), then each list made again by a pass
// of its own (ListsFromPasses) when its section comes. The spooled path is tested end to end
// in tests/report_test.cc, against this one.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>

#include "report/piece_writer.h"
#include "report/render.h"
#include "report/test_journal.h"

namespace backout::report {
namespace {

using testing::TestJournal;

// A run with a pause, a crash, notes, triage and a failure: timeline entries whose text
// depends on what came before them, and an entry in every list but preflight and logs.
TestJournal EventfulJournal() {
  TestJournal j;
  j.StartRun(0);
  j.RunUpToDrop();
  j.At(92).Add(sm::NoteAdded{"looks | fine <b>"}, "erin");
  j.At(93).Add(sm::TriageRecorded{"INC-1", "sev2", "rollback_now", "customers see 500s"}, "erin");
  j.At(95).Add(sm::StepStarted{"drop", 1}, "carol");
  j.At(120).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "dave");
  j.At(121).Add(sm::StepInDoubt{"drop", 1}, "dave");
  j.At(122).Add(sm::StepChecked{"drop", sm::StepChecked::Finding::kAbsent, "table still there"},
                "dave");
  j.At(123).Add(sm::StepStarted{"drop", 2}, "dave");
  j.At(124).Add(sm::StepFailed{"drop", 2, "permission denied"}, "dave");
  j.At(125).Add(sm::NoteAdded{"second note"}, "erin");
  j.At(126).Add(sm::RunFinished{sm::RunFinished::Ending::kFailed}, "dave");
  return j;
}

// A run whose last event leaves a pause standing, after a note.
TestJournal EndsPausedJournal() {
  TestJournal j;
  j.StartRun(0);
  j.At(10).Add(sm::StepStarted{"stop-app", 1});
  j.At(15).Add(sm::StepSucceeded{"stop-app", 1});
  j.At(16).Add(sm::StepStarted{"backup", 1});
  j.At(18).Add(sm::StepSucceeded{"backup", 1});
  j.At(30).Add(sm::ApprovalRequested{"confirm", "Go?"});
  j.At(30).Add(sm::RunPaused{sm::RunPaused::Reason::kApproval, "confirm"});
  j.At(40).Add(sm::NoteAdded{"waiting for the DBA"}, "erin");
  return j;
}

// A run whose last events are a resume after a crash and the step it found in doubt: the
// interruption is finished only by the end of the events.
TestJournal EndsInDoubtJournal() {
  TestJournal j;
  j.StartRun(0);
  j.RunUpToDrop();
  j.At(95).Add(sm::StepStarted{"drop", 1}, "carol");
  j.At(120).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "dave");
  j.At(121).Add(sm::StepInDoubt{"drop", 1}, "dave");
  return j;
}

// `j`'s run as `backout report` reads it: summed up by a first pass, its lists made again by
// passes of their own. `passes` counts the passes made, `visited` the records each visited.
struct PassedRun {
  RunReport summary;
  EventListSizes sizes;
  sm::RunState state;
};

PassedRun FirstPass(const TestJournal& j,
                    ReportBuilder::Lists keep = ReportBuilder::Lists::kHandOver) {
  Result<sm::RunState> state = sm::Fold(j.events());
  EXPECT_TRUE(state.ok());
  ReportBuilder first("run-1", *state, j.plan(), keep);
  for (std::size_t i = 0; i < j.events().size(); ++i) first.Add(j.records()[i], j.events()[i]);
  first.EndOfEvents();
  const EventListSizes sizes = first.sizes();
  return PassedRun{.summary = first.Finish(*state, j.plan(), true), .sizes = sizes, .state = *state};
}

struct PassCounts {
  std::size_t passes = 0;
  std::size_t visited = 0;      // records visited by every pass
  bool in_pass = false;
};

EventLists PassedLists(const TestJournal& j, const PassedRun& run, PassCounts* counts) {
  return ListsFromPasses(run.summary.run_id, run.state, j.plan(), run.sizes,
                         [&j, counts](const RunVisitor& visit) {
                           ++counts->passes;
                           counts->in_pass = true;
                           for (std::size_t i = 0; i < j.events().size(); ++i) {
                             ++counts->visited;
                             const Status s = visit(j.records()[i], j.events()[i]);
                             if (!s.ok()) {
                               counts->in_pass = false;
                               return s;
                             }
                           }
                           counts->in_pass = false;
                           return Status::Ok();
                         });
}

TEST(WriteReport, PassesGiveTheBytesOfTheWholeReport) {
  for (TestJournal j : {EventfulJournal(), EndsPausedJournal(), EndsInDoubtJournal()}) {
    const RunReport whole = j.Build();
    const PassedRun run = FirstPass(j);
    EXPECT_TRUE(run.summary.timeline.empty());
    EXPECT_TRUE(run.summary.notes.empty());
    EXPECT_TRUE(run.summary.interruptions.empty());
    EXPECT_EQ(run.sizes.timeline, whole.timeline.size());
    EXPECT_EQ(run.sizes.notes, whole.notes.size());
    EXPECT_EQ(run.sizes.interruptions, whole.interruptions.size());
    EXPECT_EQ(run.sizes.decisions, whole.decisions.size());
    for (const std::string_view format : {"md", "html", "json"}) {
      PassCounts counts;
      std::string streamed;
      const Status written = WriteReport(run.summary, PassedLists(j, run, &counts), format,
                                         [&streamed](std::string_view bytes) {
                                           streamed.append(bytes);
                                           return Status::Ok();
                                         });
      ASSERT_TRUE(written.ok()) << written.ToString();
      EXPECT_EQ(streamed, *Render(whole, format)) << format;
      EXPECT_GT(counts.passes, 0u);
    }
  }
}

TEST(WriteReport, AListWithoutEntriesTakesNoPass) {
  TestJournal j;
  j.StartRun(0);
  j.Build();
  const PassedRun run = FirstPass(j);
  PassCounts counts;
  ASSERT_TRUE(WriteReport(run.summary, PassedLists(j, run, &counts), "md",
                          [](std::string_view) { return Status::Ok(); })
                  .ok());
  // The timeline and its key moment (RunStarted); no notes, decisions, errors, ...
  EXPECT_EQ(counts.passes, 2u);
}

// A run of `notes` notes, then paused by a signal.
TestJournal PausedRunOfNotes(int notes) {
  TestJournal j;
  j.StartRun(0);
  for (int i = 0; i < notes; ++i) j.At(1 + i).Add(sm::NoteAdded{fmt::format("note {}", i)});
  j.At(notes + 1).Add(sm::RunPaused{sm::RunPaused::Reason::kSignal, ""});
  return j;
}

// The entries of a long list are written while their pass goes on, gathered in pieces of
// 64 KiB (report/write_forms.h) rather than held until the end or written one call each.
TEST(WriteReport, WritesTheEntriesInPiecesWhileTheirPassGoesOn) {
  TestJournal j = PausedRunOfNotes(4000);
  const RunReport whole = j.Build();
  const PassedRun run = FirstPass(j);
  for (const std::string_view format : {"md", "html", "json"}) {
    PassCounts counts;
    std::size_t writes_in_passes = 0;
    std::size_t writes_before_passes = 0;
    std::size_t largest_write = 0;
    std::string streamed;
    const Status written =
        WriteReport(run.summary, PassedLists(j, run, &counts), format, [&](std::string_view bytes) {
          if (counts.in_pass) ++writes_in_passes;
          if (counts.passes == 0) ++writes_before_passes;
          largest_write = std::max(largest_write, bytes.size());
          streamed.append(bytes);
          return Status::Ok();
        });
    ASSERT_TRUE(written.ok()) << written.ToString();
    EXPECT_EQ(streamed, *Render(whole, format)) << format;
    EXPECT_GT(writes_before_passes, 0u) << format << ": the head waits for no pass";
    // The timeline and the notes (about 0.5 MB in every form) go out in several pieces each
    // during their passes, none much over 64 KiB.
    EXPECT_GE(writes_in_passes, streamed.size() / (std::size_t{64} << 10) / 2) << format;
    EXPECT_GT(writes_in_passes, 4u) << format;
    EXPECT_LE(largest_write, std::size_t{65} << 10) << format;
  }
}

// Lists held in memory (ListsOf) allow two scans at once, so their long ones are formatted on
// two threads (report/piece_writer.h); lists made again by passes are not: the bytes are the
// same, the facts streamed amid others (the key moments) among them.
TEST(WriteReport, ListsFormattedOnTwoThreadsGiveTheBytesOfOne) {
  const int notes = static_cast<int>(PieceWriter::kTwoThreadsFrom + PieceWriter::kChunkItems / 2);
  TestJournal j = PausedRunOfNotes(notes);
  j.At(notes + 2).Add(sm::TriageRecorded{"INC-1", "sev2", "monitor", ""}, "erin");
  j.At(notes + 3).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged});
  const RunReport whole = j.Build();
  ASSERT_TRUE(ListsOf(whole).timeline.concurrent_scans);
  ASSERT_GE(whole.notes.size(), PieceWriter::kTwoThreadsFrom);
  const PassedRun run = FirstPass(j);
  PassCounts counts;
  const EventLists passed = PassedLists(j, run, &counts);
  ASSERT_FALSE(passed.timeline.concurrent_scans);
  for (const std::string_view format : {"md", "html", "json"}) {
    std::string streamed;
    const Status written = WriteReport(run.summary, passed, format, [&](std::string_view b) {
      streamed.append(b);
      return Status::Ok();
    });
    ASSERT_TRUE(written.ok()) << written.ToString();
    const Result<std::string> rendered = Render(whole, format);
    ASSERT_TRUE(rendered.ok());
    EXPECT_TRUE(*rendered == streamed) << format;
    EXPECT_NE(rendered->find(fmt::format("note {}", notes - 1)), std::string::npos) << format;
  }
}

TEST(ReportBuilder, HandingOverHoldsWhatOneEventMakesWhateverTheNotes) {
  constexpr int kNotes = 5000;
  TestJournal j = PausedRunOfNotes(kNotes);
  j.At(kNotes + 2).Add(sm::TriageRecorded{"INC-1", "sev2", "monitor", ""}, "erin");
  j.At(kNotes + 3).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged});
  j.Build();
  const Result<sm::RunState> state = sm::Fold(j.events());
  ASSERT_TRUE(state.ok());
  for (const ReportBuilder::Lists keep :
       {ReportBuilder::Lists::kHandOver, ReportBuilder::Lists::kHold}) {
    ReportBuilder builder("run-1", *state, j.plan(), keep);
    std::size_t most_held = 0;
    for (std::size_t i = 0; i < j.events().size(); ++i) {
      builder.Add(j.records()[i], j.events()[i]);
      most_held = std::max(most_held, builder.held_entries());
    }
    builder.EndOfEvents();
    most_held = std::max(most_held, builder.held_entries());
    const EventListSizes sizes = builder.sizes();
    EXPECT_EQ(sizes.notes, static_cast<std::size_t>(kNotes));
    EXPECT_EQ(sizes.key_moments, kNotes + 4u);  // RunStarted, the notes, pause, triage, resume
    EXPECT_EQ(sizes.interruptions, 1u);
    EXPECT_EQ(sizes.timeline, j.events().size());
    if (keep == ReportBuilder::Lists::kHandOver) {
      EXPECT_LE(most_held, 1u);  // a note, a triage or the finished pause: never two
      const RunReport summary = builder.Finish(*state, j.plan(), true);
      EXPECT_TRUE(summary.notes.empty());
      EXPECT_GT(summary.summary.stood_still_ms, 0);
    } else {
      EXPECT_EQ(most_held, j.events().size() + kNotes + 2u);  // every list whole
    }
  }
}

TEST(WriteReport, AScanErrorStopsTheOutputAndIsReturned) {
  TestJournal j = EventfulJournal();
  j.Build();
  const PassedRun run = FirstPass(j);
  PassCounts counts;
  EventLists lists = PassedLists(j, run, &counts);
  lists.timeline.scan = [](const TimelineVisitor&, const EntryWanted&) {
    return Status::Corruption("event #3: damaged");
  };
  for (const std::string_view format : {"md", "html", "json"}) {
    std::string streamed;
    const Status written = WriteReport(run.summary, lists, format, [&](std::string_view b) {
      streamed.append(b);
      return Status::Ok();
    });
    EXPECT_EQ(written.code(), Code::kCorruption) << format;
    EXPECT_EQ(streamed.find("</html>"), std::string::npos);
    EXPECT_EQ(streamed.find("Integrity"), std::string::npos) << format;
  }
}

}  // namespace
}  // namespace backout::report
