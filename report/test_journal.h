// Hand-built journals for the report's tests: events stamped with the times a test chooses,
// folded as the CLI folds them, with records carrying a hash chain-like head. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/sha256.h"
#include "plan/parser.h"
#include "plan/test_vocabulary.h"
#include "report/report.h"
#include "statemachine/state.h"

namespace backout::report::testing {

inline constexpr std::int64_t kT0 = 1'800'000'000'000'000;  // 2027-01-15 08:00:00 UTC
constexpr std::int64_t Seconds(std::int64_t s) { return s * 1'000'000; }

// Six steps: stop-app (downtime: start, planned 30s, has a check), backup (planned 1m),
// confirm (approval), drop, verify, start-app (downtime: end, always).
inline const std::string kPlanYaml = R"(version: 1
name: test-rollback
description: Undo the test migration
incident: INC-7
targets:
  db: { type: sqlite, path: app.db }
  ops: { type: command, cwd: . }
steps:
  - id: stop-app
    title: Stop the app
    command: { target: ops, argv: [stop] }
    check: { command: { target: ops, argv: [is-stopped] } }
    downtime: start
    planned: 30s
  - id: backup
    backup: { target: db, to: backups/ }
    planned: 1m
  - id: confirm
    approval: { prompt: "Go?", phrase: GO }
  - id: drop
    sql: { target: db, script: "DROP TABLE media;" }
  - id: verify
    verify: { target: db, checks: [ { table_absent: media } ] }
  - id: start-app
    command: { target: ops, argv: [start] }
    always: true
    downtime: end
)";

inline std::string PlanWithoutDowntime() {
  std::string text = kPlanYaml;
  for (const std::string marker : {"    downtime: start\n", "    downtime: end\n"}) {
    text.erase(text.find(marker), marker.size());
  }
  return text;
}

