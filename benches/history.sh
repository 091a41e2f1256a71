#!/usr/bin/env bash
# What keeping a run's history costs: the chapter's run (headless, full
# Fashion-MNIST) with history on (the defaults: snapshots within 64 MB, saved to the
# run's history/) and off as far as it goes (`[history] memory_mb = 1, save = false`:
# the first and newest snapshots only, nothing written), in alternating rounds.
# Prints each run's peak RSS (/usr/bin/time -v), mean training throughput over the
# epochs and history file size, then the medians and the ratios on / off, and the
# median of each round's own on / off ratio.
#
#   benches/history.sh [ROUNDS]                          default 2
#
# Environment (defaults): LENET=target/release/lenet-tui,
# DATA=/usr/share/datasets/fashion-mnist, EPOCHS=10.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-2}
lenet=${LENET:-target/release/lenet-tui}
data=${DATA:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[history]\nmemory_mb = 1\nsave = false\n' > "$work/off.toml"
printf '[history]\n' > "$work/on.toml"

echo "machine: $(nproc) cores; $lenet ($("$lenet" --version)); data $data; $epochs epochs"
for round in $(seq "$rounds"); do
  if (( round % 2 )); then order="on off"; else order="off on"; fi
  for side in $order; do
    home="$work/home-$side-$round"
    mkdir -p "$home"
    HOME=$home XDG_DATA_HOME=$home/data XDG_CONFIG_HOME=$home/config \
      /usr/bin/time -v "$lenet" train --headless --config "$work/$side.toml" \
      --data "$data" --epochs "$epochs" > "$work/out" 2> "$work/time"
    rss=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$work/time")
    # The epoch lines go to stderr with time's report.
    speed=$(awk '/^epoch .*examples\/sec/ {for (i = 1; i < NF; i++) if ($(i+1) == "examples/sec") {s += $i; n++}} END {printf "%.0f", s / n}' "$work/time")
    file=$(find "$home" -name timeline.safetensors -printf '%s\n' | head -1)
    echo "round $round $side: peak RSS ${rss} KB, ${speed} ex/s, history file ${file:-none} bytes"
    echo "$side $rss $speed" >> "$work/results"
    eval "speed_$side=$speed"
  done
  # The two runs of a round are neighbours in time: their ratio cancels the drift of
  # a shared machine better than the medians of all rounds do.
  echo "$speed_on $speed_off" | awk '{ printf "%.4f\n", $1 / $2 }' >> "$work/paired"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
pick() { awk -v side="$1" -v col="$2" '$1 == side { print $col }' "$work/results" | median; }
on_rss=$(pick on 2); off_rss=$(pick off 2); on_speed=$(pick on 3); off_speed=$(pick off 3)
awk -v a="$on_rss" -v b="$off_rss" 'BEGIN { printf "median peak RSS: on %d KB, off %d KB, on - off %.1f MB\n", a, b, (a - b) / 1024 }'
awk -v a="$on_speed" -v b="$off_speed" 'BEGIN { printf "median throughput: on %d ex/s, off %d ex/s, on / off %.3f\n", a, b, a / b }'
echo "paired on / off by round: $(tr '\n' ' ' < "$work/paired"); median $(median < "$work/paired")"
