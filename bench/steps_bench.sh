#!/usr/bin/env bash
# Command steps (issue 17, "steps that don't copy the runner"), for scripts/bench.sh or alone:
# a plan of STEPS steps of `true` run by backout, against
#   - bench/spawn_floor: posix_spawn + waitpid + two write+fdatasync per step (the floor of the
#     goal), and the same with each append syncing two files as our journal does (floor2), and
#   - a bash script running /bin/true STEPS times (bash forks a small process per command).
# Prints `name value` lines for bench/table.sh: steps_N_ours_s (and _ours_rss_kb, the peak RSS
# of that fastest run), steps_N_floor_s, steps_N_floor2_s,
# steps_N_bash_s (best of REPS each, the order turning round), steps_N_log_files (files under
# the run's logs/ after the run: 1, its run.log).
#
#   bench/steps_bench.sh WORK STEPS BACKOUT SPAWN_FLOOR [REPS]
set -euo pipefail
work=${1:?usage: steps_bench.sh WORK STEPS BACKOUT SPAWN_FLOOR [REPS]}
steps=${2:?}
backout=${3:?}
floor=${4:?}
reps=${5:-3}
true_bin=$(type -P true)  # a path, so that bash cannot use its builtin

rm -rf "$work"
mkdir -p "$work"
{
  printf 'version: 1\nname: bench-steps\ntargets:\n  here: { type: command, cwd: . }\nsteps:\n'
  for ((i = 1; i <= steps; i++)); do
    printf '  - id: s%d\n    command: { target: here, argv: ["true"] }\n' "$i"
  done
} >"$work/plan.yaml"
{
  echo "set -e"
  for ((i = 1; i <= steps; i++)); do echo "$true_bin"; done
} >"$work/script.sh"

now_ns() { date +%s%N; }
seconds_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }

ours= ours_rss= floor_s= floor2_s= bash_s=
run_ours() {
  local start took
  rm -rf "$work/journal"
  start=$(now_ns)
  /usr/bin/time -f %M -o "$work/ours.rss" \
    "$backout" run "$work/plan.yaml" --journal "$work/journal" >"$work/ours.log" 2>&1 ||
    { echo "steps_bench: backout run failed; see $work/ours.log" >&2; tail -5 "$work/ours.log" >&2; exit 1; }
  took=$(seconds_since "$start")
  if [[ $(min "$ours" "$took") == "$took" ]]; then ours_rss=$(tail -1 "$work/ours.rss"); fi
  ours=$(min "$ours" "$took")
}
floor_seconds() {  # floor_seconds FILES
  "$floor" "$work" "$steps" "$true_bin" "$1" |
    awk '$1 == "steps_floor_us" { printf "%.3f", $2 / 1e6 }'
}
run_floor() {
  floor_s=$(min "$floor_s" "$(floor_seconds 1)")
  floor2_s=$(min "$floor2_s" "$(floor_seconds 2)")
}
run_bash() {
  local start
  start=$(now_ns)
  bash "$work/script.sh"
  bash_s=$(min "$bash_s" "$(seconds_since "$start")")
}
for ((i = 1; i <= reps; i++)); do
  if ((i % 2)); then run_ours; run_floor; run_bash; else run_bash; run_floor; run_ours; fi
done
echo "steps_${steps}_ours_s $ours"
echo "steps_${steps}_ours_rss_kb $ours_rss"
echo "steps_${steps}_floor_s $floor_s"
echo "steps_${steps}_floor2_s $floor2_s"
echo "steps_${steps}_bash_s $bash_s"
echo "steps_${steps}_log_files $(find "$work/journal" -path '*/logs/*' -type f | wc -l)"
