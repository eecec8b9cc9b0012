#!/usr/bin/env bash
# Leak check of the demo flow (issue 7): the steps of scripts/demo.sh (run killed with
# SIGKILL mid-run, resume, status, verify, report in md/html/json), plus events, export,
# import into a second journal, replay, triage, validate, and a second run paused for its
# approval, approved and resumed; each under valgrind --leak-check=full on the
# RelWithDebInfo binary (build-rel/). Not in CI (a few minutes).
#
#   scripts/leak-check.sh          ROWS=N for the size of the generated database (2000)
#
# Prints each command's verdict and "leak check: clean" or "leak check: N reports"; exits 1
# on any leak (definite, indirect or possible) or memory error. A process killed with
# SIGKILL cannot report, so the killed `run` is not judged (its resume is).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${ROWS:-2000}
command -v valgrind >/dev/null || scripts/setup.sh
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-rel --target backout -j "$(nproc)" >/dev/null
binary=$PWD/build-rel/cli/backout

work=$(mktemp -d "${TMPDIR:-/tmp}/backout-leaks.XXXXXX")
reports=$work/reports
mkdir -p "$reports"
cp -r examples/media-rollback "$work/demo"
"$work/demo/generate.sh" "$work/demo" "$rows" >/dev/null
cd "$work/demo"
export BACKOUT_JOURNAL=$work/demo/journal BACKOUT_OPERATOR=leak-check APP_DRAIN_SECONDS=0.2

# Runs `backout ARGS` under valgrind; a log left in $reports means a finding.
check() {
  local name=$1
  shift
  local rc=0
  valgrind --leak-check=full --child-silent-after-fork=yes \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    --log-file="$reports/$name.%p" "$binary" "$@" >"$work/$name.out" 2>&1 || rc=$?
  # Leaks of the kinds above count as errors; keep only the logs that have some. (A log
  # may also hold warnings such as RocksDB's write-hint fcntl that valgrind does not know.)
  for f in "$reports/$name".*; do
    grep -q "ERROR SUMMARY: 0 errors" "$f" && rm -f "$f"
  done
  if compgen -G "$reports/$name.*" >/dev/null; then
    echo "  $name: LEAK or memory error (exit $rc): $(ls "$reports/$name".*)"
  else
    echo "  $name: clean (exit $rc)"
  fi
}

echo "leak check (valgrind) of the demo flow in $work"
# The run, killed with SIGKILL during the verify step as in the demo (not judged).
"$binary" run plan.yaml --approve confirm=ROLLBACK_MEDIA >run.log 2>&1 &
pid=$!
for _ in $(seq 1 1200); do
  grep -q "verify: started" run.log && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
run_id=$(head -n 1 run.log)

check status-killed status "$run_id"
check resume resume "$run_id" --approve confirm=ROLLBACK_MEDIA
check status status "$run_id"
check status-all status --json
check verify verify "$run_id"
check events events "$run_id" --json
check report-md report "$run_id" --format md
check report-html report "$run_id" --format html -o "$work/report.html"
check report-json report "$run_id" --format json -o "$work/report.json"
check export export "$run_id" -o "$work/run.jsonl"
check import import "$work/run.jsonl" --journal "$work/imported"
check replay replay --file "$work/run.jsonl"
check triage triage plan.yaml --issue app_crash --severity critical
check validate validate plan.yaml
# A second run on freshly generated data, its approval asked for and given afterwards.
./generate.sh . "$rows" >/dev/null
check run-paused run plan.yaml
run2=$(head -n 1 "$work/run-paused.out")
check approve approve "$run2" confirm --phrase ROLLBACK_MEDIA
check resume-2 resume "$run2"

found=$(find "$reports" -type f | wc -l)
if ((found == 0)); then
  echo "leak check: clean"
  rm -rf "$work"
else
  echo "leak check: $found reports in $reports"
  exit 1
fi
