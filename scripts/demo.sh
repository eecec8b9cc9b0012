#!/usr/bin/env bash
# The main job, end to end: installs dependencies, builds backout, generates the seed-004
# SQLite database (images + docs merged into media), starts the rollback plan, kills the
# runner with SIGKILL in the middle of a step, resumes the run from its journal, and prints
# the final status, the journal's verification and the post-incident report (Markdown on the
# terminal; HTML and JSON beside it).
#
#   scripts/demo.sh [ROWS]      (default 200000 rows each in images and docs)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-200000}

scripts/setup.sh
echo "== building backout (build-release/)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBACKOUT_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target backout -j "$(nproc)" >/dev/null
backout=$PWD/build-release/cli/backout

work=$PWD/demo/media-rollback
rm -rf "$work" && mkdir -p "$(dirname "$work")"
cp -r examples/media-rollback "$work"
echo "== generating the database"
"$work/generate.sh" "$work" "$rows"
cd "$work"
export BACKOUT_JOURNAL=$work/journal
export BACKOUT_OPERATOR=${BACKOUT_OPERATOR:-demo-operator}

echo "== backout run plan.yaml (will be killed with SIGKILL during the verify step)"
"$backout" run plan.yaml --approve confirm=ROLLBACK_MEDIA > run.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "verify: started" run.log && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
cat run.log
run_id=$(head -n 1 run.log)
echo "== killed. What the journal says now:"
"$backout" status "$run_id" || true

echo
echo "== backout resume $run_id"
"$backout" resume "$run_id"

echo
echo "== final status"
"$backout" status "$run_id"
echo
"$backout" verify "$run_id"

echo
echo "== post-incident report (replayed from the journal alone)"
"$backout" report "$run_id" --format md
"$backout" report "$run_id" --format html -o "$work/report.html"
"$backout" report "$run_id" --format json -o "$work/report.json"
echo
echo "journal:  $BACKOUT_JOURNAL"
echo "database: $work/data/app.db"
echo "reports:  $work/report.html  $work/report.json"
echo "events:   $backout events $run_id --journal $BACKOUT_JOURNAL"
