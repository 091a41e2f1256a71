#!/usr/bin/env bash
# What the dashboard costs: training throughput with the dashboard up (in tmux, at
# 160×48) against headless, in alternating runs so the shared machine's drift hits
# both alike; the CPU time the dashboard's own threads and tmux take against the
# trainer's (steadier than throughput on a busy machine); the steady-state bytes per
# second written to the terminal (what SSH carries: everything from two seconds after
# the first frame) at 160×48 and 80×24; and the time from launch to the first frame.
#
#   benches/dashboard.sh [ROUNDS] [BINARY] [DATA]
#     defaults: 7, target/release/lenet-tui, /usr/share/datasets/fashion-mnist
# Each run trains EPOCHS epochs (default 3) and counts the mean of epochs 2 on (epoch 1
# warms up); with the CPU step at ~25k ex/s an epoch takes under 3 s, so EPOCHS=8
# gives each run enough training to measure. KEYS (tmux key names, e.g. KEYS=d for the
# gradient-flow panel) are sent right after the first frame, before the steady state.
set -euo pipefail
rounds=${1:-7}
bin=$(realpath "${2:-target/release/lenet-tui}")
data=${3:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
sock="lenet-dash-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
epochs=${EPOCHS:-3}

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a - b}'; }

# Mean examples/sec of epochs 2.. headless.
headless() {
  env XDG_DATA_HOME="$work" XDG_STATE_HOME="$work" "$bin" train --headless \
    --data "$data" --epochs $epochs 2>&1 |
    awk '/^epoch [0-9]+\// && !/^epoch 1\//{s += $(NF-3); n++} END {printf "%.1f", s / n}'
}

# CPU ticks so far of the dashboard process $1's own threads (the main thread, which
# draws, and the input thread), of the rest (trainer and kernel workers), and of the
# tmux server $2, which parses what the dashboard writes: "UI TRAIN TMUX".
cpu_ticks() {
  local ui=0 train=0 tid comm ticks stat
  for stat in /proc/"$1"/task/*/stat; do
    read -r tid comm ticks < <(awk '{print $1, $2, $14 + $15}' "$stat" 2>/dev/null) || continue
    if [ "$tid" = "$1" ] || [ "$comm" = "(input)" ]; then
      ui=$((ui + ticks))
    else
      train=$((train + ticks))
    fi
  done
  echo "$ui $train $(awk '{print $14 + $15}' /proc/"$2"/stat)"
}

# Runs the dashboard at $1×$2; prints "EX_PER_SEC STEADY_BYTES_PER_SEC FIRST_FRAME_S
# CPU_SHARE", the last being the dashboard's and tmux's CPU time over the trainer's.
dashboard() {
  local w=$1 h=$2 out="$work/out.bin" start first="" t0="" s0=0 pid="" server tmux0
  local ticks="0 1 0"
  rm -rf "$out" "$work/lenet-tui/logs"
  start=$(now)
  tmux -L "$sock" new-session -d -s d -x "$w" -y "$h" \
    "XDG_DATA_HOME=$work XDG_STATE_HOME=$work XDG_CONFIG_HOME=$work $bin --data $data --epochs $epochs --exit-on-finish"
  tmux -L "$sock" pipe-pane -t d -o "cat > $out"
  server=$(tmux -L "$sock" display -p '#{pid}')
  tmux0=$(awk '{print $14 + $15}' /proc/"$server"/stat)
  while tmux -L "$sock" has-session -t d 2>/dev/null; do
    if [ -z "$first" ] && tmux -L "$sock" capture-pane -p -t d 2>/dev/null | grep -q "Layers"; then
      first=$(now)
      # shellcheck disable=SC2086 # KEYS is a list of key names
      [ -n "${KEYS:-}" ] && tmux -L "$sock" send-keys -t d ${KEYS}
    fi
    # Steady state starts two seconds after the first frame.
    if [ -n "$first" ] && [ -z "$t0" ] && [ "$(sub "$(now)" "$first" | cut -d. -f1)" -ge 2 ]; then
      t0=$(now)
      s0=$(stat -c %s "$out")
    fi
    [ -z "$pid" ] && pid=$(pgrep -n -f -- "$bin --data $data --epochs" || true)
    if [ -n "$pid" ] && [ -d /proc/"$pid" ]; then
      ticks=$(cpu_ticks "$pid" "$server" 2>/dev/null || echo "$ticks")
    fi
    # Poll fast only until the first frame: the polling itself costs CPU.
    if [ -n "$t0" ]; then sleep 0.5; else sleep 0.02; fi
  done
  local end bytes speed share
  end=$(now)
  bytes=$(stat -c %s "$out")
  speed=$(awk '/epoch finished/ && !/epoch=1 / {for (i = 1; i <= NF; i++) if ($i ~ /^examples_per_sec=/) {split($i, kv, "="); s += kv[2]; n++}}
    END {if (n) printf "%.1f", s / n}' "$work"/lenet-tui/logs/*.log)
  share=$(echo "$ticks" | awk -v t0="$tmux0" '{printf "%.2f%%", 100 * ($1 + $3 - t0) / $2}')
  echo "${speed:-0} $(awk -v n=$((bytes - s0)) -v s="$(sub "$end" "$t0")" 'BEGIN {printf "%.0f", n / s}') $(sub "$first" "$start") $share"
}

ratios=()
for r in $(seq 1 "$rounds"); do
  hl=$(headless)
  read -r ds rate first share < <(dashboard 160 48)
  ratio=$(awk -v d="$ds" -v h="$hl" 'BEGIN {printf "%.3f", d / h}')
  ratios+=("$ratio")
  echo "round $r: headless $hl ex/s; dashboard 160x48 $ds ex/s (${ratio}x); $rate B/s to the terminal; first frame after $first s; dashboard+tmux CPU $share of the trainer's"
done
read -r ds rate first share < <(dashboard 80 24)
echo "dashboard 80x24: $ds ex/s; $rate B/s to the terminal; first frame after $first s; dashboard+tmux CPU $share of the trainer's"
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
echo "median dashboard/headless: ${median}x over $rounds rounds"
