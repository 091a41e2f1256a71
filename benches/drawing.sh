#!/usr/bin/env bash
# What a drawing being updated costs the run behind it: training throughput with the
# dashboard up (tmux, 160×48) and draw mode drawing (the pen down and the cursor moving
# ~25 times a second, so the model is asked about the drawing at its cap of 10 a
# second) against the dashboard up with no drawing, both with the same stream of key
# presses (`keys`: an unbound key, which only redraws) and with none (`idle`), in
# rounds that rotate the order. Each key press is a `tmux send-keys` process, which
# costs the 2-core machine too: drawing / keys is what the drawing itself costs,
# drawing / idle what a lecturer drawing costs the run, harness included. Throughput
# is the mean examples/sec of epochs 2 on, from each run's log.
#
#   benches/drawing.sh [ROUNDS] [BINARY] [DATA]
#     defaults: 6, target/release/lenet-tui, /usr/share/datasets/fashion-mnist
# EPOCHS (default 4) epochs a run.
#
# PAIR=1: drawing and keys run *at the same time* instead, each dashboard with one
# worker thread and its own tmux server and key presses, all pinned to one core (the
# sides swap cores every round), so the shared machine's drift falls on both alike;
# prints drawing / keys by round.
set -euo pipefail
rounds=${1:-6}
bin=$(realpath "${2:-target/release/lenet-tui}")
data=${3:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-4}
work=$(mktemp -d)
sock="lenet-draw-$$"
tmux_bin=$(command -v tmux)
trap 'for s in "$sock" "$sock-0" "$sock-1"; do tmux -L "$s" kill-server 2>/dev/null || true; done; rm -rf "$work"' EXIT

# One dashboard run; $1 = idle, keys or drawing, $2 (optional) the core to pin it,
# its tmux server and its key presses to. Prints the mean ex/s of epochs 2.. .
run() {
  local side=$1 home="$work/$1-$RANDOM" sock=$sock pin="" env=""
  if [ -n "${2:-}" ]; then
    sock="$sock-$2" pin="taskset -c $2" env="RAYON_NUM_THREADS=1"
  fi
  # shellcheck disable=SC2086 # $pin is a command prefix or nothing
  tmux() { $pin "$tmux_bin" "$@"; }
  mkdir -p "$home"
  tmux -L "$sock" new-session -d -s d -x 160 -y 48 \
    "$env XDG_DATA_HOME=$home XDG_STATE_HOME=$home XDG_CONFIG_HOME=$home $bin --data $data --epochs $epochs --exit-on-finish --capture-dir $home/captures"
  until tmux -L "$sock" capture-pane -p -t d 2>/dev/null | grep -q "Layers"; do sleep 0.05; done
  if [ "$side" = drawing ]; then
    tmux -L "$sock" send-keys -t d i Space
    local dx=Right n=0
  fi
  while tmux -L "$sock" has-session -t d 2>/dev/null; do
    if [ "$side" = keys ]; then
      tmux -L "$sock" send-keys -t d F12 2>/dev/null || true
      sleep 0.04
    elif [ "$side" = drawing ]; then
      # Back and forth across the canvas, a row down at each end.
      n=$((n + 1))
      if (( n % 20 == 0 )); then
        tmux -L "$sock" send-keys -t d Down 2>/dev/null || true
        if [ "$dx" = Right ]; then dx=Left; else dx=Right; fi
      fi
      tmux -L "$sock" send-keys -t d "$dx" 2>/dev/null || true
      sleep 0.04
    else
      sleep 0.2
    fi
  done
  awk '/epoch finished/ && !/epoch=1 / {for (i = 1; i <= NF; i++) if ($i ~ /^examples_per_sec=/) {split($i, kv, "="); s += kv[2]; n++}} END {printf "%.0f", s / n}' \
    "$home"/lenet-tui/logs/*.log
}

median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "machine: $(nproc) cores; $bin; data $data; $epochs epochs a run"
if [ -n "${PAIR:-}" ]; then
  for round in $(seq "$rounds"); do
    if (( round % 2 )); then draw_core=0 keys_core=1; else draw_core=1 keys_core=0; fi
    run drawing "$draw_core" > "$work/drawing" &
    run keys "$keys_core" > "$work/keys" &
    wait
    d=$(cat "$work/drawing") k=$(cat "$work/keys")
    echo "round $round: drawing (core $draw_core) $d ex/s, keys (core $keys_core) $k ex/s, $(awk -v a="$d" -v b="$k" 'BEGIN {printf "%.4f", a / b}')"
    awk -v a="$d" -v b="$k" 'BEGIN {printf "%.4f\n", a / b}' >> "$work/vs_keys"
  done
  echo "drawing / keys by round: $(tr '\n' ' ' < "$work/vs_keys"); median $(median < "$work/vs_keys")"
  exit 0
fi
for round in $(seq "$rounds"); do
  case $((round % 3)) in
    1) order="idle keys drawing" ;;
    2) order="keys drawing idle" ;;
    0) order="drawing idle keys" ;;
  esac
  for side in $order; do
    speed=$(run "$side")
    echo "round $round $side: $speed ex/s"
    eval "speed_$side=$speed"
  done
  echo "$speed_drawing $speed_keys" | awk '{printf "%.4f\n", $1 / $2}' >> "$work/vs_keys"
  echo "$speed_drawing $speed_idle" | awk '{printf "%.4f\n", $1 / $2}' >> "$work/vs_idle"
done
echo "drawing / keys by round: $(tr '\n' ' ' < "$work/vs_keys"); median $(median < "$work/vs_keys")"
echo "drawing / idle by round: $(tr '\n' ' ' < "$work/vs_idle"); median $(median < "$work/vs_idle")"
