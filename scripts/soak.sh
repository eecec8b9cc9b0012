#!/usr/bin/env bash
# Soak test (not in CI): loops the crash matrix with random kill times for DURATION seconds
# (default 600) on examples/media-rollback with the real binary. Each round: a fresh copy of
# the example; `backout run` killed with SIGKILL at a random moment of the run; `resume`,
# itself killed at random moments up to twice more; a last `resume` to the end. Then the
# database must equal an uninterrupted run's (sqlite3 .dump), the non-idempotent
# record-rollback must have taken effect exactly once, the application must be running,
# `verify` must pass and the run must have succeeded; any difference is a divergence.
#
#   scripts/soak.sh [DURATION_SECONDS] [ROWS]      BACKOUT=path/to/backout to pick the binary
#
# Prints one line per divergence (its directory is kept under the work dir) and, at the end:
# rounds, kills that landed (crashes), resumes, divergences. Exits 1 on any divergence.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
rows=${2:-2000}
backout=${BACKOUT:-$PWD/build-rel/cli/backout}
[[ -x $backout ]] || { echo "soak: no binary at $backout (build it, or set BACKOUT)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/backout-soak.XXXXXX")
approve=--approve=confirm=ROLLBACK_MEDIA
export APP_DRAIN_SECONDS=0.3 BACKOUT_OPERATOR=soak

fresh() {  # fresh DIR: a copy of the example with its data generated
  rm -rf "$1" && cp -r examples/media-rollback "$1"
  "$1/generate.sh" "$1" "$rows" >/dev/null
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
sql() { sqlite3 "$1/data/app.db" "$2"; }

# The reference: an uninterrupted run, and how long it takes (the range of kill times).
fresh "$work/reference"
start=$(now_ms)
(cd "$work/reference" && BACKOUT_JOURNAL=$PWD/journal "$backout" run plan.yaml "$approve" >/dev/null)
span=$(($(now_ms) - start + 200))
reference=$(sql "$work/reference" .dump)
echo "soak: reference run takes ${span}ms; killing at random moments for ${duration}s (work dir $work)"

# Starts `backout ARGS` in DIR, kills it with SIGKILL after a random delay in [0, span) ms;
# prints "killed" if it was still running then.
run_and_kill() {
  local dir=$1
  shift
  (cd "$dir" && exec "$backout" "$@" >>"$dir/out.log" 2>&1) &
  local pid=$! delay=$((RANDOM * 32768 + RANDOM))
  delay=$((delay % span))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if kill -KILL "$pid" 2>/dev/null; then echo killed; fi
  wait "$pid" 2>/dev/null || true
}

rounds=0 crashes=0 resumes=0 divergences=0
deadline=$(($(date +%s) + duration))
while (($(date +%s) < deadline)); do
  rounds=$((rounds + 1))
  dir=$work/round-$rounds
  fresh "$dir"
  export BACKOUT_JOURNAL=$dir/journal
  [[ $(run_and_kill "$dir" run plan.yaml "$approve") == killed ]] && crashes=$((crashes + 1))
  run_id=$(head -n 1 "$dir/out.log")
  # Killed before the run's first event was durable: there is no run to resume.
  [[ -n $run_id ]] && ! "$backout" status "$run_id" >/dev/null 2>&1 && run_id=
  if [[ -n $run_id ]]; then
    for _ in 1 2; do
      ((RANDOM % 2)) || break
      resumes=$((resumes + 1))
      [[ $(run_and_kill "$dir" resume "$run_id" "$approve") == killed ]] && crashes=$((crashes + 1))
    done
    resumes=$((resumes + 1))
    (cd "$dir" && "$backout" resume "$run_id" "$approve" >>"$dir/out.log" 2>&1) || true
  fi
  problem=
  if [[ -z $run_id ]]; then
    # No run: nothing may have been done.
    [[ $(sql "$dir" "SELECT count(*) FROM rollback_log") == 0 && $(sql "$dir" .dump) == *"CREATE TABLE media"* ]] ||
      problem="effects without a journaled run"
  elif [[ $(sql "$dir" .dump) != "$reference" ]]; then
    problem="database differs from the reference"
  elif [[ $(sql "$dir" "SELECT count(*) FROM rollback_log") != 1 ]]; then
    problem="record-rollback took effect $(sql "$dir" "SELECT count(*) FROM rollback_log") times"
  elif [[ $(cat "$dir/app.state") != running ]]; then
    problem="application not running"
  elif ! "$backout" verify "$run_id" >/dev/null 2>&1; then
    problem="verify failed"
  elif ! "$backout" status "$run_id" --json | grep -q '"status": "succeeded"'; then
    problem="run did not succeed"
  fi
  if [[ -n $problem ]]; then
    divergences=$((divergences + 1))
    echo "soak: DIVERGENCE in round $rounds ($dir): $problem"
  else
    rm -rf "$dir"
  fi
done
echo "soak: ${duration}s: rounds $rounds, crashes (SIGKILL landed) $crashes, resumes $resumes, divergences $divergences"
((divergences == 0)) && rm -rf "$work"
exit $((divergences > 0))
