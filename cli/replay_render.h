// How `backout replay` and `backout verify` show what they found: text for people, one JSON
// object for scripts (docs/replay.md#json, docs/cli.md#verify), JUnit XML for CI systems
// (docs/replay.md#junit).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/signing.h"

#include "statemachine/replay.h"

namespace backout::cli {

// One replay: of which run, against which plan, and what it found.
struct ReplayOutcome {
  std::string run_id;
  std::string plan_name;          // the replayed plan's `name:`
  std::string export_file;        // empty: the run was read from the journal
  std::string plan_file;          // empty: the plan journaled in RunStarted
  std::string plan_sha256;        // the replayed plan's text
  std::size_t event_count = 0;
  bool all = false;               // every divergence was asked for (--all)
  std::vector<sm::StepChange> step_changes;  // --plan: the journaled plan -> the plan file
  sm::ReplaySummary summary;

  bool matches() const { return !summary.divergence.has_value(); }
};

// The step changes, then each divergence (recorded, derived), then with --all a closing
// count; "all match" when nothing diverges.
std::string ReplayToText(const ReplayOutcome& outcome);
nlohmann::json ReplayToJson(const ReplayOutcome& outcome);
// One suite, one test case for the run: failed when a decision diverges.
std::string ReplayToJUnit(const ReplayOutcome& outcome);

// What `verify` checked of a run and found.
struct VerifyOutcome {
  std::string run_id;
  std::size_t event_count = 0;   // 0 when the run could not be read
  std::string head;              // hex; empty when the run could not be read
  std::string chain;             // "sha256" or "hmac-sha256"; empty when unread
  std::vector<std::string> checks;  // the checks that passed, in the order they ran
  int decisions_checked = 0;
  std::optional<journal::SignatureCheck> signatures;  // unset when the run could not be read
  std::optional<std::string> error;  // the failure, as printed on stderr
  std::optional<sm::Divergence> divergence;  // a decision that did not re-derive
};
nlohmann::json VerifyToJson(const VerifyOutcome& outcome);

}  // namespace backout::cli
