// The adapters' vocabularies as the engine uses them: the plan parser's vocabulary built from
// the registry, the routing of actions to adapters, and a new adapter (adapters/example/)
// that takes part in plan checks and runs with nothing but its folder and a registry line.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "adapters/adapter.h"
#include "adapters/example/example_adapter.h"
#include "base/env.h"
#include "engine/engine.h"
#include "engine/plan_check.h"
#include "engine/session.h"
#include "journal/journal.h"
#include "plan/parser.h"
#include "plan/test_vocabulary.h"
#include "testing/temp_dir.h"

namespace backout::engine {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> NoVariables(const std::string&) { return std::nullopt; }

TEST(PlanVocabularyTest, DefaultRegistryGivesTheVocabularyPlanTestsUse) {
  EXPECT_EQ(PlanVocabulary(adapters::Registry::Default()), plan::DefaultVocabularyForTests());
  EXPECT_EQ(DefaultPlanVocabulary(), plan::DefaultVocabularyForTests());
}

TEST(PlanVocabularyTest, ActionsForKnownAndUnknownTypes) {
  const plan::Vocabulary vocabulary = PlanVocabulary(adapters::Registry::Default());
  EXPECT_EQ(vocabulary.ActionsFor("sqlite"),
            (std::vector<std::string>{"sql", "backup", "restore", "baseline", "verify", "query"}));
  EXPECT_EQ(vocabulary.ActionsFor("command"), std::vector<std::string>{"command"});
  EXPECT_EQ(vocabulary.ActionsFor("dynamodb"),
            (std::vector<std::string>{"baseline", "verify", "export", "import", "delete_table",
                                      "update_billing"}));
  EXPECT_TRUE(vocabulary.ActionsFor("oracle").empty());
  // notify serves http targets (a webhook) but has no targets of its own.
  EXPECT_EQ(vocabulary.ActionsFor("http"), (std::vector<std::string>{"http", "notify"}));
  EXPECT_TRUE(vocabulary.ActionsFor("notify").empty());
}

TEST(RegistryTest, TypeServingRoutesNotifyToTheNotifyAdapter) {
  const adapters::Registry registry = adapters::Registry::Default();
  EXPECT_EQ(registry.TypeServing("notify", "http"), "notify");
  EXPECT_EQ(registry.TypeServing("notify", ""), "notify");
  EXPECT_EQ(registry.TypeServing("http", "http"), "http");
  EXPECT_EQ(registry.TypeServing("backup", "json_store"), "json_store");
  EXPECT_EQ(registry.TypeServing("sql", "oracle"), "oracle");  // Find() then says unknown
}

TEST(RegistryTest, EveryDeclaredActionIsOneTheAdapterValidates) {
  const adapters::Registry registry = adapters::Registry::Default();
  for (const adapters::AdapterVocabulary* vocabulary : registry.Vocabularies()) {
    const adapters::Adapter* adapter = registry.Find(vocabulary->type);
    ASSERT_NE(adapter, nullptr) << vocabulary->type;
    const nlohmann::json target = {{"type", vocabulary->type}};
    for (const adapters::ActionSpec& action : vocabulary->actions) {
      // An offered action may have parameter errors, but never "offers no action".
      for (const adapters::ParamError& e : adapter->Validate(action.name, target, {})) {
        EXPECT_EQ(e.message.find("no action"), std::string::npos)
            << vocabulary->type << " " << action.name << ": " << e.message;
      }
    }
    EXPECT_FALSE(adapter->Validate("no-such-action", target, {}).empty()) << vocabulary->type;
  }
}

// The declared parameters are the keys each action accepts: none of them is refused as
// unknown, and a key that is not declared is.
TEST(RegistryTest, DeclaredParametersAreTheKeysEachActionAccepts) {
  adapters::Registry registry = adapters::Registry::Default();
  registry.Add(adapters::MakeExampleAdapter());
  for (const adapters::AdapterVocabulary* vocabulary : registry.Vocabularies()) {
    const adapters::Adapter* adapter = registry.Find(vocabulary->type);
    const nlohmann::json target = {{"type", vocabulary->type}};
    for (const adapters::ActionSpec& action : vocabulary->actions) {
      const std::string what = std::string(vocabulary->type) + " " + std::string(action.name);
      for (const adapters::ParamSpec& param : action.params) {
        const std::string key(param.name);
        for (const adapters::ParamError& e : adapter->Validate(action.name, target, {{key, 1}})) {
          EXPECT_EQ(e.message.find("unknown key '" + key + "'"), std::string::npos)
              << what << ": " << e.message;
        }
      }
      bool refused = false;
      for (const adapters::ParamError& e :
           adapter->Validate(action.name, target, {{"undeclared_key", 1}})) {
        refused = refused || e.message.find("unknown key 'undeclared_key'") != std::string::npos;
      }
      EXPECT_TRUE(refused) << what;
    }
  }
}

// A registry with one more adapter than the default: the example, added by one line.
adapters::Registry RegistryWithExample() {
  adapters::Registry registry = adapters::Registry::Default();
  registry.Add(adapters::MakeExampleAdapter());
  return registry;
}

constexpr char kExamplePlan[] = R"(version: 1
name: example
targets:
  demo: { type: example, greeting: "hello, " }
steps:
  - id: greet
    echo: { target: demo, text: world }
  - id: measure
    length: { target: demo, text: "${steps.greet.outputs.text}" }
)";

