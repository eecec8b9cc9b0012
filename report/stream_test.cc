// A report written as it is produced (WriteReport), as `backout report` writes it: a first
// pass that keeps the key moments only, and the timeline made again by a second pass.
#include <gtest/gtest.h>

#include "report/render.h"
#include "report/test_journal.h"

namespace backout::report {
namespace {

using testing::TestJournal;

// A run with a pause, a crash, a note and a failure: timeline entries whose text depends on
// what came before them.
TestJournal EventfulJournal() {
  TestJournal j;
  j.StartRun(0);
  j.RunUpToDrop();
  j.At(92).Add(sm::NoteAdded{"looks | fine <b>"}, "erin");
  j.At(95).Add(sm::StepStarted{"drop", 1}, "carol");
  j.At(120).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "dave");
  j.At(121).Add(sm::StepInDoubt{"drop", 1}, "dave");
  j.At(122).Add(sm::StepChecked{"drop", sm::StepChecked::Finding::kAbsent, "table still there"},
                "dave");
  j.At(123).Add(sm::StepStarted{"drop", 2}, "dave");
  j.At(124).Add(sm::StepFailed{"drop", 2, "permission denied"}, "dave");
  j.At(125).Add(sm::RunFinished{sm::RunFinished::Ending::kFailed}, "dave");
  return j;
}

// The two passes over `j`'s (built) records: the summary of the first, and the second.
struct TwoPasses {
  RunReport summary;
  sm::RunState state;
};

TwoPasses FirstPass(const TestJournal& j) {
  Result<sm::RunState> state = sm::Fold(j.events());
  EXPECT_TRUE(state.ok());
  ReportBuilder first("run-1", *state, j.plan(), ReportBuilder::Timeline::kKeyMoments);
  for (std::size_t i = 0; i < j.events().size(); ++i) first.Add(j.records()[i], j.events()[i]);
  return TwoPasses{.summary = first.Finish(*state, j.plan(), true), .state = *state};
}

// The second pass; `visited` counts the entries it has made.
TimelineSource SecondPass(const TestJournal& j, const TwoPasses& first, std::size_t* visited) {
  return TimelineSource{
      .entries = first.summary.integrity.events,
      .scan = [&j, &first, visited](const TimelineVisitor& visit) {
        ReportBuilder second("run-1", first.state, j.plan(), ReportBuilder::Timeline::kKeyMoments);
        for (std::size_t i = 0; i < j.events().size(); ++i) {
          ++*visited;
          BACKOUT_RETURN_IF_ERROR(visit(second.Add(j.records()[i], j.events()[i])));
        }
        return Status::Ok();
      }};
}

TEST(WriteReport, TwoPassesGiveTheBytesOfTheWholeReport) {
  TestJournal j = EventfulJournal();
  const RunReport whole = j.Build();
  const TwoPasses first = FirstPass(j);
  EXPECT_LT(first.summary.timeline.size(), whole.timeline.size());  // key moments only
  for (const std::string_view format : {"md", "html", "json"}) {
    std::size_t visited = 0;
    std::string streamed;
    const Status written =
        WriteReport(first.summary, SecondPass(j, first, &visited), format,
                    [&streamed](std::string_view bytes) {
                      streamed.append(bytes);
                      return Status::Ok();
                    });
    ASSERT_TRUE(written.ok()) << written.ToString();
    EXPECT_EQ(streamed, *Render(whole, format)) << format;
    EXPECT_EQ(visited, whole.timeline.size());
  }
}

TEST(WriteReport, WritesEachEntryBeforeTheScanMakesTheNext) {
  TestJournal j = EventfulJournal();
  j.Build();
  const TwoPasses first = FirstPass(j);
  for (const std::string_view format : {"md", "html", "json"}) {
    std::size_t visited = 0;
    std::vector<std::size_t> visited_at_write;  // how far the scan was at each write
    const Status written = WriteReport(first.summary, SecondPass(j, first, &visited), format,
                                       [&](std::string_view) {
                                         visited_at_write.push_back(visited);
                                         return Status::Ok();
                                       });
    ASSERT_TRUE(written.ok()) << written.ToString();
    ASSERT_FALSE(visited_at_write.empty());
    EXPECT_EQ(visited_at_write.front(), 0u) << format << ": the head waits for no entry";
    // Every entry is written as soon as it is made: one write at each count of entries.
    for (std::size_t n = 1; n <= first.summary.integrity.events; ++n) {
      EXPECT_NE(std::find(visited_at_write.begin(), visited_at_write.end(), n),
                visited_at_write.end())
          << format << ": nothing written once entry " << n << " was made";
    }
  }
}

TEST(WriteReport, AScanErrorStopsTheOutputAndIsReturned) {
  TestJournal j = EventfulJournal();
  j.Build();
  const TwoPasses first = FirstPass(j);
  const TimelineSource broken{.entries = first.summary.integrity.events,
                              .scan = [](const TimelineVisitor&) {
                                return Status::Corruption("event #3: damaged");
                              }};
  std::string streamed;
  const Status written = WriteReport(first.summary, broken, "html", [&](std::string_view b) {
    streamed.append(b);
    return Status::Ok();
  });
  EXPECT_EQ(written.code(), Code::kCorruption);
  EXPECT_EQ(streamed.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace backout::report
