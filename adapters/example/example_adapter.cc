#include "adapters/example/example_adapter.h"

#include <optional>
#include <string>

#include "adapters/common/params.h"
#include "adapters/common/run.h"

namespace backout::adapters {
namespace {

using common::Checker;
using common::Presence;
using common::References;
using nlohmann::json;

// In the order of the actions of ExampleVocabulary().
enum class Action { kEcho, kLength };

// Every problem with the target's config and the action's params; `references` says whether
// `${...}` may still stand for a value (plan time) or must be expanded already (run time).
std::vector<ParamError> Check(std::string_view action, const json& target, const json& params,
                              References references) {
  const AdapterVocabulary& vocabulary = ExampleVocabulary();
  if (!vocabulary.ParseAction<Action>(action).has_value()) {
    return common::NoSuchAction(vocabulary, action);
  }
  return common::CheckInvocation(
      references,
      [&](Checker& checker) {
        if (!checker.Mapping(target, "")) return;
        checker.KnownKeysOnly(target, "", {"type", "greeting"});
        checker.Field(target, "", "greeting", Presence::kOptional, common::NonEmptyString);
      },
      [&](Checker& checker) {
        if (!checker.Mapping(params, "")) return;
        checker.KnownKeysOnly(params, "", {"text"});
        checker.Field(params, "", "text", Presence::kRequired, common::NonEmptyString);
      });
}

class ExampleAdapter final : public Adapter {
 public:
  const AdapterVocabulary& vocabulary() const override { return ExampleVocabulary(); }

  std::vector<ParamError> Validate(std::string_view action, const json& target,
                                   const json& params) const override {
    return Check(action, target, params, References::kUnresolved);
  }

  Outcome Run(const Invocation& invocation) override {
    return common::RunValidated(invocation, Check, [&]() -> Outcome {
      const std::string& text = invocation.params.at("text").get_ref<const std::string&>();
      switch (*vocabulary().ParseAction<Action>(invocation.action)) {
        case Action::kEcho:
          return {Status::Ok(), {{"text", invocation.target.value("greeting", "") + text}}};
        case Action::kLength:
          return {Status::Ok(), {{"length", text.size()}}};
      }
      return {Status::InvalidArgument("unknown example action")};  // unreachable: checked
    });
  }
};

}  // namespace

std::unique_ptr<Adapter> MakeExampleAdapter() { return std::make_unique<ExampleAdapter>(); }

}  // namespace backout::adapters
