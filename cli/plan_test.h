// `backout test PLAN [SPEC]` (docs/plan-tests.md): the plan's failure paths run on the state
// machine alone (scenarios/scenarios.h): no adapter, no target, no journal, no secret, no
// network, so a CI job can gate every plan edit.
#pragma once

#include <string>

namespace backout::cli {

struct TestOutput {
  bool json = false;       // the results as one JSON object on stdout (docs/plan-tests.md)
  std::string junit_file;  // non-empty: also a JUnit XML report there (mode 0600, atomically)
};

// Loads the plan as `validate` does, except that a `${VAR}` not set in the environment is no
// error (the simulation never expands one; the unset ones are listed), then runs the spec's
// scenarios, or without `spec_file` the built-in ones, printing the path each one takes.
// 0 when every scenario ran and every expectation held; 1 when an expectation failed or a
// scenario could not run (an operator action left over or refused); 2 for a plan or spec
// with errors (file:line:col on stderr) or a JUnit file that cannot be written.
int TestPlan(const std::string& plan_file, const std::string& spec_file,
             const TestOutput& output);

}  // namespace backout::cli
