#!/usr/bin/env bash
# Every benchmark of docs/performance.md in one run, each next to its peer (the physical
# floor or the native tool) measured in the same run on the same filesystem, then one table.
#
#   scripts/bench.sh            full sizes, within 10 minutes on 2 cores
#   scripts/bench.sh --quick    small sizes, no goals judged (the CI smoke run)
#   --build-dir DIR             use the configured build tree DIR (any build type) instead
#                               of a Release build in build-bench/ (scripts/test.sh does)
#   --only SECTIONS             run only these sections (comma-separated: journal, sqlite,
#                               e2e, pg, steps, runs); the table then shows only their figures. The
#                               sizes of sqlite, e2e and pg can be set with
#                               BACKOUT_BENCH_SQLITE_ROWS (space-separated), _E2E_ROWS, _PG_ROWS
#
# Builds Release in build-bench/. Data and scratch files go to $BACKOUT_BENCH_DIR (default
# BUILD/bench-data, the same filesystem as the repository); they are removed at the start
# of the next run, not at the end, so that a surprising figure can be looked into. Raw
# figures: $BACKOUT_BENCH_DIR/results.txt; the table: $BACKOUT_BENCH_DIR/table.md.
# PostgreSQL figures need initdb/postgres (run as the `postgres` user when we are root);
# rows whose tools are missing say so instead of failing the run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

quick=0
build=
only=journal,sqlite,e2e,pg,steps,runs
while (($#)); do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) build=$(realpath "${2:?--build-dir needs a directory}"); shift ;;
    --only) only=${2:?--only needs sections}; shift ;;
    *) echo "usage: scripts/bench.sh [--quick] [--build-dir DIR] [--only SECTIONS]" >&2; exit 2 ;;
  esac
  shift
done

if [[ -z $build ]]; then
  build=$repo/build-bench
  scripts/setup.sh
  echo "== build (Release, $build)"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
work=${BACKOUT_BENCH_DIR:-$build/bench-data}
cmake --build "$build" -j "$(nproc)" --target backout journal_figures spawn_floor >/dev/null
backout=$build/cli/backout
figures=$build/bench/journal_figures

