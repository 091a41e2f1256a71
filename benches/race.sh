#!/usr/bin/env bash
# Issue 19's figures: a race of three variants against the same three trained one
# after another, alternately, ROUNDS times. Prints per round each solo run's wall time
# and mean examples/sec over its epochs, the race's wall time and its variants'
# summed examples/sec, then the two ratios the issue asks for (medians over rounds):
#   race wall / sum of solo walls          (target: at most 1.3)
#   race's summed examples/sec / solo's    (target: within 10 % of 1; the base run's)
#
#   benches/race.sh [ROUNDS]                     default 3
#
# Environment (defaults): LENET=target/release/lenet-tui,
# DATA=/usr/share/datasets/fashion-mnist (else `embedded`), EPOCHS=3.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
lenet=${LENET:-target/release/lenet-tui}
if [ -n "${DATA:-}" ]; then
  data=$DATA
elif [ -d /usr/share/datasets/fashion-mnist ]; then
  data=/usr/share/datasets/fashion-mnist
else
  data=embedded
fi
epochs=${EPOCHS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config XDG_STATE_HOME=$work/state

# Mean examples/sec of the epochs in a JSON stream, per variant label ("solo" for none).
speeds() {
  python3 -c '
import json, sys
by = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e["event"] == "epoch":
        by.setdefault(e.get("variant", "solo"), []).append(e["examples_per_sec"])
for label, s in by.items():
    print(f"{label}\t{sum(s) / len(s):.0f}")
' "$1"
}

# run NAME ARGS...: trains headless into $work/NAME.jsonl; prints its wall seconds.
run() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$lenet" train --headless --json --data "$data" --epochs "$epochs" "$@" > "$work/$name.jsonl"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

echo "machine: $(nproc) cores; $lenet ($("$lenet" --version)); data $data; $epochs epochs"
echo "race: --race pool=max --race act=relu,lr=0.1"
for round in $(seq "$rounds"); do
  base=$(run base); max=$(run max --pool max); relu=$(run relu --act relu --lr 0.1)
  race=$(run race --race pool=max --race act=relu,lr=0.1)
  solo_speed=$(speeds "$work/base.jsonl" | cut -f2)
  race_speed=$(speeds "$work/race.jsonl" | awk -F'\t' '{ s += $2 } END { printf "%.0f", s }')
  sum=$(awk -v a="$base" -v b="$max" -v c="$relu" 'BEGIN { printf "%.2f", a + b + c }')
  wall=$(awk -v r="$race" -v s="$sum" 'BEGIN { printf "%.3f", r / s }')
  speed=$(awk -v r="$race_speed" -v s="$solo_speed" 'BEGIN { printf "%.3f", r / s }')
  echo "round $round: solo walls $base s, $max s, $relu s (sum $sum s); race $race s; wall ratio $wall"
  echo "         base solo $solo_speed ex/s; race, summed: $race_speed ex/s ($(speeds "$work/race.jsonl" | tr '\t\n' '=,' | sed 's/,$//')); speed ratio $speed"
  echo "$wall" >> "$work/walls"
  echo "$speed" >> "$work/speeds"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "race wall / sum of solo walls: $(tr '\n' ' ' < "$work/walls")median $(median < "$work/walls")"
echo "race summed ex/s / solo ex/s: $(tr '\n' ' ' < "$work/speeds")median $(median < "$work/speeds")"
