// Builders shared by the state machine's tests: events with automatic sequence numbers and
// small in-code plans (no YAML), so these tests depend on nothing but the state machine.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "statemachine/events.h"
#include "statemachine/state.h"

namespace backout::sm::testing {

// Numbers events 1..n with one second between them.
inline std::vector<Event> Number(const std::vector<EventBody>& bodies) {
  std::vector<Event> out;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    out.push_back(Event{.seq = i + 1,
                        .time_us = 1'700'000'000'000'000 + static_cast<std::int64_t>(i) * 1'000'000,
                        .operator_name = "alice",
                        .host = "ops-1",
                        .body = bodies[i]});
  }
  return out;
}

inline RunStarted Started(std::vector<std::string> ids) {
  RunStarted s;
  s.plan_name = "test";
  s.plan_file = "/plans/test.yaml";
  s.plan_text = "version: 1";
  s.plan_sha256 = "00";
  s.step_ids = std::move(ids);
  return s;
}

struct StepSpec {
  std::string id;
  std::string kind = "sql";
  bool idempotent = false;
  bool has_check = false;
  bool always = false;
  plan::OnFailure on_failure = plan::OnFailure::kAbort;
  int attempts = 1;
  int backoff_ms = 0;
};

// A gtest parameter name from a case's free-text name.
template <typename Case>
std::string CaseName(const ::testing::TestParamInfo<Case>& param) {
  std::string n = param.param.name;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

inline plan::Plan MakePlan(const std::vector<StepSpec>& specs);

// The plan most decide and replay cases use. a: plain sql (not idempotent, no check);
// b: sql with a check; c: idempotent sql; gate: approval; z: always.
inline const plan::Plan& FiveStepPlan() {
  static const plan::Plan plan = MakePlan({
      {.id = "a"},
      {.id = "b", .has_check = true},
      {.id = "c", .idempotent = true},
      {.id = "gate", .kind = "approval"},
      {.id = "z", .always = true},
  });
  return plan;
}
inline RunStarted FiveStepStart() { return Started({"a", "b", "c", "gate", "z"}); }

// One successful attempt of a step: StepStarted + StepSucceeded.
inline std::vector<EventBody> Ok(const std::string& id, int attempt = 1) {
  return {StepStarted{id, attempt}, StepSucceeded{id, attempt, {}}};
}

inline plan::Plan MakePlan(const std::vector<StepSpec>& specs) {
  plan::Plan p;
  p.name = "test";
  for (const StepSpec& s : specs) {
    plan::Step step;
    step.id = s.id;
    step.title = s.id;
    step.action.kind = s.kind;
    step.idempotent_declared = s.idempotent;
    step.always = s.always;
    step.on_failure = s.on_failure;
    step.retry.attempts = s.attempts;
    step.retry.backoff = std::chrono::milliseconds(s.backoff_ms);
    if (s.has_check) {
      plan::Action check;
      check.kind = "query";
      step.check = check;
    }
    p.steps.push_back(step);
  }
  return p;
}

}  // namespace backout::sm::testing
