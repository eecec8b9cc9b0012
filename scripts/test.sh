#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs dependencies, builds, runs every test
# under ctest, then builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs
# every test again. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
jobs=$(nproc)

run_suite() {  # run_suite BUILD_DIR LABEL CMAKE_ARGS...
  local dir=$1 label=$2
  shift 2
  echo "== $label: configure and build ($dir)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== $label: tests"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
  # The crash matrix prints how many crash points it tried; show it.
  grep -h "crash matrix:" "$dir/Testing/Temporary/LastTest.log" || true
  # So does the corruption matrix (tests/corruption_matrix_test.cc).
  grep -h "corruption matrix:" "$dir/Testing/Temporary/LastTest.log" || true
}

# Line tables (-g1) rather than full debug info: backtraces and profiles keep their file:line,
# and the release build compiles a third faster (CI's 90 minutes, two cold builds).
run_suite build "release build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
echo "== benchmark smoke run (small sizes, no goals; the real run is scripts/bench.sh)"
scripts/bench.sh --quick --build-dir build >/dev/null
run_suite build-asan "ASan+UBSan build" -DCMAKE_BUILD_TYPE=Debug -DBACKOUT_SANITIZE=ON
echo "== all tests passed (release and ASan+UBSan builds)"
