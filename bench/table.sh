#!/usr/bin/env bash
# The table of scripts/bench.sh from its results file (`name value` lines).
#   bench/table.sh RESULTS QUICK     QUICK=1: report the figures, judge no goal
set -euo pipefail
results=${1:?usage: table.sh RESULTS QUICK}
quick=${2:-0}

v() { awk -v k="$1" '$1 == k { x = $2 } END { print x }' "$results"; }
us_to_s() { [[ -n $1 ]] && awk -v x="$1" 'BEGIN { printf "%.3f", x / 1e6 }' || true; }
# mib KEY [DECIMALS]: the KiB figure KEY in MiB (empty when there is none).
mib() {
  [[ -n $(v "$1") ]] && awk -v k="$(v "$1")" -v d="${2:-0}" 'BEGIN { printf "%." d "f", k / 1024 }' || true
}
# The sizes of the runs the journal section made, smallest first (each once: a run's fold
# figures are recorded twice, before and after its reads).
event_sizes() {
  awk '$1 ~ /^fold_[0-9]+_events$/ { sub(/^fold_/, "", $1); sub(/_events$/, "", $1); print $1 }' \
    "$results" | sort -nu
}

big=$(v meta_big_run); mid=$(v meta_resume_size); rows=$(v meta_sqlite_big)

# row FIGURE OURS PEER PEER_NAME GOAL: GOAL is "ratio<=X", "ratio>=X", "ours>=X" or "-";
# the ratio is ours / peer.
row() {
  local figure=$1 ours=$2 peer=$3 peer_name=$4 goal=$5
  awk -v f="$figure" -v o="$ours" -v p="$peer" -v pn="$peer_name" -v g="$goal" -v q="$quick" '
    function num(x) { return x ~ /^[0-9.eE+-]+$/ }
    BEGIN {
      r = (num(o) && num(p) && p > 0) ? sprintf("%.2f", o / p) : "-"
      met = "-"
      if (g != "-" && q != 1 && num(o)) {
        split(g, parts, /<=|>=/); limit = parts[2]; lhs = (g ~ /^ratio/) ? r : o
        if (lhs != "-") met = ((g ~ /<=/) ? (lhs + 0 <= limit + 0) : (lhs + 0 >= limit + 0)) ? "yes" : "**no**"
      }
      printf "| %s | %s | %s | %s | %s | %s |\n", f, (o == "" ? "pending" : o),
             (p == "" ? "-" : p " (" pn ")"), r, g, met
    }'
}

sum() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a + b }' || true; }
pending_pg=$(v pg_adapter_pending)
# An adapter figure, or why there is none: no server binaries, or no adapter in this build.
pg_absent() {
  if [[ $(v pg_missing) == 1 ]]; then echo "no PostgreSQL server"
  elif [[ $pending_pg == 1 ]]; then echo "pending adapter"
  fi
}
pg() { [[ -n $(pg_absent) ]] && pg_absent || v "$1"; }
pg_sum() { [[ -n $(pg_absent) ]] && pg_absent || sum "$(v "$1")" "$(v "$2")"; }

echo "| figure | ours | peer | ratio | goal | met? |"
echo "| --- | --- | --- | --- | --- | --- |"
row "durable append, 1 event, p50 (us)" "$(v append_p50_us)" "$(v raw_fdatasync_p50_us)" \
  "write+fdatasync" "ratio<=1.2"
row "durable append, 1 event, p99 (us)" "$(v append_p99_us)" "$(v raw_fdatasync_p99_us)" \
  "write+fdatasync" "-"
row "default RocksDB synced Put, p50 (us)" "$(v default_rocksdb_put_p50_us)" \
  "$(v raw_fdatasync_p50_us)" "write+fdatasync" "-"
# The ceiling: one 64-event batch per write+fdatasync at the measured floor.
ceiling=$(awk -v p="$(v raw_fdatasync_p50_us)" 'BEGIN { if (p > 0) printf "%.0f", 64e6 / p }')
row "durable events/s, 64 per append" "$(v batched_events_per_s)" "$ceiling" \
  "64 / fdatasync p50" "ours>=100000"
