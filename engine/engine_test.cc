// The engine with a scripted adapter: what it journals when an adapter's outputs hold bytes
// that are not UTF-8, and when an adapter throws (docs/reliability.md, "Hostile bytes").
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <stdexcept>

#include "adapters/command/command_adapter.h"
#include "base/env.h"
#include "engine/plan_check.h"
#include "engine/session.h"
#include "journal/journal.h"
#include "plan/parser.h"

namespace backout::engine {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kPlan[] = R"(version: 1
name: scripted
targets:
  ops: { type: command, cwd: . }
steps:
  - id: first
    command: { target: ops, argv: [first] }
  - id: second
    command: { target: ops, argv: ["${steps.first.outputs.path}"] }
)";

// Serves "command" targets: `first` returns a path with a 0xFF byte, or throws; every
// invocation's params are kept.
class ScriptedAdapter : public adapters::Adapter {
 public:
  explicit ScriptedAdapter(bool throws) : throws_(throws) {}
  const adapters::AdapterVocabulary& vocabulary() const override {
    return adapters::CommandVocabulary();
  }
  std::vector<adapters::ParamError> Validate(std::string_view, const json&,
                                             const json&) const override {
    return {};
  }
  adapters::Outcome Run(const adapters::Invocation& inv) override {
    seen.push_back(inv.params);
    if (throws_) throw std::runtime_error("scripted failure after the effect");
    return {Status::Ok(), {{"path", "bk-x\xFFy/a.db"}}};
  }
  std::vector<json> seen;

 private:
  bool throws_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "backout-engine-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    journal_.emplace(dir_ / "journal");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Creates the run and drives it with the scripted adapter.
  Result<sm::RunStatus> Drive(bool throws) {
    auto adapter = std::make_unique<ScriptedAdapter>(throws);
    adapter_ = adapter.get();
    registry_.Add(std::move(adapter));
    plan::ParseOutcome parsed = plan::ParsePlan(kPlan, (dir_ / "plan.yaml").string(),
                                                PlanVocabulary(registry_));
    EXPECT_TRUE(parsed.ok());
    Result<std::unique_ptr<RunSession>> session = RunSession::Create(
        *journal_, "run-1", *parsed.plan, (dir_ / "plan.yaml").string(),
        SessionOptions{.env = Env::Default(), .who = {"tester", "host"}});
    EXPECT_TRUE(session.ok()) << session.status().ToString();
    session_ = std::move(session).value();
    return engine::Drive(*session_, DriveOptions{.registry = &registry_});
  }

  fs::path dir_;
  std::optional<journal::Journal> journal_;
  adapters::Registry registry_;
  ScriptedAdapter* adapter_ = nullptr;
  std::unique_ptr<RunSession> session_;
};

TEST_F(EngineTest, OutputsThatAreNotUtf8AreJournaledMarkedAndTheNextStepGetsTheBytes) {
  const Result<sm::RunStatus> status = Drive(/*throws=*/false);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  // The outcome is journaled, marked, and the state holds what the journal holds.
  const sm::StepState* first = session_->state().FindStep("first");
  EXPECT_EQ(first->outputs["path"], "bk-x\xEF\xBF\xBD" "FFy/a.db");
  Result<RunSnapshot> snap = ReadSnapshot(*journal_, "run-1");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->state.FindStep("first")->outputs, first->outputs);
  // The second step was given the original bytes.
  ASSERT_EQ(adapter_->seen.size(), 2u);
  EXPECT_EQ(adapter_->seen[1]["argv"][0], "bk-x\xFFy/a.db");
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
  Result<RunSnapshot> snap = ReadSnapshot(*journal_, "run-1");
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->state.FindStep("first")->status, sm::StepStatus::kRunning);
  EXPECT_EQ(snap->state.FindStep("second")->status, sm::StepStatus::kPending);
}

}  // namespace
}  // namespace backout::engine
