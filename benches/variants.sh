#!/usr/bin/env bash
# The chapter's exercises on the full data set: trains the chapter's recipe and each
# variant in benches/variants/*.toml for 10 epochs (headless, CPU) and prints a
# Markdown table of the final loss, train and test accuracy and the time taken.
#
#   benches/variants.sh [BINARY] [DATA] [EPOCHS]
#     defaults: target/release/lenet-tui, /usr/share/datasets/fashion-mnist, 10
set -euo pipefail
here=$(dirname "$0")
bin=$(realpath "${1:-target/release/lenet-tui}")
data=${2:-/usr/share/datasets/fashion-mnist}
epochs=${3:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '| variant | loss | train acc | test acc | time |\n|---|---|---|---|---|\n'
for config in chapter "$here"/variants/*.toml; do
  name=$(basename "$config" .toml)
  args=(train --headless --json --data "$data" --epochs "$epochs")
  [ "$config" != chapter ] && args+=(--config "$config")
  start=$(date +%s)
  line=$(XDG_DATA_HOME="$work" XDG_STATE_HOME="$work" "$bin" "${args[@]}" 2>/dev/null | grep '"event":"done"')
  secs=$(($(date +%s) - start))
  echo "$line" | python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"| $name | {d['train_loss']:.3f} | {d['train_acc']:.3f} | {d['test_acc']:.3f} | $secs s |\")"
done
