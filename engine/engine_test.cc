// The engine alone: engine::Drive against fake adapters (testing/fake_adapter.h) in a
// Registry built here, a real journal in a temp dir and a fake clock (testing/fake_env.h).
// Each test reads given / when / then: the plan and what the adapters will answer, the
// drive, and what the journal (read back from disk) and the adapters saw.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "adapters/command/command_adapter.h"
#include "engine/plan_check.h"
#include "engine/session.h"
#include "history/run_history.h"
#include "journal/journal.h"
#include "journal/note_queue.h"
#include "plan/parser.h"
#include "statemachine/operator.h"
#include "testing/fake_adapter.h"
#include "testing/fake_env.h"
#include "testing/temp_dir.h"

namespace backout::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The run as the journal on disk holds it, every record and event.
Result<history::RunSnapshot> SnapshotOf(const journal::Journal& journal) {
  Result<std::vector<journal::Record>> records = journal.ReadRun("run-1");
  if (!records.ok()) return records.status();
  return history::SnapshotOfRecords(std::move(records).value());
}
using std::chrono::milliseconds;
using testing::FakeReply;

// A plan whose steps (YAML list items, indented two spaces) use one command target, `ops`.
std::string OpsPlan(std::string_view steps) {
  return "version: 1\nname: scripted\ntargets:\n  ops: { type: command, cwd: . }\nsteps:\n" +
         std::string(steps);
}

const std::string kPlan = OpsPlan(R"(
  - id: first
    command: { target: ops, argv: [first] }
  - id: second
    command: { target: ops, argv: ["${steps.first.outputs.path}"] }
)");

// A fake command adapter whose action also declares a `path` output, the one the plans
// here read from it (`${steps.first.outputs.path}`, which the parser checks is declared).
testing::FakeAdapter* AddCommandWithPathOutput(adapters::Registry& registry) {
  static const adapters::AdapterVocabulary kVocabulary = [] {
    adapters::AdapterVocabulary vocabulary = adapters::CommandVocabulary();
    vocabulary.actions.front().outputs.push_back({"path", adapters::kString});
    return vocabulary;
  }();
  auto adapter = std::make_unique<testing::FakeAdapter>(kVocabulary);
  testing::FakeAdapter* fake = adapter.get();
  registry.Add(std::move(adapter));
  return fake;
}

class EngineTest : public ::testing::Test {
 protected:
  // Given: run "run-1" of `plan_text` created in the journal, on the fake clock.
  void GivenRun(std::string_view plan_text) {
    plan::ParseOutcome parsed =
        plan::ParsePlan(std::string(plan_text), PlanFile(), PlanVocabulary(registry_));
    ASSERT_TRUE(parsed.ok());
    plan_ = *parsed.plan;
    Result<std::unique_ptr<RunSession>> session =
        RunSession::Create(journal_, "run-1", plan_, PlanFile(), Options());
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    session_ = std::move(session).value();
  }

  // When: the engine drives the run with the fake adapters and the test's cancel flag.
  Result<sm::RunStatus> WhenDriven(DriveOptions options = {}) {
    options.registry = &registry_;
    options.cancel = &cancel_;
    return engine::Drive(*session_, options);
  }

  // Creates the run and drives it; the ops adapter's `first` returns a path with a 0xFF byte,
  // or throws.
  Result<sm::RunStatus> Drive(bool throws) {
    ops_->On("first", throws ? FakeReply::Throw("scripted failure after the effect")
                             : FakeReply::Succeed({{"path", "bk-x\xFFy/a.db"}}));
    GivenRun(kPlan);
    return WhenDriven();
  }

  // The run as the journal on disk holds it.
  history::RunSnapshot Journaled() {
    Result<history::RunSnapshot> snap = SnapshotOf(journal_);
    EXPECT_TRUE(snap.ok()) << snap.status().ToString();
    return snap.ok() ? std::move(snap).value() : history::RunSnapshot{};
  }

  // The journaled events of type T, in order.
  template <typename T>
  std::vector<T> JournaledEvents() {
    std::vector<T> found;
    for (const sm::Event& event : Journaled().events) {
      if (const T* body = std::get_if<T>(&event.body)) found.push_back(*body);
    }
    return found;
  }

  std::string PlanFile() const { return (dir_ / "plan.yaml").string(); }
  SessionOptions Options() { return SessionOptions{.env = &env_, .who = {"tester", "host"}}; }

