// The gated plan (tests/data/gate/plan.yaml): its first step waits on a named pipe until the
// test opens the gate, so a test can hold a runner inside a step (StepStarted durable, the
// run's lock held) for as long as it needs, without sleeps or timing assumptions.
#pragma once

#include "tests/support/example.h"

namespace backout::testing {

// A fresh copy of tests/data/gate with its database and pipe made.
class GatedExample : public Example {
 public:
  GatedExample();

  // Whether a runner has entered the gate step since the last ForgetEntered().
  bool Entered() const;
  void ForgetEntered() const;
  // Waits (up to a minute, as a guard against a test that would otherwise hang) until a
  // runner is in the gate step, then lets it through. Returns false if none came.
  bool OpenGate() const;
  // Rows written by the `write` step.
  std::string WrittenRows() const;
};

}  // namespace backout::testing