rm -rf "$work"
mkdir -p "$work"
results=$work/results.txt
: >"$results"
started=$(date +%s)
# The machine, for the table's footer: timings mean little without the load they ran under.
{
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
       "kernel $(uname -r), $(findmnt -no FSTYPE,SOURCE -T "$work" | tr -s ' ' ' ')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$work/machine.txt"

if ((quick)); then
  latency_n=100; batch_n=6400; run_sizes=(1000 10000); resume_size=10000
  sqlite_rows=(20000); e2e_rows=20000; pg_rows=20000; reps=1
  step_count=200
else
  latency_n=2000; batch_n=256000; run_sizes=(10000 100000 1000000); resume_size=100000
  sqlite_rows=(400000 4000000); e2e_rows=4000000; pg_rows=4000000; reps=3
  step_count=5000
fi
read -ra sqlite_rows <<<"${BACKOUT_BENCH_SQLITE_ROWS:-${sqlite_rows[*]}}"
e2e_rows=${BACKOUT_BENCH_E2E_ROWS:-$e2e_rows}
pg_rows=${BACKOUT_BENCH_PG_ROWS:-$pg_rows}
big_run=${run_sizes[-1]}
# want SECTION: whether --only (or its default, all) names SECTION.
want() { [[ ,$only, == *,$1,* ]]; }

record() { echo "$1 $2" >>"$results"; }
now_ns() { date +%s%N; }
# seconds_between START_NS END_NS: the time between two now_ns readings, in seconds.
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

# timed NAME CMD...: wall seconds and peak RSS (KiB, of the command and its children) of CMD,
# recorded as NAME_s and NAME_rss_kb. Output goes to $work/NAME.log.
timed() {
  local name=$1 start end
  shift
  start=$(now_ns)
  /usr/bin/time -f %M -o "$work/$name.rss" "$@" >"$work/$name.log" 2>&1 || {
    echo "bench: $name failed (exit $?); see $work/$name.log" >&2
    tail -5 "$work/$name.log" >&2
    return 1
  }
  end=$(now_ns)
  record "${name}_s" "$(seconds_between "$start" "$end")"
  record "${name}_rss_kb" "$(tail -1 "$work/$name.rss")"
}

# best [--fresh FILE] NAME REPS CMD...: the fastest of REPS timed runs (the figure least
# disturbed by the other processes on the machine) as NAME_s, with the peak RSS of that run;
# FILE, the command's output, is removed before each run and synced after the last one.
best() {
  local fresh=
  if [[ $1 == --fresh ]]; then fresh=$2; shift 2; fi
  local name=$1 reps=$2 i
  shift 2
  for ((i = 1; i <= reps; i++)); do
    # Outside the timing: dropping the last repetition's output (half a gigabyte for a report
    # of a million events) is no part of the command measured.
    if [[ -n $fresh ]]; then rm -f "$fresh"; fi
    timed "$name.$i" "$@"
  done
  # Outside the timing too: the last output's writeback (half a gigabyte for a report of a
  # million events) would otherwise land, 30 s later, in whatever is timed next.
  if [[ -n $fresh ]]; then sync "$fresh"; fi
  keep_best "$name" s
}

# keep_best NAME FIGURE: of the repetitions NAME.1, NAME.2, ... recorded so far, the one whose
# NAME.i_FIGURE is the smallest, recorded as NAME_FIGURE with that repetition's peak RSS as
# NAME_rss_kb.
keep_best() {
  awk -v n="$1" -v f="_$2" '
    function ends(key, tail) { return substr(key, length(key) - length(tail) + 1) == tail }
    index($1, n ".") != 1 { next }
    ends($1, f) { t[substr($1, 1, length($1) - length(f))] = $2 }
    ends($1, "_rss_kb") { m[substr($1, 1, length($1) - 7)] = $2 }
    END { for (k in t) if (best == "" || t[k] < best) { best = t[k]; rss = m[k] }
          printf "%s%s %s\n%s_rss_kb %s\n", n, f, best, n, rss }' "$results" >>"$results"
}

###############################################################################
# (Sections are not indented under their `if want`, to keep their history readable.)
record meta_sqlite_big "${sqlite_rows[-1]}"
if want journal; then
echo "== journal: durable append latency and throughput ($work/journal)"
record meta_big_run "$big_run"
record meta_resume_size "$resume_size"
mkdir -p "$work/latency" "$work/throughput"
"$figures" latency "$work/latency" "$latency_n" >>"$results"
"$figures" throughput "$work/throughput" "$batch_n" 64 >>"$results"

echo "== journal: runs of ${run_sizes[*]} events; fold, report, resume"
cat >"$work/run-plan.yaml" <<'EOF'
version: 1
name: bench-run
targets:
  here: { type: command, cwd: . }
steps:
  - id: next-action
    command: { target: here, argv: [/bin/sh, -c, "date +%s%N > action-started"] }
EOF
# reps_for_run EVENTS: repetitions of the figures of a run without a goal (status, events) and
# of its resume. One for the slow million-event run keeps the suite within its budget; the
# fold (whose bare scan is the reads' peer), the reports and verify, whose single runs swung by
# 1.5x on the project's VM, always get $reps.
reps_for_run() { echo $(($1 >= 1000000 ? 1 : reps)); }
for n in "${run_sizes[@]}"; do
  r=$(reps_for_run "$n")
  "$figures" make-run "$work/journal" "run-$n" "$n" "$work/run-plan.yaml"
  sync  # the new run's writeback is not left to land in the timed reads
  timed "fold_$n" "$figures" fold "$work/journal" "run-$n" "$reps"
  sed "s/^/fold_${n}_/" "$work/fold_$n.log" >>"$results"
  best --fresh "$work/report-$n.json" "report_$n" "$reps" \
    sh -c "'$backout' report run-$n --journal '$work/journal' --format json > '$work/report-$n.json'"
  # Streaming reports (issue 17): the other forms of the same report, written as produced.
  for form in html md; do
    best --fresh "$work/report-$n.$form" "report_${form}_$n" "$reps" \
      sh -c "'$backout' report run-$n --journal '$work/journal' \
      --format $form > '$work/report-$n.$form'"
  done
  # A report's writing floor: its bytes copied into a new file, the way the report wrote them
  # (each repetition's file removed before the next, so both write into pages the kernel just
  # freed, or both into new ones). On the project's VM the same copy took ten times as long
  # into pages not written lately as into pages just freed (docs/performance.md).
  for form in json html md; do
    best --fresh "$work/copy-$n.$form" "write_${form}_$n" "$reps" \
      sh -c "cat '$work/report-$n.$form' > '$work/copy-$n.$form'"
    record "write_${form}_${n}_bytes" "$(stat -c %s "$work/report-$n.$form")"
    rm -f "$work/copy-$n.$form"
  done
  # Streaming reads (issue 17): each command reads the run in one pass; time and peak RSS.
  best "status_$n" "$r" "$backout" status "run-$n" --journal "$work/journal"
  best "verify_$n" "$reps" "$backout" verify "run-$n" --journal "$work/journal"
  best "events_$n" "$r" sh -c "'$backout' events run-$n --journal '$work/journal' >/dev/null"
  # The fold's figures, the bare scan among them, once more after the reads, and the best of
  # both times kept (the table reads a key's last value): a peer timed in a slow minute would
  # flatter every ratio against it, as the bare scan of one run did (0.648 s against 0.43 s by
  # hand just after, slower than `verify`, which does all it does and more).
  "$figures" fold "$work/journal" "run-$n" "$reps" >"$work/fold_${n}_after.log"
  awk '!($1 in best) { order[count++] = $1 }
       !($1 in best) || $2 < best[$1] { best[$1] = $2 }
       END { for (i = 0; i < count; i++) print order[i], best[order[i]] }' \
    "$work/fold_$n.log" "$work/fold_${n}_after.log" | sed "s/^/fold_${n}_/" >>"$results"
done
# A resume runs the run's step and finishes the run, so each repetition resumes a copy of the
# paused run in a journal of its own, made and synced outside the timing. The best of the
# repetitions (reps_for_run) is the figure, with its peak RSS.
for n in "${run_sizes[@]}"; do
  r=$(reps_for_run "$n")
  for ((i = 1; i <= r; i++)); do
    rm -rf "$work/resume-journal" "$work/action-started"
    mkdir -m 700 "$work/resume-journal"
    cp -a "$work/journal/run-$n" "$work/resume-journal/"
    sync
    start=$(now_ns)
    timed "resume_$n.$i" "$backout" resume "run-$n" --journal "$work/resume-journal"
    record "resume_$n.${i}_to_action_s" "$(seconds_between "$start" "$(cat "$work/action-started")")"
  done
  keep_best "resume_$n" to_action_s
done
rm -rf "$work/resume-journal"
# The journal now holds the long paused runs (all of the same plan name). Listing every run
# reads each unfinished run in full (no index entry stands for it), and `run` reads every run
# of its plan's name before it starts (the "already succeeded" check): both in one pass, in
# memory that does not grow with the events. The run's one step fails (exit 1, expected), so
# no repetition finds an earlier success and each reads the long runs in full.
best "status_all" "$reps" sh -c "'$backout' status --journal '$work/journal' >/dev/null"
sed 's/date +%s%N > action-started/exit 3/' "$work/run-plan.yaml" >"$work/run-plan-fails.yaml"
best "run_start" "$reps" sh -c "'$backout' run '$work/run-plan-fails.yaml' \
  --journal '$work/journal' >/dev/null 2>&1; test \$? -eq 1"

fi  # journal

###############################################################################
# A seed-004 database: `generate.sh DIR ROWS` gives about 270 bytes per row (images, docs
# and media), so 4,000,000 rows make about 1 GB.
generate() {  # generate DIR ROWS
  APP_DRAIN_SECONDS=0 bash examples/media-rollback/generate.sh "$1" "$2" >/dev/null
  cp examples/media-rollback/app-ctl "$1/"
  rm -rf "$1/backups"/*
  cp "$1/data/app.db" "$1/pristine.db"
}

if want sqlite; then
echo "== sqlite: backup and restore vs the sqlite3 shell"
for rows in "${sqlite_rows[@]}"; do
  d=$work/sqlite-$rows
  generate "$d" "$rows"
  record "sqlite_${rows}_db_bytes" "$(stat -c %s "$d/data/app.db")"
  cat >"$d/backup.yaml" <<'EOF'
version: 1
name: bench-backup
targets:
  db: { type: sqlite, path: data/app.db }
steps:
  - id: backup
    backup: { target: db, to: backups/ours.db }
EOF
  cat >"$d/restore.yaml" <<'EOF'
version: 1
name: bench-restore
targets:
  db: { type: sqlite, path: data/app.db }
steps:
  - id: restore
    restore: { target: db, from: backups/ours.db }
EOF
  # Every repetition at both sizes (the copies are seconds, not minutes), and the order turns
  # round each time: on this VM whichever writes first after a large file was freed pays for
  # it, so a fixed order would favour one side.
  # The same plans run again and again in one journal: hence `run --again`.
  for ((i = 1; i <= reps; i++)); do
    rm -f "$d/backups/ours.db" "$d/backups/peer.db" "$d/backups/cp.db"
    backup_ours() { timed "sqlite_${rows}_backup_ours.$i" "$backout" run "$d/backup.yaml" --journal "$work/journal" --again; }
    backup_peer() { timed "sqlite_${rows}_backup_peer.$i" sqlite3 "$d/data/app.db" ".backup '$d/backups/peer.db'"; }
    restore_ours() { timed "sqlite_${rows}_restore_ours.$i" "$backout" run "$d/restore.yaml" --journal "$work/journal" --again; }
    restore_peer() { timed "sqlite_${rows}_restore_peer.$i" sqlite3 "$d/data/app.db" ".restore '$d/backups/peer.db'"; }
    if ((i % 2)); then backup_ours; backup_peer; else backup_peer; backup_ours; fi
    timed "sqlite_${rows}_backup_cp.$i" sh -c "cp '$d/data/app.db' '$d/backups/cp.db' && sync '$d/backups/cp.db'"
    if ((i % 2)); then restore_ours; restore_peer; else restore_peer; restore_ours; fi
  done
  for what in backup_ours backup_peer backup_cp restore_ours restore_peer; do
    best "sqlite_${rows}_$what" 0
  done
done

fi  # sqlite

###############################################################################
if want e2e; then
echo "== end to end: seed 004 plan vs bench/media-rollback.sh ($e2e_rows rows per table)"
d=$work/sqlite-$e2e_rows
[[ -f $d/pristine.db ]] || generate "$d" "$e2e_rows"
cp examples/media-rollback/plan.yaml "$d/plan.yaml"
reset_app() { cp "$d/pristine.db" "$d/data/app.db"; rm -rf "$d/backups"/*; echo running >"$d/app.state"; sync; }
reset_app
APP_DRAIN_SECONDS=0 timed e2e_ours "$backout" run "$d/plan.yaml" --journal "$work/journal" \
  --approve confirm=ROLLBACK_MEDIA
reset_app
APP_DRAIN_SECONDS=0 timed e2e_peer bash bench/media-rollback.sh "$d"
record e2e_db_bytes "$(stat -c %s "$d/pristine.db")"

fi  # e2e

###############################################################################
if want pg; then
echo "== postgresql"
bash bench/pg_bench.sh "$work/pg" "$pg_rows" "$backout" "$work/journal" >>"$results" ||
  echo "bench: the PostgreSQL benchmarks failed; see above" >&2
fi  # pg

###############################################################################
# Command steps (issue 17, steps that don't copy the runner); bench/steps_bench.sh runs alone too.
if want steps; then
echo "== command steps: $step_count steps of true vs posix_spawn + 2 fdatasync, and bash"
record meta_step_count "$step_count"
# A fifth of the steps once first, for the growth with steps (time and peak RSS).
bash bench/steps_bench.sh "$work/steps" $((step_count / 5)) "$backout" "$build/bench/spawn_floor" \
  1 >>"$results"
bash bench/steps_bench.sh "$work/steps" "$step_count" "$backout" "$build/bench/spawn_floor" \
  "$reps" >>"$results"
fi  # steps

###############################################################################
# Issue 17, a journal that lists thousands of runs; bench/runs_bench.sh runs this alone.
if want runs; then
status_runs=$((quick ? 200 : 5000))
echo "== status of $status_runs runs vs one RocksDB scan of as many summaries"
bash bench/runs_bench.sh "$work/runs" "$status_runs" "$backout" "$figures" "$reps" >>"$results"
fi  # runs

###############################################################################
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); whole run $(($(date +%s) - started)) s" \
  >>"$work/machine.txt"
echo "== table"
{ bash bench/table.sh "$results" "$quick"; echo; cat "$work/machine.txt"; } | tee "$work/table.md"