  const testing::TempDir tmp_;
  const fs::path dir_ = tmp_.path();
  const journal::Journal journal_{dir_ / "journal"};
  testing::FakeEnv env_;
  adapters::Registry registry_;
  testing::FakeAdapter* const ops_ = AddCommandWithPathOutput(registry_);
  testing::FakeAdapter* const db_ = testing::FakeAdapter::AddTo(registry_, "sqlite");
  std::atomic<bool> cancel_{false};
  plan::Plan plan_;
  std::unique_ptr<RunSession> session_;
};

// Notes queued while the session holds the run (journal/note_queue.h) are journaled by its
// next append, before its own events, in queue order, under their authors' names, once.
TEST_F(EngineTest, QueuedNotesGoFirstInTheNextAppendUnderTheirAuthorsOnce) {
  GivenRun(kPlan);
  for (const char* text : {"restore is slow", "DBA paged"}) {
    ASSERT_TRUE(journal::QueueNote(journal_, "run-1", {.operator_name = "bob", .host = "laptop",
                                                       .text = text})
                    .ok());
  }
  ASSERT_TRUE(session_->Append({sm::StepStarted{"first", 1}}).ok());
  const history::RunSnapshot snap = Journaled();
  ASSERT_EQ(snap.events.size(), 4u);
  EXPECT_EQ(std::get<sm::NoteAdded>(snap.events[1].body).text, "restore is slow");
  EXPECT_EQ(std::get<sm::NoteAdded>(snap.events[2].body).text, "DBA paged");
  EXPECT_EQ(snap.events[1].operator_name, "bob");
  EXPECT_EQ(snap.events[1].host, "laptop");
  EXPECT_EQ(snap.events[3].operator_name, "tester");
  EXPECT_TRUE(std::holds_alternative<sm::StepStarted>(snap.events[3].body));
  EXPECT_FALSE(fs::exists(journal_.NoteQueueDir("run-1")) &&
               !fs::is_empty(journal_.NoteQueueDir("run-1")));
  // Nothing queued: an empty append writes nothing.
  ASSERT_TRUE(session_->Append({}).ok());
  EXPECT_EQ(Journaled().events.size(), 4u);
}

TEST_F(EngineTest, OutputsThatAreNotUtf8AreJournaledMarkedAndTheNextStepGetsTheBytes) {
  const Result<sm::RunStatus> status = Drive(/*throws=*/false);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  // The outcome is journaled, marked, and the state holds what the journal holds.
  const sm::StepState* first = session_->state().FindStep("first");
  EXPECT_EQ(first->outputs["path"], "bk-x\xEF\xBF\xBD" "FFy/a.db");
  Result<history::RunSnapshot> snap = SnapshotOf(journal_);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->state.FindStep("first")->outputs, first->outputs);
  // The second step was given the original bytes.
  ASSERT_EQ(ops_->invocations().size(), 2u);
  EXPECT_EQ(ops_->invocations()[1].params["argv"][0], "bk-x\xFFy/a.db");
}

// history::ReadOutcomes (the catalog's and the captures' read of every run) keeps, of a run
// the engine journaled, RunStarted and the steps' outcomes as the whole read has them, and the
// state; a run it is told to pass over is left after its first record, whatever follows.
TEST_F(EngineTest, ReadOutcomesKeepsTheStartAndTheOutcomesOfTheWholeRead) {
  const Result<sm::RunStatus> status = Drive(/*throws=*/false);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  const Result<history::RunSnapshot> whole = SnapshotOf(journal_);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  std::vector<std::uint64_t> expected;
  for (const sm::Event& event : whole->events) {
    if (std::holds_alternative<sm::RunStarted>(event.body) ||
        std::holds_alternative<sm::StepSucceeded>(event.body) ||
        std::holds_alternative<sm::StepFailed>(event.body)) {
      expected.push_back(event.seq);
    }
  }
  ASSERT_EQ(expected.size(), 3u);  // RunStarted, first and second succeeded

  Result<std::optional<history::RunOutcomes>> read = history::ReadOutcomes(journal_, "run-1");
  ASSERT_TRUE(read.ok() && read->has_value()) << read.status().ToString();
  std::vector<std::uint64_t> kept;
  for (const sm::Event& event : (*read)->events) kept.push_back(event.seq);
  EXPECT_EQ(kept, expected);
  EXPECT_EQ(std::get<sm::StepSucceeded>((*read)->events[1].body).outputs,
            std::get<sm::StepSucceeded>(whole->events[expected[1] - 1].body).outputs);
  EXPECT_EQ((*read)->state.status, whole->state.status);
  EXPECT_EQ((*read)->state.last_seq, whole->state.last_seq);

  fs::remove(journal_.dir() / "run-1" / "head");
  int asked = 0;
  Result<std::optional<history::RunOutcomes>> passed = history::ReadOutcomes(
      journal_, "run-1", [&](const journal::Record& first) {
        ++asked;
        EXPECT_EQ(first.seq, 1u);
        return false;
      });
  ASSERT_TRUE(passed.ok()) << passed.status().ToString();
  EXPECT_FALSE(passed->has_value());
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(history::ReadOutcomes(journal_, "run-1").status().code(), Code::kCorruption);
}

