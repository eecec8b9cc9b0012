// Replay must catch a changed decision rule. This test links the state machine built a second
// time with BACKOUT_DECIDE_MUTANT, which changes one rule in statemachine/decide.cc (a failed
// step gets one attempt more than its `retry` allows), and replays the recorded fixtures
// under tests/fixtures/ with it. The run whose verify failed must diverge, naming the event
// where the real engine stopped retrying; the runs without a failure never reach the rule.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "journal/export.h"
#include "plan/parser.h"
#include "plan/test_vocabulary.h"
#include "statemachine/replay.h"
#include "tests/support/example.h"

#ifndef BACKOUT_DECIDE_MUTANT
#error "replay_mutant_test must be built against the mutant state machine"
#endif

namespace backout::testing {
namespace {
namespace fs = std::filesystem;

struct RecordedRun {
  std::vector<sm::Event> events;
  plan::Plan plan;
};

// The fixture's events and the plan journaled in its RunStarted. (history::DecodeEvents
// and PlanFromJournal do the same, but history/ links the real state machine.)
RecordedRun ReadFixture(const std::string& name) {
  const fs::path file = SourceDir() / "tests" / "fixtures" / (name + ".jsonl");
  Result<std::vector<journal::Record>> records = journal::ReadExportFile(file, {});
  if (!records.ok()) throw std::runtime_error(records.status().ToString());
  RecordedRun run;
  for (const journal::Record& r : *records) {
    Result<sm::EventBody> body = sm::DecodePayload(r.type, nlohmann::json::parse(r.payload));
    if (!body.ok()) throw std::runtime_error(body.status().ToString());
    run.events.push_back(sm::Event{.seq = r.seq, .body = std::move(body).value()});
  }
  const auto& started = std::get<sm::RunStarted>(run.events.front().body);
  plan::ParseOutcome parsed = plan::ParsePlan(started.plan_text, started.plan_file,
                                                plan::DefaultVocabularyForTests());
  if (!parsed.ok()) throw std::runtime_error("the journaled plan does not parse");
  run.plan = std::move(*parsed.plan);
  return run;
}

TEST(MutantReplay, NamesTheEventWhereTheRecordedRunStoppedRetrying) {
  const RecordedRun run = ReadFixture("failed-always");
  // Recorded: verify failed on attempts 1 and 2 (retry attempts: 2), then the next step was
  // skipped. The mutant would have started attempt 3 instead.
  const auto skipped = std::find_if(run.events.begin(), run.events.end(), [](const sm::Event& e) {
    return std::holds_alternative<sm::StepSkipped>(e.body);
  });
  ASSERT_NE(skipped, run.events.end());

  const Result<sm::ReplaySummary> outcome = sm::Replay(run.events, run.plan);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  ASSERT_TRUE(outcome->divergence.has_value()) << "the mutant rule went unnoticed";
  const sm::Divergence& d = *outcome->divergence;
  EXPECT_EQ(d.seq, skipped->seq);
  EXPECT_EQ(d.event_type, "StepSkipped");
  EXPECT_EQ(d.recorded,
            R"(StepSkipped {"reason":"an earlier step failed","step":"record-rollback"})");
  EXPECT_TRUE(d.derived.starts_with("StartStep verify attempt 3")) << d.derived;
}

class MutantReplayWithoutFailures : public ::testing::TestWithParam<std::string> {};

TEST_P(MutantReplayWithoutFailures, StaysGreen) {
  const RecordedRun run = ReadFixture(GetParam());
  const Result<sm::ReplaySummary> outcome = sm::Replay(run.events, run.plan);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_FALSE(outcome->divergence.has_value()) << outcome->divergence->recorded;
  EXPECT_GT(outcome->decisions_checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MutantReplayWithoutFailures,
                         ::testing::Values("crashed-resumed", "approved-by-another", "aborted",
                                           "in-doubt-resolved"),
                         [](const auto& p) {
                           std::string n = p.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace backout::testing
