#!/usr/bin/env bash
# Runs the fuzz targets: the libFuzzer harnesses of cpp/fuzz (built into build/fuzz by `make fuzz-build`)
# and the atheris harness of the Python payload parsers (tests/fuzz/fuzz_payloads.py).
#
#   scripts/fuzz.sh smoke SECONDS [TARGET...]  each target for SECONDS from its committed corpus; new
#                                              inputs go to a scratch folder that is removed afterwards
#   scripts/fuzz.sh long SECONDS [TARGET...]   each target for SECONDS on a kept work corpus
#                                              (build/fuzz/work/TARGET), then merge (below)
#   scripts/fuzz.sh merge [TARGET...]          adds to the committed corpus the fewest inputs of the work
#                                              corpus that reach code it does not (commit them)
#
# Targets: read_csv ghcn_dly validate aqi aggregate payloads (all by default). Any crash, leak, timeout,
# out-of-memory, broken invariant or sanitizer report fails the run (exit 1); the input that did it is
# kept in build/fuzz/artifacts/ and the log in build/fuzz/logs/. One line per target tells the time,
# executions and corpus size.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
USAGE="usage: scripts/fuzz.sh smoke|long SECONDS [TARGET...] | scripts/fuzz.sh merge [TARGET...]"
MODE=${1:?$USAGE}
shift
case $MODE in
  smoke | long) SECONDS_PER_TARGET=${1:?$USAGE}; shift ;;
  merge) SECONDS_PER_TARGET=0 ;;
  *) echo "$USAGE" >&2; exit 2 ;;
esac
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(read_csv ghcn_dly validate aqi aggregate payloads)

BUILD=build/fuzz
mkdir -p "$BUILD/artifacts" "$BUILD/logs" "$BUILD/work"
SCRATCH=$(mktemp -d "$BUILD/smoke.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# Inputs up to 4 KiB: enough for a header and a few dozen rows, and the committed corpus stays small.
# A 10 s input is a hang; 2 GiB of memory, a leak or an unbounded allocation.
COMMON=(-max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
# The Python process keeps its interpreter's allocations: only the C++ targets check for leaks.

failed=()
for target in "${TARGETS[@]}"; do
  if [ "$target" = payloads ]; then
    # Run as an executable, not as `python script`: libFuzzer's merge starts argv[0] again, and the
    # script's `env python3` finds the project's interpreter first on PATH.
    command=(tests/fuzz/fuzz_payloads.py)
    export PATH="$ROOT/.venv/bin:$PATH"
    corpus=tests/fuzz/corpus/payloads
    extra=(-detect_leaks=0)
  else
    command=("$BUILD/fuzz_$target")
    corpus=cpp/fuzz/corpus/$target
    extra=()
    [ -f "cpp/fuzz/$target.dict" ] && extra+=("-dict=cpp/fuzz/$target.dict")
  fi
  [ -x "${command[0]}" ] || { echo "fuzz.sh: ${command[0]} is missing (make fuzz-build / make setup)" >&2; exit 2; }
  if [ "$MODE" = smoke ]; then work=$SCRATCH/$target; else work=$BUILD/work/$target; fi
  mkdir -p "$work"
  log=$BUILD/logs/$target.log
  start=$(date +%s)
  status=ok
  runs=
  if [ "$MODE" != merge ]; then
    if ! "${command[@]}" "${COMMON[@]}" "${extra[@]}" -max_total_time="$SECONDS_PER_TARGET" \
        -artifact_prefix="$BUILD/artifacts/$target-" "$work" "$corpus" >"$log" 2>&1; then
      status=FAILED
      failed+=("$target")
    fi
    runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log" | tail -n 1)
  fi
  elapsed=$(($(date +%s) - start))
  if [ "$MODE" != smoke ] && [ "$status" = ok ]; then
    # Only inputs that reach new edges (use_counters=0: not new hit counts of known ones), as few as
    # cover them (set_cover_merge), so the committed corpus stays a few dozen small files; the whole
    # work corpus stays in build/fuzz/work for the next long run.
    "${command[@]}" -set_cover_merge=1 -use_counters=0 "${COMMON[@]}" "${extra[@]}" "$corpus" "$work" \
      >"$BUILD/logs/$target-merge.log" 2>&1 || { status=FAILED; failed+=("$target (merge)"); }
  fi
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  new=$(find "$work" -type f | wc -l)
  printf 'fuzz %-10s %-6s %4ss %10s runs (%s/s)  corpus %s files, %s bytes; work corpus %s inputs\n' \
    "$target" "$status" "$elapsed" "${runs:-?}" "$(( ${runs:-0} / (elapsed > 0 ? elapsed : 1) ))" \
    "$files" "$bytes" "$new"
  if [ "$status" = FAILED ]; then
    echo "---- last lines of $log ----"
    grep -v -E '^#[0-9]+ +(NEW|REDUCE|pulse)' "$log" | tail -n 40
    artifact=$(ls -t "$BUILD/artifacts/$target-"* 2>/dev/null | head -n 1 || true)
    [ -z "$artifact" ] || echo "the input: $artifact (run the target on it to reproduce)"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