TEST_F(EngineTest, AnAdapterThatThrowsLeavesTheStepInDoubtAndNothingEscapes) {
  Result<sm::RunStatus> status = sm::RunStatus::kRunning;
  EXPECT_NO_THROW(status = Drive(/*throws=*/true));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.status().message().find("step first is left in doubt"), std::string::npos)
      << status.status().ToString();
  EXPECT_NE(status.status().message().find("scripted failure after the effect"),
            std::string::npos);
  // StepStarted is durable and no outcome was made up: resume will treat it as in doubt.
  Result<history::RunSnapshot> snap = SnapshotOf(journal_);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->state.FindStep("first")->status, sm::StepStatus::kRunning);
  EXPECT_EQ(snap->state.FindStep("second")->status, sm::StepStatus::kPending);
}

constexpr char kSecretsPlan[] = R"(version: 1
name: secrets
targets:
  ops: { type: command, cwd: ., env: { TOKEN: "${API_TOKEN}" } }
steps:
  - id: deploy
    command: { target: ops, argv: [deploy] }
  - id: report
    command: { target: ops, argv: [report] }
)";

TEST_F(EngineTest, SecretsAreRedactedFromOutputsAndErrorsBeforeTheyAreJournaled) {
  // Given: a token from the environment in the target config, a secret the caller names,
  // and an adapter that echoes both in its outputs and in its error.
  env_.SetVar("API_TOKEN", "s3cr3t-token");
  ops_->On("deploy", FakeReply::Succeed({{"said", "used s3cr3t-token"}, {"key", "hunter2-key"}}));
  ops_->On("report", FakeReply::Fail(Status::Unavailable("refused s3cr3t-token and hunter2-key"),
                                     {{"echo", "hunter2-key"}}));
  GivenRun(kSecretsPlan);

  // When
  const Result<sm::RunStatus> status = WhenDriven({.secrets = {"hunter2-key"}});

  // Then: the adapter was given the real value; the journal holds neither secret.
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kFailed);
  ASSERT_EQ(ops_->invocations("deploy").size(), 1u);
  EXPECT_EQ(ops_->invocations("deploy")[0].target["env"]["TOKEN"], "s3cr3t-token");
  const std::vector<sm::StepSucceeded> succeeded = JournaledEvents<sm::StepSucceeded>();
  ASSERT_EQ(succeeded.size(), 1u);
  EXPECT_EQ(succeeded[0].outputs, json({{"said", "used ***"}, {"key", "***"}}));
  const std::vector<sm::StepFailed> failed = JournaledEvents<sm::StepFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].error, "refused *** and ***");
  EXPECT_EQ(failed[0].outputs, json({{"echo", "***"}}));
  for (const journal::Record& record : Journaled().records) {
    EXPECT_EQ(record.payload.find("s3cr3t-token"), std::string::npos) << record.payload;
    EXPECT_EQ(record.payload.find("hunter2-key"), std::string::npos) << record.payload;
  }
}

TEST_F(EngineTest, AnOutputTheStepDidNotProduceFailsTheStepNamingThoseItHas) {
  // `exit_code` is declared, so the plan is valid; this step produced only `path`.
  ops_->On("first", FakeReply::Succeed({{"path", "a.db"}}));
  GivenRun(OpsPlan(R"(
  - id: first
    command: { target: ops, argv: [first] }
  - id: second
    command: { target: ops, argv: ["${steps.first.outputs.exit_code}"] }
)"));

  const Result<sm::RunStatus> status = WhenDriven();

  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kFailed);
  const std::vector<sm::StepFailed> failed = JournaledEvents<sm::StepFailed>();
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].step, "second");
  EXPECT_NE(failed[0].error.find("step 'first' has no output 'exit_code'; it has: path"),
            std::string::npos)
      << failed[0].error;
  EXPECT_EQ(ops_->invocations("second").size(), 0u);
}

constexpr char kBaselinePlan[] = R"(version: 1
name: baseline
targets:
  appdb: { type: sqlite, path: app.db }
steps:
  - id: before
    baseline: { target: appdb, tables: [images] }
  - id: after
    verify:
      target: appdb
      checks:
        - row_count: { table: images, equals: baseline }
)";