row "read+verify+decode+fold, $big events (s)" "$(us_to_s "$(v fold_${big}_snapshot_us)")" \
  "$(us_to_s "$(v fold_${big}_bare_iteration_us)")" "bare RocksDB scan" "ratio<=2.0"
# The results' name of a report form's figures at the big run (the JSON one's predates the
# other forms): report_<big> for json, report_<form>_<big> otherwise.
report_name() { [[ $1 == json ]] && echo "report_${big}" || echo "report_$1_${big}"; }
# Streaming reports (issue 17): every form against the bare scan, then against its floor (the
# checked pass, `verify`, plus the writing of its bytes: `cat` of the report into a new file),
# and its peak RSS.
for form in json html md; do
  row "report --format $form, $big events (s)" "$(v "$(report_name $form)_s")" \
    "$(us_to_s "$(v fold_${big}_bare_iteration_us)")" "bare RocksDB scan" "ratio<=3.0"
done
for form in json html md; do
  row "report --format $form, $big events (s)" "$(v "$(report_name $form)_s")" \
    "$(sum "$(v verify_${big}_s)" "$(v write_${form}_${big}_s)")" \
    "verify + cat of its $(v write_${form}_${big}_bytes) bytes: $(v verify_${big}_s) + $(v write_${form}_${big}_s)" "-"
done
for form in json html md; do
  row "report --format $form, $big events, peak RSS (MiB)" "$(mib "$(report_name $form)_rss_kb")" \
    "" "-" "ours<=64"
done
row "resume to next action, $mid events (s)" "$(v resume_${mid}_to_action_s)" \
  "$(us_to_s "$(v fold_${mid}_bare_iteration_us)")" "bare RocksDB scan" "ratio<=3.0"
mb=$(awk -v b="$(v sqlite_${rows}_db_bytes)" 'BEGIN { printf "%d", b / 1e6 }')
row "SQLite backup + sha256, $mb MB (s)" "$(v sqlite_${rows}_backup_ours_s)" \
  "$(v sqlite_${rows}_backup_peer_s)" "sqlite3 .backup" "ratio<=1.0"
row "SQLite backup + sha256, $mb MB (s)" "$(v sqlite_${rows}_backup_ours_s)" \
  "$(v sqlite_${rows}_backup_cp_s)" "cp + sync" "-"
row "SQLite restore, $mb MB (s)" "$(v sqlite_${rows}_restore_ours_s)" \
  "$(v sqlite_${rows}_restore_peer_s)" "sqlite3 .restore" "ratio<=1.0"
pgmb=$(awk -v b="$(v pg_table_bytes)" 'BEGIN { printf "%d", b / 1e6 }')
row "PostgreSQL backup + restore tables, $pgmb MB (s)" \
  "$(pg_sum pg_ours_backup_s pg_ours_restore_s)" "$(sum "$(v pg_dump_s)" "$(v pg_restore_s)")" \
  "pg_dump -Fc + pg_restore" "ratio<=0.45"
row "PostgreSQL restore tables, $pgmb MB (s)" "$(pg pg_ours_restore_s)" "$(v pg_restore_floor_s)" \
  "truncate + COPY binary + index builds" "ratio<=1.1"
row "PostgreSQL baseline checksum, $pgmb MB (s)" "$(pg pg_ours_baseline_s)" \
  "$(v pg_md5_string_agg_s)" "md5(string_agg)" "ratio<=0.25"
row "PostgreSQL baseline checksum, $pgmb MB (s)" "$(pg pg_ours_baseline_s)" \
  "$(v pg_copy_to_s)" "COPY TO" "ratio<=1.2"
e2emb=$(awk -v b="$(v e2e_db_bytes)" 'BEGIN { printf "%d", b / 1e6 }')
row "seed 004 plan end to end, $e2emb MB (s)" "$(v e2e_ours_s)" "$(v e2e_peer_s)" \
  "bench/media-rollback.sh" "ratio<=1.1"

