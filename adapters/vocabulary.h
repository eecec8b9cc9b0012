// What an adapter offers, declared once as data: its target type, its actions, each action's
// parameters and the outputs it produces. Each adapter's declaration lives in its own folder
// (adapters/NAME/vocabulary.cc) and is the one owner of its action names: the adapter's
// action parsing reads them from it, the registry hands the declarations to the engine, and
// the engine builds from them what the plan parser checks (which target types exist, which
// actions each offers). Plain data: no adapter code runs to read it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace backout::adapters {

// The JSON types a parameter or output may have, as a set (`kString | kArray`: one name or a
// list). kInteger is a number without a fraction; kNumber takes integers too.
enum JsonType : unsigned {
  kNull = 1U << 0,
  kBoolean = 1U << 1,
  kInteger = 1U << 2,
  kNumber = 1U << 3,
  kString = 1U << 4,
  kArray = 1U << 5,
  kObject = 1U << 6,
  kAnyJson = (1U << 7) - 1,
};
using JsonTypes = unsigned;  // an OR of JsonType values

// Whether `value` has one of `types`.
bool HasType(const nlohmann::json& value, JsonTypes types);

// "string or array": how messages name a set of types.
std::string DescribeTypes(JsonTypes types);

// One parameter of an action, as the plan writes it after `${...}` expansion (an integer
// parameter may also be written as a string of digits, which expansion produces). `target`
// and `timeout` belong to the engine and are not listed.
struct ParamSpec {
  std::string_view name;
  JsonTypes type;
  bool required = false;
  // A path the action writes to outside its target: a backup, an export, a log (for a
  // parameter that may also be a mapping, its `{file: PATH}` form). A rehearsal writes there
  // under the run's scratch directory instead (engine/rehearsal.h), so the plan's real
  // backups folder stays as it was.
  bool written_in_rehearsal_scratch = false;
};

// One output of an action: a key of Outcome::outputs and the type of its value. An output
// may be missing (a failed step fills what it knows; some are written only in some cases).
struct OutputSpec {
  std::string_view name;
  JsonTypes type;
};

struct ActionSpec {
  std::string_view name;
  std::vector<ParamSpec> params;
  std::vector<OutputSpec> outputs;
  bool read_only = false;   // changes nothing on the target (baseline, verify, query)
  bool idempotent = false;  // running it twice has the effect of running it once
  bool needs_target = true; // false: a step may name no target (notify: stdout or a file)

  bool Takes(std::string_view param) const;  // whether `params` declares `param`
};

struct AdapterVocabulary {
  std::string_view type;            // the target type the adapter serves ("sqlite")
  std::vector<ActionSpec> actions;  // in the order of the adapter's Action enumerators
  // Whether a plan may declare targets of `type`. False for notify: a notification names no
  // target, or a webhook declared with another type (below).
  bool has_own_targets = true;
  // Other target types whose targets this adapter's actions may name; such an action is
  // then served by this adapter, not the target's (notify sends to an http target).
  std::vector<std::string_view> serves_targets_of;

  const ActionSpec* Find(std::string_view action) const;  // nullptr when not offered
  std::vector<std::string_view> ActionNames() const;

  // The enumerator of `Enum` for `action` (Enum's enumerators are in the order of `actions`
  // and count from 0); nullopt when not offered.
  template <typename Enum>
  std::optional<Enum> ParseAction(std::string_view action) const {
    for (std::size_t i = 0; i < actions.size(); ++i) {
      if (actions[i].name == action) return static_cast<Enum>(i);
    }
    return std::nullopt;
  }
};

// Actions that several adapters declare alike because shared code runs them:
// `verify` {checks: [...] (required), `more_params`} whose outputs are the report of
// adapters/common/verify.h (checks, passed, failed); and the SQL adapters' `query`
// {sql, expect} with output `value`. Both only read and are idempotent.
ActionSpec VerifyAction(std::vector<ParamSpec> more_params = {});
ActionSpec SqlQueryAction();

// "outputs/bytes: declared integer, produced string": one line for each key of `outputs`
// that `action` of `vocabulary` does not declare, or declares with another type. Empty when
// the outputs are all declared (adapter tests check every outcome with it).
std::vector<std::string> UndeclaredOutputs(const AdapterVocabulary& vocabulary,
                                           std::string_view action,
                                           const nlohmann::json& outputs);

}  // namespace backout::adapters