TEST_F(EngineTest, TheBaselineOfAnEarlierStepIsPassedToTheVerifyStep) {
  // Given: a baseline step whose adapter records figures, then a verify of the same target.
  const json figures = {{"tables", {{"images", {{"rows", 3}, {"checksum", "ab12"}}}}}};
  db_->On("before", FakeReply::Succeed(figures));
  GivenRun(kBaselinePlan);

  // When
  const Result<sm::RunStatus> status = WhenDriven();

  // Then: the verify invocation carries the baseline's journaled outputs
  // (Invocation::baseline); the baseline step itself gets none, and no params key carries it.
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  ASSERT_EQ(db_->invocations("before").size(), 1u);
  EXPECT_FALSE(db_->invocations("before")[0].baseline.has_value());
  ASSERT_EQ(db_->invocations("after").size(), 1u);
  ASSERT_TRUE(db_->invocations("after")[0].baseline.has_value());
  EXPECT_EQ(*db_->invocations("after")[0].baseline, figures);
  EXPECT_FALSE(db_->invocations("after")[0].params.contains("$baseline"));
}

const std::string kApprovalPlan = OpsPlan(R"(
  - id: confirm
    approval: { prompt: "Drop the table?", phrase: GO-AHEAD }
  - id: drop
    command: { target: ops, argv: [drop] }
)");

TEST_F(EngineTest, AnApprovalGivenUpFrontIsJournaledAndTheRunGoesOn) {
  GivenRun(kApprovalPlan);

  const Result<sm::RunStatus> status = WhenDriven({.approvals = {{"confirm", "GO-AHEAD"}}});

  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  const std::vector<sm::ApprovalGranted> granted = JournaledEvents<sm::ApprovalGranted>();
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0].step, "confirm");
  EXPECT_EQ(granted[0].phrase, "GO-AHEAD");
  EXPECT_EQ(granted[0].via, sm::ApprovalGranted::Via::kApproveFlag);
  EXPECT_TRUE(JournaledEvents<sm::ApprovalRequested>().empty());
  EXPECT_EQ(ops_->invocations("drop").size(), 1u);
}

TEST_F(EngineTest, AWrongPhraseIsRefusedUpFrontAndOnTheTerminal) {
  GivenRun(kApprovalPlan);
  // Up front: refused before the run goes anywhere.
  const Status checked = sm::CheckApprovals(plan_, {{"confirm", "go ahead"}});
  EXPECT_EQ(checked.code(), Code::kInvalidArgument);
  EXPECT_NE(checked.message().find("not the confirmation phrase of step 'confirm'"),
            std::string::npos)
      << checked.ToString();

  // On a terminal: a wrong answer is refused, the right one approves.
  std::vector<std::string> answers = {"go ahead", "GO-AHEAD"};
  int asked = 0;
  const Result<sm::RunStatus> status = WhenDriven(
      {.ask = [&](const std::string& prompt) -> std::optional<std::string> {
        EXPECT_NE(prompt.find("Drop the table?"), std::string::npos) << prompt;
        return answers.at(static_cast<std::size_t>(asked++));
      }});

  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  EXPECT_EQ(asked, 2);
  const std::vector<sm::ApprovalGranted> granted = JournaledEvents<sm::ApprovalGranted>();
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0].via, sm::ApprovalGranted::Via::kPrompt);
  EXPECT_EQ(ops_->invocations("drop").size(), 1u);
}

TEST_F(EngineTest, OnlyWrongAnswersOnTheTerminalPauseTheRunBeforeTheNextStep) {
  GivenRun(kApprovalPlan);
  int asked = 0;

  const Result<sm::RunStatus> status = WhenDriven(
      {.ask = [&](const std::string&) -> std::optional<std::string> {
        ++asked;
        return "no";
      }});

  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kPaused);
  EXPECT_EQ(asked, 3);
  EXPECT_TRUE(JournaledEvents<sm::ApprovalGranted>().empty());
  EXPECT_TRUE(ops_->invocations().empty());
}

TEST_F(EngineTest, AnApprovalWithoutATerminalPausesTheRun) {
  GivenRun(kApprovalPlan);

  const Result<sm::RunStatus> status = WhenDriven();  // no approvals, no `ask`

  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kPaused);
  const history::RunSnapshot snap = Journaled();
  EXPECT_EQ(snap.state.FindStep("confirm")->status, sm::StepStatus::kAwaitingApproval);
  const std::vector<sm::ApprovalRequested> requested = JournaledEvents<sm::ApprovalRequested>();
  ASSERT_EQ(requested.size(), 1u);
  EXPECT_EQ(requested[0].prompt, "Drop the table?");
  const std::vector<sm::RunPaused> paused = JournaledEvents<sm::RunPaused>();
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].reason, sm::RunPaused::Reason::kApproval);
  EXPECT_EQ(paused[0].step, "confirm");
  EXPECT_TRUE(ops_->invocations().empty());
}