# Command steps (issue 17): bench/steps_bench.sh.
steps=$(v meta_step_count)
row "plan of $steps command steps of true (s)" "$(v steps_${steps}_ours_s)" \
  "$(v steps_${steps}_floor_s)" "posix_spawn + 2 write+fdatasync per step" "ratio<=1.5"
row "plan of $steps command steps of true (s)" "$(v steps_${steps}_ours_s)" \
  "$(v steps_${steps}_floor2_s)" "the same, each append syncing 2 files as the journal" "-"
row "plan of $steps command steps of true (s)" "$(v steps_${steps}_ours_s)" \
  "$(v steps_${steps}_bash_s)" "bash script of /bin/true" "-"
row "log files left by that run" "$(v steps_${steps}_log_files)" "$steps" "steps" "files<=1"

# Issue 17, a journal that lists thousands of runs (bench/runs_bench.sh).
runs=$(v runs_meta_count)
row "status of $runs runs (s)" "$(v runs_${runs}_status_s)" "$(us_to_s "$(v runs_peer_scan_us)")" \
  "one RocksDB scan of $runs summaries" "ratio<=5.0"
row "status --json of $runs runs (s)" "$(v runs_${runs}_status_json_s)" \
  "$(us_to_s "$(v runs_peer_scan_us)")" "one RocksDB scan of $runs summaries" "ratio<=5.0"
row "status of $runs runs (s)" "$(v runs_${runs}_status_s)" "$(v runs_peer_process_s)" \
  "the scan as a process" "-"
row "run refused after checking $runs runs for an earlier success (s)" \
  "$(v runs_${runs}_run_refused_s)" "$(v runs_peer_process_s)" "the scan as a process" "-"
row "status of $runs runs (s)" "$(v runs_${runs}_status_s)" \
  "$(awk -v s="$(v runs_backout_start_s)" -v u="$(v runs_stamps_us)" 'BEGIN { printf "%.4f", s + u / 1e6 }')" \
  "backout --version + the $runs stamps read on one thread" "-"
echo
echo "Growth with size (seconds; peak RSS of the process in MiB):"
echo
echo "| events | bare scan | read+verify+decode+fold | fold RSS | report json | report RSS | report html | html RSS | report md | md RSS | resume to action | resume RSS |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for n in $(event_sizes); do
  echo "| $n | $(us_to_s "$(v fold_${n}_bare_iteration_us)") | $(us_to_s "$(v fold_${n}_snapshot_us)") |" \
       "$(mib fold_${n}_rss_kb) | $(v report_${n}_s) | $(mib report_${n}_rss_kb) |" \
       "$(v report_html_${n}_s) | $(mib report_html_${n}_rss_kb) |" \
       "$(v report_md_${n}_s) | $(mib report_md_${n}_rss_kb) |" \
       "$(v resume_${n}_to_action_s) | $(mib resume_${n}_rss_kb) |"
done
echo
# Streaming reads (issue 17): each command reads a run in one pass; memory must not grow with
# the events (goal: peak RSS <= 64 MiB at the largest run).
echo "Streaming reads (seconds / peak RSS in MiB; checked read = ScanRun alone, in process):"
echo
echo "| events | bare scan | checked read | status RUN | status RSS | verify | verify RSS | events | events RSS |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for n in $(event_sizes); do
  echo "| $n | $(us_to_s "$(v fold_${n}_bare_iteration_us)") | $(us_to_s "$(v fold_${n}_scan_verify_us)") |" \
       "$(v status_${n}_s) | $(mib status_${n}_rss_kb) | $(v verify_${n}_s) | $(mib verify_${n}_rss_kb) |" \
       "$(v events_${n}_s) | $(mib events_${n}_rss_kb) |"
