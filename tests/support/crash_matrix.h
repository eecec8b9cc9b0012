// The crash matrix of design section 5, for any example plan:
//  1. SIGKILL the real `backout run` right after each of its durable journal appends in turn
//     (BACKOUT_CRASH_AFTER_APPENDS=N makes the process kill itself), then `resume`;
//  2. SIGKILL it from outside at random moments while a slow step runs, then `resume`.
// Every time, the targets' end state (as the scenario snapshots it) must equal an
// uninterrupted run's, `backout verify` must pass, the run must have succeeded, and the
// scenario's own checks (a non-idempotent effect happened exactly once) must hold.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tests/support/example.h"

namespace backout::testing {

struct CrashScenario {
  std::string example;  // examples/NAME
  std::string plan = "plan.yaml";  // in the example folder
  int rows = 100;
  // For generate.sh and every backout call. A generate.sh that fills a server-side database
  // must reset it first: every crash point starts from freshly generated data.
  std::map<std::string, std::string> env;
  std::vector<std::string> run_args;       // after "run plan.yaml", e.g. {"--approve=x=Y"}
  std::vector<std::string> resume_args;    // after "resume RUN"
  // A comparable picture of every target the plan changes (dumps, per-table checksums).
  std::function<std::string(const Example&)> end_state;
  // Checks of effects that must happen exactly once; `label` names the crash point.
  std::function<void(const Example&, const std::string& label)> exactly_once;
  int min_appends = 10;  // the plan takes at least this many appends (guards a broken matrix)
};

// How much of each repeated matrix a build runs. The release build runs all of it (1). A
// sanitizer build, whose processes are several times slower, runs every K-th crash point,
// random kill and race try (K = 4), so that CI stays within its time budget; the code paths
// are the same, only the repetitions are fewer. BACKOUT_MATRIX_STRIDE=K overrides either
// (1 runs the whole matrix under sanitizers too).
int MatrixStride();

// `count` repetitions of a repeated part of a matrix divided by MatrixStride(), never fewer
// than `at_least`.
int MatrixShare(int count, int at_least);

// Runs case 1 for every append of the plan (every MatrixStride()-th, from an offset drawn
// from the crash seed, when the stride is above 1); returns the number of crash points tried.
int KillAfterEveryAppend(const CrashScenario& scenario);

// Runs case 2: `kills` times (divided by MatrixStride(), at least 2), waits until `step` has started (its log exists in run.log; the
// step's action must be a command, or `started` must say when it has started), sleeps a
// random 0..window_ms, SIGKILLs the runner, resumes. Returns the kills that landed before
// the run ended. The seed is printed and can be fixed with BACKOUT_CRASH_SEED.
struct RandomKills {
  std::string step;
  int kills = 10;
  int window_ms = 1000;
  std::function<bool(const Example&)> started;  // default: STEP's first attempt has a log
  std::map<std::string, std::string> env;       // for the killed run only (a slower step)
};
int KillAtRandomMoments(const CrashScenario& scenario, const RandomKills& kills);

// Case 3, for target locks held by the killed runner's session: one run, killed `kills` times
// in a row inside `step` (divided by MatrixStride(), at least 2), each time resumed AT ONCE (while the target may still be closing
// the killed runner's session and holding its lock), and that resume killed again in the
// same step after a random 0..window_ms; then a last resume to the end. No resume may fail
// or pause. `started` must tell the new runner's work from the killed one's (e.g. a new
// server session). Returns the kills that landed; prints a "crash matrix:" line.
int KillAndResumeAtOnce(const CrashScenario& scenario, const RandomKills& kills);

}  // namespace backout::testing
