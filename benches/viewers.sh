#!/usr/bin/env bash
# What viewers cost a live run: `train --headless` with no viewer, with 8
# `attach --json` viewers, and with one viewer stopped (SIGSTOP) for the whole run,
# in alternating rounds on the same data; the median training throughput of each
# (examples/sec of the epochs, from the run's own JSON lines) and the ratios to none.
#
#   benches/viewers.sh [BINARY] [ROUNDS]       default target/release/lenet-tui, 3
#
# Environment (defaults): DATA=/usr/share/datasets/fashion-mnist, EPOCHS=2, THREADS=2;
# BASE=BINARY adds runs of that binary (one without sockets, say) with no viewer.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/release/lenet-tui}
rounds=${2:-3}
data=${DATA:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-2}
threads=${THREADS:-2}
home=$(mktemp -d)
out=$(mktemp)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$home" "$out"' EXIT
export XDG_CONFIG_HOME=$home XDG_DATA_HOME=$home XDG_STATE_HOME=$home XDG_RUNTIME_DIR=$home/run

# One run with $1 viewers ($2 = stopped for one stalled viewer); prints the median
# examples/sec of its epochs.
one_run() {
  local viewers=$1 mode=${2:-} exe=${3:-$bin}
  RAYON_NUM_THREADS=$threads "$exe" train --headless --json --data "$data" \
    --epochs "$epochs" > "$home/run.json" 2>/dev/null &
  local run=$!
  local sock="$home/run/lenet-tui/$run.sock"
  for _ in $(seq 600); do [ -S "$sock" ] && break; sleep 0.05; done
  local pids=()
  for _ in $(seq "$viewers"); do
    "$bin" attach --json --socket "$sock" > /dev/null 2>&1 &
    pids+=($!)
  done
  if [ "$mode" = stopped ]; then sleep 1; kill -STOP "${pids[@]}"; fi
  wait "$run" || true
  if [ "$mode" = stopped ]; then kill -CONT "${pids[@]}" 2>/dev/null || true; fi
  kill "${pids[@]}" 2>/dev/null || true
  python3 -c '
import json, statistics, sys
rates = [json.loads(l)["examples_per_sec"] for l in open(sys.argv[1]) if "\"event\":\"epoch\"" in l]
print(statistics.median(rates))' "$home/run.json"
}

echo "machine: $(nproc) cores; $bin ($("$bin" --version)); $epochs epochs of $data, $threads threads, $rounds rounds"
for round in $(seq "$rounds"); do
  for setup in ${BASE:+base} none eight stalled; do
    case $setup in
      base) r=$(one_run 0 "" "$BASE") ;;
      none) r=$(one_run 0) ;;
      eight) r=$(one_run 8) ;;
      stalled) r=$(one_run 1 stopped) ;;
    esac
    echo "$setup $r" | tee -a "$out"
  done
done
python3 - "$out" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    setup, rate = line.split()
    runs.setdefault(setup, []).append(float(rate))
none = statistics.median(runs["none"])
for setup in ("base", "none", "eight", "stalled"):
    if setup not in runs:
        continue
    m = statistics.median(runs[setup])
    print(f"{setup:<8} {m:>9.0f} ex/s  ×{m / none:.3f}  rounds: {' '.join(f'{r:.0f}' for r in runs[setup])}")
PY
