#!/usr/bin/env bash
# Soak test: trains for many epochs on the embedded subset with the dashboard in a real
# terminal (tmux) and a screenshot every epoch, sampling the process's resident memory
# (RSS) every few seconds. Prints RSS at start (after the first epoch), at the end and
# at its peak, and how many screenshots and checkpoints were written.
#
#   scripts/soak.sh [BINARY] [EPOCHS]      defaults: target/release/lenet-tui 50
set -euo pipefail

bin=$(realpath "${1:-target/release/lenet-tui}")
epochs=${2:-50}
work=$(mktemp -d)
sock="lenet-soak-$$"
trap 'tmux -L "$sock" kill-server 2>/dev/null || true' EXIT

env="XDG_DATA_HOME=$work XDG_STATE_HOME=$work XDG_CONFIG_HOME=$work"
tmux -L "$sock" new-session -d -s soak -x 160 -y 48 \
  "$env $bin --data embedded --epochs $epochs --snapshot-every epoch \
   --capture-dir $work/captures --exit-on-finish 2>$work/stderr; echo \$? > $work/exit"

shell=$(tmux -L "$sock" display-message -p -t soak '#{pane_pid}')
pid=""
for _ in $(seq 50); do
  pid=$(awk '{print $1}' "/proc/$shell/task/$shell/children" 2>/dev/null || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
[ -n "$pid" ] || { echo "lenet-tui did not start" >&2; exit 1; }

start=$(date +%s)
: > "$work/rss.tsv"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  shots=$(ls "$work/captures" 2>/dev/null | grep -c '\.png$' || true)
  [ -n "$rss" ] && printf '%s\t%s\t%s\n' "$(( $(date +%s) - start ))" "$rss" "$shots" >> "$work/rss.tsv"
  sleep 5
done
for _ in $(seq 50); do [ -f "$work/exit" ] && break; sleep 0.1; done

status=$(cat "$work/exit" 2>/dev/null || echo "?")
# "Start" is the first sample after the first screenshot: data loaded, first epoch done.
first=$(awk -F'\t' '$3 >= 1 {print $2; exit}' "$work/rss.tsv")
last=$(tail -n 1 "$work/rss.tsv" | cut -f2)
peak=$(cut -f2 "$work/rss.tsv" | sort -n | tail -n 1)
shots=$(ls "$work/captures" | grep -v _figure | grep -c '\.png$' || true)
ckpts=$(ls -d "$work"/lenet-tui/runs/*/ckpt-* 2>/dev/null | wc -l)
echo "epochs: $epochs, exit status: $status, $(( $(date +%s) - start )) s"
echo "RSS after epoch 1: $(( first / 1024 )) MiB; at the end: $(( last / 1024 )) MiB; peak: $(( peak / 1024 )) MiB"
echo "screenshots (PNG, besides SVG and text): $shots; checkpoints kept: $ckpts"
echo "samples (seconds, RSS KiB, screenshots): $work/rss.tsv"
