#!/usr/bin/env bash
# What the dashboard costs: training throughput with the dashboard up (tmux) against
# headless, bytes per second written to the terminal (what SSH carries) at 80×24 and
# 160×48, and the time from launch to the first full frame.
#
#   benches/dashboard.sh [BINARY] [DATA]     defaults: target/release/lenet-tui,
#                                            /usr/share/datasets/fashion-mnist
set -euo pipefail
bin=$(realpath "${1:-target/release/lenet-tui}")
data=${2:-/usr/share/datasets/fashion-mnist}
work=$(mktemp -d)
sock="lenet-dash-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT
env="XDG_DATA_HOME=$work XDG_STATE_HOME=$work XDG_CONFIG_HOME=$work"
epochs=2

# Epoch 2's examples/sec (epoch 1 warms up).
headless=$(env XDG_DATA_HOME=$work XDG_STATE_HOME=$work "$bin" train --headless \
  --data "$data" --epochs $epochs 2>&1 | awk '/^epoch 2\//{print $(NF-3)}')
echo "headless: $headless examples/sec"

for size in 160x48 80x24; do
  w=${size%x*} h=${size#*x}
  rm -f "$work/out.bin" "$work/lenet-tui/lenet-tui.log"
  start=$(date +%s.%N)
  tmux -L "$sock" new-session -d -s d -x "$w" -y "$h" \
    "$env $bin --data $data --epochs $epochs --exit-on-finish"
  tmux -L "$sock" pipe-pane -t d -o "cat > $work/out.bin"
  first=""
  while tmux -L "$sock" has-session -t d 2>/dev/null; do
    if [ -z "$first" ] && tmux -L "$sock" capture-pane -p -t d | grep -q "Layers"; then
      first=$(awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN {printf "%.2f", a - b}')
    fi
    sleep 0.02
  done
  end=$(date +%s.%N)
  bytes=$(stat -c %s "$work/out.bin")
  speed=$(awk '/epoch 2:/{for(i=1;i<=NF;i++) if($i=="ex/s"||$i=="examples/sec") print $(i-1)}' \
    "$work/lenet-tui/lenet-tui.log" | tail -n1)
  secs=$(awk -v a="$end" -v b="$start" 'BEGIN {printf "%.1f", a - b}')
  rate=$(awk -v n="$bytes" -v s="$secs" 'BEGIN {printf "%.1f", n / s / 1024}')
  echo "dashboard $size: ${speed:-?} examples/sec; $rate KiB/s to the terminal ($bytes bytes in $secs s); first frame after ${first:-?} s"
done
