#!/usr/bin/env bash
# lenet-tui against the PyTorch peer, side by side: for each variant, ROUNDS rounds
# that each run `lenet-tui bench` and then the peer, the same threads, batch size,
# number of timed batches and data, so both see the same machine load. Prints every
# round, the medians and the ratio lenet-tui / PyTorch.
#
#   benches/compare.sh [ROUNDS]                       default 3
#
# Environment (defaults): LENET=target/release/lenet-tui,
# PYTHON=/tmp/torch-peer/bin/python (see ../shared/peers/README.md for the venv),
# PEER=../shared/peers/d2l_lenet_torch.py, DATA=/usr/share/datasets/fashion-mnist,
# THREADS=2, BATCH=256, BATCHES=50.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
lenet=${LENET:-target/release/lenet-tui}
python=${PYTHON:-/tmp/torch-peer/bin/python}
peer=${PEER:-../shared/peers/d2l_lenet_torch.py}
data=${DATA:-/usr/share/datasets/fashion-mnist}
threads=${THREADS:-2}
batch=${BATCH:-256}
batches=${BATCHES:-50}

for tool in "$lenet" "$python" "$peer"; do
  [ -e "$tool" ] || { echo "compare.sh: $tool not found" >&2; exit 1; }
done

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "threads $threads, batch $batch, $batches timed batches per run, data $data"
echo "torch $("$python" -c 'import torch; print(torch.__version__)'), $("$lenet" --version)"
for variant in "avg sigmoid 0.9" "max relu 0.1"; do
  read -r pool act lr <<< "$variant"
  ours=() theirs=()
  for round in $(seq "$rounds"); do
    o=$(RAYON_NUM_THREADS=$threads "$lenet" bench --json --pool "$pool" --act "$act" \
          --lr "$lr" --batch-size "$batch" --batches "$batches" --repeats 1 --warmup 5 \
          --data "$data" --device cpu \
        | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["step"]["median"])')
    # The peer's first epoch warms up; its second is timed.
    t=$("$python" "$peer" --threads "$threads" --epochs 2 --max-batches "$batches" \
          --batch-size "$batch" --act "$act" --pool "$pool" --lr "$lr" --data-dir "$data" --json \
        | python3 -c 'import json,sys
rows=[json.loads(l) for l in sys.stdin if l.strip()]
print([r for r in rows if r.get("event")=="epoch"][-1]["examples_per_sec"])')
    printf '%-12s round %d: lenet-tui %8.0f ex/s   PyTorch %8.0f ex/s   ratio %.2f\n' \
      "$pool/$act" "$round" "$o" "$t" "$(echo "$o $t" | awk '{print $1/$2}')"
    ours+=("$o") theirs+=("$t")
  done
  mo=$(printf '%s\n' "${ours[@]}" | median)
  mt=$(printf '%s\n' "${theirs[@]}" | median)
  printf '%-12s median:  lenet-tui %8.0f ex/s   PyTorch %8.0f ex/s   ratio %.2f\n' \
    "$pool/$act" "$mo" "$mt" "$(echo "$mo $mt" | awk '{print $1/$2}')"
done