const std::string kLongPlan = OpsPlan(R"(
  - id: long
    command: { target: ops, argv: [sleep, "600"] }
  - id: later
    command: { target: ops, argv: ["true"] }
)");

TEST_F(EngineTest, ACancelledStepJournalsNoOutcomeAndIsInDoubtOnResume) {
  // Given: a step whose adapter works until the cancel flag is set (SIGINT).
  ops_->On("long", FakeReply::BlockUntilCancelled());
  GivenRun(kLongPlan);
  bool blocked = false;
  std::thread signal([&] {
    blocked = ops_->WaitUntilBlocked(milliseconds(30'000));
    cancel_ = true;  // set even when the wait failed, so the drive cannot hang
  });

  // When
  const Result<sm::RunStatus> status = WhenDriven();
  signal.join();

  // Then: paused by the signal, with StepStarted and no outcome for the step.
  EXPECT_TRUE(blocked);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kPaused);
  EXPECT_TRUE(JournaledEvents<sm::StepSucceeded>().empty());
  EXPECT_TRUE(JournaledEvents<sm::StepFailed>().empty());
  const std::vector<sm::RunPaused> paused = JournaledEvents<sm::RunPaused>();
  ASSERT_EQ(paused.size(), 1u);
  EXPECT_EQ(paused[0].reason, sm::RunPaused::Reason::kSignal);
  EXPECT_EQ(paused[0].step, "long");
  EXPECT_EQ(Journaled().state.FindStep("long")->status, sm::StepStatus::kRunning);
  EXPECT_TRUE(ops_->invocations("later").empty());

  // And on resume the step is in doubt.
  session_.reset();  // the runner exits, releasing the run
  Result<std::unique_ptr<RunSession>> resumed = RunSession::Open(journal_, "run-1", Options());
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  Result<sm::EventBatch> resume =
      sm::Accept((*resumed)->state(), (*resumed)->plan(), "run-1", sm::ResumeCommand{});
  ASSERT_TRUE(resume.ok()) << resume.status().ToString();
  ASSERT_TRUE((*resumed)->Append(std::move(resume).value()).ok());
  const std::vector<sm::StepInDoubt> in_doubt = JournaledEvents<sm::StepInDoubt>();
  ASSERT_EQ(in_doubt.size(), 1u);
  EXPECT_EQ(in_doubt[0].step, "long");
  EXPECT_EQ(in_doubt[0].attempt, 1);
  EXPECT_EQ(Journaled().state.FindStep("long")->status, sm::StepStatus::kInDoubt);
}

const std::string kRetryPlan = OpsPlan(R"(
  - id: flaky
    command: { target: ops, argv: [deploy] }
    retry: { attempts: 3, backoff: 5s }
)");

TEST_F(EngineTest, RetriesWaitTheDoublingBackoffOnTheClockWithoutSleeping) {
  // Given: a step that fails twice, then succeeds.
  ops_->On("flaky", 1, FakeReply::Fail(Status::Unavailable("busy")))
      .On("flaky", 2, FakeReply::Fail(Status::Unavailable("still busy")));
  GivenRun(kRetryPlan);
  const auto began = std::chrono::steady_clock::now();

  // When
  const Result<sm::RunStatus> status = WhenDriven();

  // Then: the engine asked the Env for 5 s, then 10 s, and the fake clock moved by that
  // between the attempts; no real time went by.
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  EXPECT_EQ(env_.sleeps(), (std::vector<milliseconds>{milliseconds(5'000), milliseconds(10'000)}));
  const std::vector<adapters::Invocation> attempts = ops_->invocations("flaky");
  ASSERT_EQ(attempts.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(attempts[static_cast<std::size_t>(i)].attempt, i + 1);
  EXPECT_EQ(attempts[1].now_micros - attempts[0].now_micros, 5'000'000);
  EXPECT_EQ(attempts[2].now_micros - attempts[1].now_micros, 10'000'000);
  EXPECT_EQ(attempts[0].env, &env_);  // adapters get the session's Env
  EXPECT_EQ(JournaledEvents<sm::StepFailed>().size(), 2u);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5));
}

}  // namespace
}  // namespace backout::engine