// Idempotency by nature comes from the vocabulary alone: a step of an action the adapter
// declares idempotent is re-run when in doubt, whatever the action is called; one that is not
// declared so (sqlite's `restore`) is not, unless the plan says `idempotent: true`.
TEST(ExampleAdapterTest, DeclaredIdempotencyMakesAParsedStepIdempotent) {
  constexpr char kPlan[] = R"(version: 1
name: idempotency
targets:
  demo: { type: example }
  db: { type: sqlite, path: app.db }
steps:
  - id: greet
    echo: { target: demo, text: world }
  - id: put-back
    restore: { target: db, from: backup.db }
  - id: put-back-declared
    idempotent: true
    restore: { target: db, from: backup.db }
  - id: copy
    backup: { target: db, to: backups/ }
)";
  const plan::ParseOutcome parsed =
      plan::ParsePlan(kPlan, "plan.yaml", PlanVocabulary(RegistryWithExample()));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed.plan->FindStep("greet")->IsIdempotent());
  EXPECT_FALSE(parsed.plan->FindStep("put-back")->IsIdempotent());
  EXPECT_TRUE(parsed.plan->FindStep("put-back-declared")->IsIdempotent());
  EXPECT_TRUE(parsed.plan->FindStep("copy")->IsIdempotent());
  // Without the example adapter's vocabulary the type is unknown: the plan does not parse.
  EXPECT_FALSE(plan::ParsePlan(kPlan, "plan.yaml", DefaultPlanVocabulary()).ok());
}

TEST(ExampleAdapterTest, AnAddedAdapterIsCheckedLikeTheBuiltInOnes) {
  const testing::TempDir dir;
  const std::string plan_file = (dir.path() / "plan.yaml").string();

  const PlanCheck unknown = CheckPlanText(kExamplePlan, plan_file,
                                          adapters::Registry::Default(), NoVariables);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.diagnostics.front().message.find("unknown target type 'example'"),
            std::string::npos)
      << unknown.diagnostics.front().ToString();

  const adapters::Registry registry = RegistryWithExample();
  const PlanCheck checked = CheckPlanText(kExamplePlan, plan_file, registry, NoVariables);
  ASSERT_TRUE(checked.ok()) << checked.diagnostics.front().ToString();

  // Its own parameter checks and its vocabulary's action list are both used.
  std::string wrong = kExamplePlan;
  wrong.replace(wrong.find("text: world"), 11, "txt: world");
  const PlanCheck misspelled = CheckPlanText(wrong, plan_file, registry, NoVariables);
  ASSERT_FALSE(misspelled.ok());
  std::string messages;
  for (const plan::Diagnostic& d : misspelled.diagnostics) messages += d.ToString() + "\n";
  EXPECT_NE(messages.find("unknown key 'txt'"), std::string::npos) << messages;
  EXPECT_NE(messages.find("is required"), std::string::npos) << messages;  // text

  std::string other = kExamplePlan;
  other.replace(other.find("echo:"), 5, "sql:");
  const PlanCheck no_sql = CheckPlanText(other, plan_file, registry, NoVariables);
  ASSERT_FALSE(no_sql.ok());
  EXPECT_NE(no_sql.diagnostics.front().message.find(
                "target 'demo' (type example) has no action 'sql'; it offers: echo, length"),
            std::string::npos)
      << no_sql.diagnostics.front().ToString();
}

TEST(ExampleAdapterTest, AnAddedAdapterRunsItsSteps) {
  const testing::TempDir dir;
  const std::string plan_file = (dir.path() / "plan.yaml").string();
  adapters::Registry registry = RegistryWithExample();
  const PlanCheck checked = CheckPlanText(kExamplePlan, plan_file, registry, NoVariables);
  ASSERT_TRUE(checked.ok()) << checked.diagnostics.front().ToString();

  const journal::Journal journal(dir.path() / "journal");
  Result<std::unique_ptr<RunSession>> session =
      RunSession::Create(journal, "run-1", *checked.plan, plan_file,
                         SessionOptions{.env = Env::Default(), .who = {"tester", "host"}});
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  const Result<sm::RunStatus> status = Drive(**session, DriveOptions{.registry = &registry});
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, sm::RunStatus::kSucceeded);
  const sm::RunState& state = (*session)->state();
  ASSERT_EQ(state.steps.size(), 2u);
  EXPECT_EQ(state.steps[0].outputs, nlohmann::json({{"text", "hello, world"}}));
  EXPECT_EQ(state.steps[1].outputs, nlohmann::json({{"length", 12}}));
}

}  // namespace
}  // namespace backout::engine
