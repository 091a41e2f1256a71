#!/usr/bin/env bash
# Issue 15's throughput figure, with the machine's drift taken out: history on and
# off train *at the same time*, one worker thread each, pinned to a core each (the
# sides swap cores every round), so whatever else the shared machine is doing falls
# on both alike. Prints each round's on / off throughput ratio (mean examples/sec of
# the epochs) and their median.
#
#   benches/history-pair.sh [ROUNDS]                     default 4
#
# Environment (defaults): LENET=target/release/lenet-tui,
# DATA=/usr/share/datasets/fashion-mnist, EPOCHS=4. Needs two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-4}
lenet=${LENET:-target/release/lenet-tui}
data=${DATA:-/usr/share/datasets/fashion-mnist}
epochs=${EPOCHS:-4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Off as far as it goes: the first and newest snapshots only, nothing written.
printf '[history]\nmemory_mb = 1\nsave = false\n' > "$work/off.toml"
printf '[history]\n' > "$work/on.toml"

speed() {
  awk '/^epoch .*examples\/sec/ {for (i = 1; i < NF; i++) if ($(i+1) == "examples/sec") {s += $i; n++}} END {printf "%.0f", s / n}' "$1"
}

echo "machine: $(nproc) cores; $lenet ($("$lenet" --version)); data $data; $epochs epochs; one thread a side"
for round in $(seq "$rounds"); do
  if (( round % 2 )); then on_core=0; off_core=1; else on_core=1; off_core=0; fi
  for side in on off; do
    core_var=${side}_core
    home="$work/home-$side-$round"
    mkdir -p "$home"
    HOME=$home XDG_DATA_HOME=$home/data XDG_CONFIG_HOME=$home/config RAYON_NUM_THREADS=1 \
      taskset -c "${!core_var}" "$lenet" train --headless --config "$work/$side.toml" \
      --data "$data" --epochs "$epochs" > "$work/out-$side" 2> "$work/err-$side" &
  done
  wait
  on=$(speed "$work/err-on"); off=$(speed "$work/err-off")
  ratio=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a / b }')
  echo "round $round: on (core $on_core) $on ex/s, off (core $off_core) $off ex/s, on / off $ratio"
  echo "$ratio" >> "$work/ratios"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "on / off by round: $(tr '\n' ' ' < "$work/ratios"); median $(median < "$work/ratios")"