done
echo
echo "| figure | ours | peer | ratio | goal | met? |"
echo "| --- | --- | --- | --- | --- | --- |"
row "verify, $big events (s)" "$(v verify_${big}_s)" \
  "$(us_to_s "$(v fold_${big}_bare_iteration_us)")" "bare RocksDB scan" "ratio<=2.0"
for figure in fold status verify events resume; do
  row "$figure peak RSS, $big events (MiB)" "$(mib "${figure}_${big}_rss_kb")" "" "" "ours<=64"
done
# A journal holding every run above, unfinished: listing them all, and a new run's start
# (which reads the runs of its plan first), each against the sum of their bare scans.
all_events=$(event_sizes | awk '{ t += $1 } END { print t + 0 }')
all_scans=$(for n in $(event_sizes); do v fold_${n}_bare_iteration_us; done | awk '{ t += $1 } END { print t + 0 }')
row "status of every run ($all_events events in all) (s)" "$(v status_all_s)" \
  "$(us_to_s "$all_scans")" "bare RocksDB scans of those runs" "-"
row "status of every run, peak RSS (MiB)" "$(mib status_all_rss_kb)" "" "" "ours<=64"
row "run started after reading them (s)" "$(v run_start_s)" \
  "$(us_to_s "$all_scans")" "bare RocksDB scans of those runs" "-"
row "run started after reading them, peak RSS (MiB)" "$(mib run_start_rss_kb)" "" "" "ours<=64"
echo
echo "| SQLite database | backup ours | backup sqlite3 | backup RSS ours / sqlite3 | restore ours | restore sqlite3 |"
echo "| --- | --- | --- | --- | --- | --- |"
for r in $(awk '$1 ~ /^sqlite_[0-9]+_db_bytes$/ { split($1, a, "_"); print a[2] }' "$results"); do
  mb=$(awk -v b="$(v sqlite_${r}_db_bytes)" 'BEGIN { printf "%d", b / 1e6 }')
  echo "| $mb MB | $(v sqlite_${r}_backup_ours_s) | $(v sqlite_${r}_backup_peer_s) |" \
       "$(mib sqlite_${r}_backup_ours_rss_kb) / $(mib sqlite_${r}_backup_peer_rss_kb) MiB |" \
       "$(v sqlite_${r}_restore_ours_s) | $(v sqlite_${r}_restore_peer_s) |"
done
echo
echo "End to end peak RSS: ours $(mib e2e_ours_rss_kb) MiB, script $(mib e2e_peer_rss_kb) MiB."
echo
echo "Growth with steps (seconds; peak RSS of ours in MiB; the smaller plan timed once):"
echo
echo "| steps | ours | ours RSS | spawn + 2 syncs | spawn + 4 syncs | bash | ours / spawn + 2 syncs |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for n in $(awk '$1 ~ /^steps_[0-9]+_ours_s$/ { split($1, a, "_"); print a[2] }' "$results" | sort -nu); do
  echo "| $n | $(v steps_${n}_ours_s) | $(mib steps_${n}_ours_rss_kb) | $(v steps_${n}_floor_s) |" \
       "$(v steps_${n}_floor2_s) | $(v steps_${n}_bash_s) |" \
       "$(awk -v a="$(v steps_${n}_ours_s)" -v b="$(v steps_${n}_floor_s)" 'BEGIN { if (b > 0) printf "%.2f", a / b }') |"
done
echo
echo "Status of many runs (seconds; peak RSS in MiB; first: the status that indexes them):"
echo
echo "| runs | status first | status | RSS | status --json | RSS |"
echo "| --- | --- | --- | --- | --- | --- |"
for n in $(awk '$1 ~ /^runs_[0-9]+_status_s$/ { split($1, a, "_"); print a[2] }' "$results"); do
  echo "| $n | $(v runs_${n}_status_first_s) | $(v runs_${n}_status_s) | $(mib runs_${n}_status_rss_kb 1) |" \
       "$(v runs_${n}_status_json_s) | $(mib runs_${n}_status_json_rss_kb 1) |"
done