// Like HasSubstr, but a failure shows only the missing part, not a whole page.
inline ::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "missing: " << part;
}
inline ::testing::AssertionResult Lacks(const std::string& text, const std::string& part) {
  if (text.find(part) == std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "unexpected: " << part;
}

class TestJournal {
 public:
  explicit TestJournal(const std::string& plan_yaml = kPlanYaml) {
    plan::ParseOutcome parsed = plan::ParsePlan(plan_yaml, "test.yaml", plan::DefaultVocabularyForTests());
    if (!parsed.ok()) {
      ADD_FAILURE() << "test plan: " << parsed.diagnostics.front().ToString();
      return;
    }
    plan_ = std::move(*parsed.plan);
  }

  // Seconds since kT0 for the events added next.
  TestJournal& At(std::int64_t seconds) {
    now_us_ = kT0 + Seconds(seconds);
    return *this;
  }

  // The OS user that appends the events added next (unknown until set: records of format
  // version 1, as journals before OS users were recorded hold).
  TestJournal& AppendedBy(OsUser os_user) {
    os_user_ = std::move(os_user);
    return *this;
  }

  void Add(sm::EventBody body, const std::string& operator_name = "alice") {
    os_users_.push_back(os_user_);
    events_.push_back(sm::Event{.seq = events_.size() + 1,
                                .time_us = now_us_,
                                .operator_name = operator_name,
                                .host = "ops-1",
                                .body = std::move(body)});
  }

  void StartRun(std::int64_t seconds, bool rehearsal = false) {
    sm::RunStarted started{.plan_name = plan_.name,
                           .plan_file = "/plans/test.yaml",
                           .plan_text = plan_.text,
                           .plan_sha256 = plan_.sha256,
                           .incident = plan_.incident,
                           .rehearsal = rehearsal};
    for (const plan::Step& s : plan_.steps) started.step_ids.push_back(s.id);
    At(seconds).Add(started);
  }

  // stop-app and backup from +10s, confirm requested and paused at +30s, approved by carol
  // at +90s, resumed by carol at +91s.
  void RunUpToDrop() {
    At(10).Add(sm::StepStarted{"stop-app", 1});
    At(15).Add(sm::StepSucceeded{"stop-app", 1});
    At(16).Add(sm::StepStarted{"backup", 1});
    At(18).Add(
        sm::StepSucceeded{"backup", 1, {{"path", "/b/1.db"}, {"bytes", 10}, {"sha256", "ab"}}});
    At(30).Add(sm::ApprovalRequested{"confirm", "Go?"});
    At(30).Add(sm::RunPaused{sm::RunPaused::Reason::kApproval, "confirm"});
    At(90).Add(sm::ApprovalGranted{"confirm", "GO", sm::ApprovalGranted::Via::kApproveCommand},
               "carol");
    At(91).Add(sm::RunResumed{sm::RunResumed::PlanFileNote::kUnchanged}, "carol");
  }

  // backup, confirm (given up front), drop and verify, from `seconds` on, one second apart.
  void RunMiddleSteps(std::int64_t seconds) {
    At(seconds).Add(sm::StepStarted{"backup", 1});
    At(seconds + 1).Add(sm::StepSucceeded{"backup", 1});
    At(seconds + 2).Add(
        sm::ApprovalGranted{"confirm", "GO", sm::ApprovalGranted::Via::kApproveFlag});
    At(seconds + 3).Add(sm::StepStarted{"drop", 1});
    At(seconds + 4).Add(sm::StepSucceeded{"drop", 1});
    At(seconds + 5).Add(sm::StepStarted{"verify", 1});
    At(seconds + 6).Add(sm::StepSucceeded{"verify", 1});
  }

  RunReport Build(bool chain_verified = true) {
    Result<sm::RunState> state = sm::Fold(events_);
    if (!state.ok()) {
      ADD_FAILURE() << "the test journal does not fold: " << state.status().ToString();
      return RunReport{};
    }
    records_.clear();
    for (std::size_t i = 0; i < events_.size(); ++i) {
      const sm::Event& e = events_[i];
      const std::string payload = sm::EncodePayload(e.body).dump();
      records_.push_back(journal::Record{.run_id = "run-1",
                                         .seq = e.seq,
                                         .time_us = e.time_us,
                                         .type = std::string(sm::TypeName(e.body)),
                                         .operator_name = e.operator_name,
                                         .host = e.host,
                                         .os_uid = os_users_[i].uid,
                                         .os_user = os_users_[i].name,
                                         .payload = payload,
                                         .chain_mode = chain_mode_,
                                         .hash = Sha256(std::to_string(e.seq) + payload)});
    }
    return BuildReport("run-1", records_, events_, *state, plan_, chain_verified);
  }

  // The chain mode of the records Build() makes (sha256 unless set).
  void SetChainMode(journal::ChainMode mode) { chain_mode_ = mode; }

  const std::vector<journal::Record>& records() const { return records_; }  // as of Build()
  const std::vector<sm::Event>& events() const { return events_; }
  const plan::Plan& plan() const { return plan_; }

  static const StepReport& StepOf(const RunReport& r, const std::string& id) {
    for (const StepReport& s : r.steps) {
      if (s.id == id) return s;
    }
    ADD_FAILURE() << "no step " << id;
    static const StepReport kNone;
    return kNone;
  }

  // The text of the first timeline entry of `type` about `step`.
  static std::string TimelineTextOf(const RunReport& r, const std::string& type,
                                    const std::string& step) {
    for (const TimelineEntry& e : r.timeline) {
      if (e.type == type && e.step == step) return e.text;
    }
    return "<no " + type + " about '" + step + "'>";
  }

 private:
  plan::Plan plan_;
  std::int64_t now_us_ = kT0;
  std::vector<sm::Event> events_;
  OsUser os_user_;
  std::vector<OsUser> os_users_;  // of each event
  std::vector<journal::Record> records_;
  journal::ChainMode chain_mode_ = journal::ChainMode::kSha256;
};

}  // namespace backout::report::testing
