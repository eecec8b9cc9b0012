// What the parser needs to know of the adapters of a build: which target types a plan may
// declare and which actions each offers. Plain data: plan/ knows nothing of adapters/, so
// the caller builds it (engine::PlanVocabulary, from the adapter registry; tests write one).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace backout::plan {

struct Vocabulary {
  struct TargetType {
    std::string name;                  // "sqlite"
    std::vector<std::string> actions;  // in the order messages list them
    // The actions the adapter declares idempotent by nature: running one again after a crash
    // has the effect of running it once, so an in-doubt step of it is simply run again.
    std::vector<std::string> idempotent_actions;
    // The outputs each action declares, by action name, in the adapter's order: the names a
    // `${steps.ID.outputs.NAME}` of a step of that action may use.
    std::map<std::string, std::vector<std::string>> outputs;

    bool operator==(const TargetType&) const = default;
  };
  // The types a plan's targets may have, in the order messages list them.
  std::vector<TargetType> target_types;
  // Every action kind a step may hold, in the order messages list them (without `approval`,
  // which the parser itself knows: it asks the operator and has no target).
  std::vector<std::string> action_kinds;
  // The action kinds whose step may name no target (notify: stdout or a file).
  std::vector<std::string> targetless_actions;
  // The outputs of each targetless action when its step names no target, by action name.
  std::map<std::string, std::vector<std::string>> targetless_outputs;
  // Actions the engine runs itself out of a target's own actions (`capture`: the target's
  // baseline, then its backup; capture/capture.h). A target type offers one when it offers
  // the action `made_of`. A step's action only (not a check's); not in `action_kinds` nor in
  // a type's `actions`.
  struct EngineAction {
    std::string name;
    std::string made_of;
    std::vector<std::string> outputs;
    bool idempotent = false;

    bool operator==(const EngineAction&) const = default;
  };
  std::vector<EngineAction> engine_actions;

  // The actions a target type offers; empty for a type the vocabulary does not know.
  std::vector<std::string> ActionsFor(std::string_view type) const;
  // Whether a target of `type` offers `action`: one of ActionsFor(type), or an engine action
  // made of one of them.
  bool Offers(std::string_view type, std::string_view action) const;
  // Whether `action` on a target of `type` is idempotent by nature (false when unknown).
  bool IsIdempotent(std::string_view type, std::string_view action) const;
  // The outputs `action` declares on a target of `type` ("" for a step that names no
  // target); nullptr when the vocabulary does not know the pair.
  const std::vector<std::string>* OutputsOf(std::string_view type,
                                            std::string_view action) const;

  bool operator==(const Vocabulary&) const = default;
};

}  // namespace backout::plan
