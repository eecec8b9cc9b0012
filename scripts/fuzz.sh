#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (build-fuzz/: -fsanitize=fuzzer,
# address,undefined) and runs each for SECONDS (default 60), one after the other, at nice 10.
# Each target starts from its committed seed corpus (tests/fuzz/corpus/NAME) and regressions
# (tests/fuzz/regressions/NAME); what it discovers goes to build-fuzz/work/NAME, never into
# the source tree. Prints, per target, the time, executions and findings; a finding's input
# is kept as build-fuzz/findings/NAME/crash-* (or leak-, timeout-, oom-). Exits 1 if any
# target found something.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     TARGET: plan record import interpolate
#
# To keep a finding as a regression test: fix the bug, then copy the input to
# tests/fuzz/regressions/NAME/ (ctest's fuzz_corpus.NAME feeds it on every CI run).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(plan record import interpolate)

command -v clang++ >/dev/null && [[ -n $(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null) ]] ||
  scripts/setup.sh

echo "== building fuzz targets (build-fuzz/, clang, libFuzzer + ASan + UBSan)"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DBACKOUT_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]/%/_fuzz}" >/dev/null

status=0
summary=()
for t in "${targets[@]}"; do
  work=build-fuzz/work/$t findings=build-fuzz/findings/$t
  mkdir -p "$work" "$findings"
  seeds=(tests/fuzz/corpus/"$t")
  [[ -d tests/fuzz/regressions/$t ]] && seeds+=(tests/fuzz/regressions/"$t")
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict=tests/fuzz/$t.dict)
  log=build-fuzz/$t.log
  echo "== fuzzing $t for ${seconds}s (log: $log)"
  set +e
  # detect_leaks: a leak is a finding too. The time and memory limits turn hangs and
  # runaway allocations into findings instead of stalls.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    nice -n 10 "build-fuzz/tests/fuzz/${t}_fuzz" "${dict[@]}" -max_total_time="$seconds" \
    -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings/" \
    "$work" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*')
  found=$(find "$findings" -type f | wc -l)
  summary+=("$(printf '%-12s %6ss %12s execs  cov %6s  corpus %5s  findings %s' "$t" "$seconds" \
    "${execs:-?}" "${cov:-?}" "$(find "$work" -type f | wc -l)" "$found")")
  if ((rc != 0 || found > 0)); then
    status=1
    grep -m 5 -E 'ERROR|SUMMARY|Test unit written' "$log" || true
  fi
done
echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
