#!/usr/bin/env bash
# Runs the README's test command N times in a row and prints one line per run (exit
# status, seconds, passed and failed counts); exits 1 if any run failed. With
# --beside-build, a release build of this tree from an empty target dir runs beside
# the tests the whole time (started again whenever it finishes), so the suite is tried
# on a loaded machine too.
#
#   scripts/repeat-tests.sh [N] [--beside-build]        default N = 10
set -uo pipefail
cd "$(dirname "$0")/.."

n=${1:-10}
beside=${2:-}
logs=$(mktemp -d)
test_command=$(grep -A3 '<!-- test-command -->' README.md | grep -m1 '^cargo ')

if [ "$beside" = --beside-build ]; then
  load_target=$(mktemp -d)
  (
    while [ ! -e "$logs/stop" ]; do
      rm -rf "$load_target"
      CARGO_TARGET_DIR="$load_target" cargo build --locked --release > /dev/null 2>&1
    done
  ) &
  loader=$!
  trap 'touch "$logs/stop"; kill "$loader" 2>/dev/null; pkill -f "$load_target" 2>/dev/null; rm -rf "$load_target"' EXIT
fi

failed=0
echo "$test_command, $n runs${beside:+, beside a release build}; logs in $logs"
for i in $(seq "$n"); do
  start=$(date +%s)
  eval "$test_command" > "$logs/run-$i.log" 2>&1
  rc=$?
  counts=$(grep -E '^test result' "$logs/run-$i.log" |
    awk '{p += $4; f += $6} END {print p " passed, " f " failed"}')
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, $counts"
  [ "$rc" = 0 ] || failed=1
done
exit "$failed"
