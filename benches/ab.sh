#!/usr/bin/env bash
# Two lenet-tui binaries side by side: `lenet-tui bench` of each in alternating
# rounds on the same data, then the median step throughput of each and their ratio
# (B / A) per variant. For checking that a change (a refactor, a new feature) leaves
# training speed as it was: build the commit before into A, the change into B.
#
#   benches/ab.sh A_BINARY B_BINARY [ROUNDS]               default 5
#
# Environment (defaults): DATA=/usr/share/datasets/fashion-mnist, THREADS=2,
# BATCHES=40, REPEATS=3.
set -euo pipefail
cd "$(dirname "$0")/.."

a=${1:?usage: benches/ab.sh A_BINARY B_BINARY [ROUNDS]}
b=${2:?usage: benches/ab.sh A_BINARY B_BINARY [ROUNDS]}
rounds=${3:-5}
data=${DATA:-/usr/share/datasets/fashion-mnist}
threads=${THREADS:-2}
batches=${BATCHES:-40}
repeats=${REPEATS:-3}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "A: $a ($("$a" --version)); B: $b ($("$b" --version))"
echo "threads $threads, $batches timed batches × $repeats repeats per run, $rounds rounds, data $data"
for round in $(seq "$rounds"); do
  # Alternate which goes first, so a drift in the machine's speed falls on both.
  if (( round % 2 )); then order="A B"; else order="B A"; fi
  for side in $order; do
    bin=$a; [ "$side" = B ] && bin=$b
    RAYON_NUM_THREADS=$threads "$bin" bench --json --data "$data" \
      --batches "$batches" --repeats "$repeats" |
      sed "s/^/$side /" >> "$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, rec = line.split(" ", 1)
    r = json.loads(rec)
    runs.setdefault((r["variant"], side), []).append(r["step"]["median"])
print(f"{'variant':<14} {'A ex/s':>9} {'B ex/s':>9} {'B/A':>6}  rounds (A | B)")
for variant in sorted({v for v, _ in runs}):
    a, b = runs[(variant, "A")], runs[(variant, "B")]
    ma, mb = statistics.median(a), statistics.median(b)
    fa = " ".join(f"{x:.0f}" for x in a)
    fb = " ".join(f"{x:.0f}" for x in b)
    print(f"{variant:<14} {ma:>9.0f} {mb:>9.0f} {mb / ma:>6.3f}  {fa} | {fb}")
PY
