#!/usr/bin/env bash
# `status` of many runs (issue 17, "a journal that lists thousands of runs") against one
# RocksDB scan of as many summaries, with peak RSS; `name value` lines on stdout (for
# scripts/bench.sh's results file). Runs alone too:
#   bench/runs_bench.sh WORK_DIR COUNT BACKOUT JOURNAL_FIGURES REPS
# makes COUNT/5 finished runs, measures, adds the rest, measures again (RSS flat in runs?).
set -euo pipefail
work=${1:?usage: runs_bench.sh WORK COUNT BACKOUT JOURNAL_FIGURES REPS}
count=${2:?}
backout=${3:?}
figures=${4:?}
reps=${5:-3}
journal=$work/runs-journal
rm -rf "$journal" "$work/summaries-db"
mkdir -p "$work"
cat >"$work/runs-plan.yaml" <<'YAML'
version: 1
name: bench-runs
targets:
  here: { type: command, cwd: . }
steps:
  - id: only-step
    command: { target: here, argv: ["true"] }
YAML

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'; }
# best NAME CMD...: the fastest of REPS runs as NAME_s, with its peak RSS as NAME_rss_kb.
best() {
  local name=$1 i start end s rss best_s= best_rss=
  shift
  for ((i = 1; i <= reps; i++)); do
    start=$(now_ns)
    /usr/bin/time -f %M -o "$work/$name.rss" "$@" >"$work/$name.out" 2>"$work/$name.err"
    end=$(now_ns)
    s=$(secs "$start" "$end"); rss=$(tail -1 "$work/$name.rss")
    if [[ -z $best_s ]] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
      best_s=$s; best_rss=$rss
    fi
  done
  echo "${name}_s $best_s"
  echo "${name}_rss_kb $best_rss"
}

first=$((count / 5))
for n in "$first" "$count"; do
  start=$(now_ns)
  "$figures" make-runs "$journal" $((n == first ? first : count - first)) "$work/runs-plan.yaml"
  echo "runs_${n}_make_s $(secs "$start" "$(now_ns)")"
  # The first status after runs finished reads each of them once and indexes it.
  start=$(now_ns)
  "$backout" status --journal "$journal" >/dev/null 2>"$work/runs-first.err"
  echo "runs_${n}_status_first_s $(secs "$start" "$(now_ns)")"
  best "runs_${n}_status" "$backout" status --journal "$journal"
  best "runs_${n}_status_json" "$backout" status --json --journal "$journal"
done
echo "runs_${count}_lines $(wc -l <"$work/runs_${count}_status.out")"
# `run` of the plan the runs are of checks them all for an earlier success (from the index
# the status above wrote) and is refused (exit 2, expected): what that check costs a `run`.
best "runs_${count}_run_refused" sh -c "'$backout' run '$work/runs-plan.yaml' \
  --journal '$journal' >/dev/null 2>&1; test \$? -eq 2"
echo "runs_index_bytes $(stat -c %s "$journal/.runindex")"
# The peer: one RocksDB scan of as many summaries, each as large as an index entry.
bytes=$(($(stat -c %s "$journal/.runindex") / count))
"$figures" scan-summaries "$work/summaries-db" "$count" "$bytes" "$reps" | sed 's/^/runs_peer_/'
# The same scan as a whole process (what `status` is), and the start of a process of each
# binary alone (`--version`: no journal read), the part of both figures that is not the listing.
best runs_peer_process "$figures" scan-summaries "$work/summaries-db" "$count" "$bytes" 1
best runs_backout_start "$backout" --version
# What proves each index entry still holds: every run's stamp (two small files a run), read
# on one thread in process; with the start above, the floor `status` works against.
"$figures" read-stamps "$journal" "$reps" | sed 's/^/runs_/'
echo "runs_meta_count $count"
