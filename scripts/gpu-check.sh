#!/usr/bin/env bash
# The GPU check, in one go, for a machine with an NVIDIA GPU, its driver and CUDA 13
# libraries, PyTorch as python3, and no Rust (the binary comes from
# scripts/build-cuda.sh). Runs from the repository root; writes everything into $OUT.
#
#   scripts/gpu-check.sh [BINARY] [DATA]
#     BINARY  default target/cuda/release/lenet-tui, else target/cuda/lenet-tui.gz
#             (a .gz, as scripts/build-cuda.sh writes it for the transfer, is unpacked)
#     DATA    default /usr/share/datasets/fashion-mnist if it exists, else `embedded`
#             (the built-in subset; the peer then reads the same images from
#             assets/fashion-mnist-subset)
#
# Steps, each under `timeout`; a failing step is reported and the rest still run:
#   1. nvidia-smi, ldd and --version of the binary;
#   2. a short headless training on the GPU (relu/max, lr 0.1, a dashboard screenshot
#      drawn off-screen at every epoch end, and the training figure);
#   3. `lenet-tui bench` and the PyTorch peer alternately, the same batches, for the
#      chapter's recipe (avg/sigmoid, lr 0.9) and relu/max (lr 0.1) at batch sizes 256
#      and 1024, ROUNDS times.
# The whole stays within BUDGET seconds: a step gets at most what is left, and steps
# that would start with less than 10 s left are skipped (and listed).
#
# Output ($OUT if set, else a new temporary directory, printed): summary.txt (also
# printed), steps.tsv (step, status, seconds), results.jsonl (one line per bench run
# and per training epoch), nvidia-smi.txt, ldd.txt, train.jsonl and train.stderr,
# bench/ (each run's raw output), captures/ (screenshots SVG/PNG/text and the figure),
# state/ (lenet-tui's log, if it wrote one).
#
# Environment (defaults):
#   DEVICE=cuda            device for lenet-tui and the peer; DEVICE=cpu tries the
#                          script on a machine without a GPU (with target/release/lenet-tui)
#   LENET_CUDA_LIBS        a directory with the CUDA 13 libraries, put before
#                          LD_LIBRARY_PATH (for a machine without them installed)
#   PYTHON=python3         the Python with torch for the peer
#   PEER                   shared/peers/d2l_lenet_torch.py, else ../shared/peers/...
#   ROUNDS=2 BATCHES=50    bench rounds per variant and batch size; timed batches per run
#   EPOCHS=3               epochs of the training run
#   BUDGET=270             seconds for the whole script
set -uo pipefail   # no -e: a failing step is recorded, not fatal
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s)

bin=${1:-}
if [ -z "$bin" ]; then
  bin=target/cuda/release/lenet-tui
  [ -f "$bin" ] || bin=target/cuda/lenet-tui.gz
fi
if [ -n "${2:-}" ]; then
  data=$2
elif [ -d /usr/share/datasets/fashion-mnist ]; then
  data=/usr/share/datasets/fashion-mnist
else
  data=embedded
fi
# The peer cannot read `embedded`: the same subset is in the repository as IDX files.
peer_data=$data
[ "$data" = embedded ] && peer_data=assets/fashion-mnist-subset
device=${DEVICE:-cuda}
python=${PYTHON:-python3}
rounds=${ROUNDS:-2}
batches=${BATCHES:-50}
epochs=${EPOCHS:-3}
deadline=$(( start + ${BUDGET:-270} ))
if [ -n "${PEER:-}" ]; then
  peer=$PEER
elif [ -f shared/peers/d2l_lenet_torch.py ]; then
  peer=shared/peers/d2l_lenet_torch.py
else
  peer=../shared/peers/d2l_lenet_torch.py
fi

if [ -n "${OUT:-}" ]; then
  out=$OUT
else
  out=$(mktemp -d)
  echo "output: $out"
fi
mkdir -p "$out/bench" "$out/captures" "$out/state"
: > "$out/steps.tsv"
: > "$out/results.jsonl"

# Checkpoints and config go to a scratch directory (no user config can leak in, and
# the checkpoints need not travel back); the log goes with the output.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data" XDG_CACHE_HOME="$work/cache"
export XDG_STATE_HOME="$out/state"
if [ -n "${LENET_CUDA_LIBS:-}" ]; then
  export LD_LIBRARY_PATH="$LENET_CUDA_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

[ -f "$bin" ] || { echo "gpu-check.sh: $bin not found (build it with scripts/build-cuda.sh)" >&2; exit 1; }
# A gzipped binary is unpacked; a copied one may have lost its executable bit.
if [[ $bin == *.gz ]]; then
  gzip -dc "$bin" > "$work/lenet-tui" || { echo "gpu-check.sh: cannot unpack $bin" >&2; exit 1; }
  chmod +x "$work/lenet-tui"
  bin="$work/lenet-tui"
elif [ ! -x "$bin" ]; then
  cp "$bin" "$work/lenet-tui" && chmod +x "$work/lenet-tui" && bin="$work/lenet-tui"
fi

# run_step NAME LIMIT STDOUT STDERR CMD...: runs CMD under `timeout` (at most LIMIT s,
# at most what is left of the budget), records the outcome in steps.tsv, and on failure
# shows the end of its stderr. Returns CMD's status.
run_step() {
  local name=$1 limit=$2 stdout=$3 stderr=$4
  shift 4
  local left=$(( deadline - $(date +%s) ))
  if (( left < 10 )); then
    printf '%s\tskipped: out of time\t0\n' "$name" >> "$out/steps.tsv"
    echo "-- $name: skipped, out of time"
    return 1
  fi
  (( limit > left )) && limit=$left
  local t0 rc=0 status
  t0=$(date +%s)
  timeout -k 5 "$limit" "$@" > "$stdout" 2> "$stderr" || rc=$?
  case $rc in
    0) status=ok ;;
    124|137) status="timed out after $limit s" ;;
    *) status="failed, exit $rc" ;;
  esac
  printf '%s\t%s\t%s\n' "$name" "$status" "$(( $(date +%s) - t0 ))" >> "$out/steps.tsv"
  echo "-- $name: $status ($(( $(date +%s) - t0 )) s)"
  if (( rc != 0 )); then tail -n 5 "$stderr" | sed 's/^/   | /'; fi
  return "$rc"
}

# --- 1. The machine and the binary. ---
echo "binary $bin, device $device, data $data, peer $peer, output $out"
run_step nvidia-smi 30 "$out/nvidia-smi.txt" "$out/nvidia-smi.stderr" nvidia-smi
cat "$out/nvidia-smi.txt"
run_step ldd 10 "$out/ldd.txt" "$out/ldd.stderr" ldd "$bin"
cat "$out/ldd.txt"
grep -q 'not found' "$out/ldd.txt" \
  && echo "warning: libraries not found (above); LENET_CUDA_LIBS=DIR adds a directory"
run_step version 10 "$out/version.txt" "$out/version.stderr" "$bin" --version
cat "$out/version.txt"

# --- 2. Training on the device, with a screenshot of the dashboard at each epoch. ---
# First, so the GPU path is checked even if the bench runs out of time (and the
# driver's PTX cache is warm for the bench).
run_step "train $epochs epochs" 120 "$out/train.jsonl" "$out/train.stderr" \
  "$bin" train --headless --json --device "$device" --data "$data" --epochs "$epochs" \
    --act relu --pool max --lr 0.1 \
    --snapshot-every epoch --size 160x48 --capture-dir "$out/captures"
python3 - "$out/train.jsonl" >> "$out/results.jsonl" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "epoch":
        print(json.dumps({"tool": "lenet-tui train", **e}))
EOF

# --- 3. The bench against the PyTorch peer, alternately. ---
have_peer=true why=""
if [ ! -f "$peer" ]; then
  why="$peer not found"
elif ! timeout 60 "$python" -c 'import torch' 2>/dev/null; then
  why="$python has no torch"
fi
if [ -n "$why" ]; then
  have_peer=false
  printf 'pytorch peer\tskipped: %s\t0\n' "$why" >> "$out/steps.tsv"
  echo "-- pytorch peer: skipped, $why; lenet-tui alone"
fi
n=0
# Round by round, so a run cut short by the budget still has every variant once.
for round in $(seq "$rounds"); do
  for batch in 256 1024; do
    for variant in "avg sigmoid 0.9" "max relu 0.1"; do
      read -r pool act lr <<< "$variant"
      tag="$pool-$act-b$batch-r$round"
      n=$(( n + 1 ))
      f="$out/bench/$(printf %02d $n)-lenet-$tag"
      # Median of 3 repeats of BATCHES batches, after 5 untimed ones.
      if run_step "lenet-tui bench $tag" 60 "$f.jsonl" "$f.stderr" \
          "$bin" bench --json --device "$device" --data "$data" --pool "$pool" --act "$act" \
            --lr "$lr" --batch-size "$batch" --batches "$batches" --warmup 5 --repeats 3; then
        python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(json.dumps({"tool": "lenet-tui", "round": int(sys.argv[2]), "batch_size": r["batch_size"],
                      "variant": r["variant"], "device": r["device"],
                      "examples_per_sec": r["step"]["median"], "raw": r}))' "$f.jsonl" "$round" \
          >> "$out/results.jsonl"
      fi
      $have_peer || continue
      f="$out/bench/$(printf %02d $n)-torch-$tag"
      # Two epochs of BATCHES batches: the first warms up (CUDA context, cuDNN), the
      # second is timed, as in benches/compare.sh.
      if run_step "pytorch bench $tag" 90 "$f.jsonl" "$f.stderr" \
          "$python" "$peer" --device "$device" --epochs 2 --max-batches "$batches" \
            --batch-size "$batch" --act "$act" --pool "$pool" --lr "$lr" \
            --data-dir "$peer_data" --json; then
        python3 -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
start = [r for r in rows if r.get("event") == "start"][0]
last = [r for r in rows if r.get("event") == "epoch"][-1]
print(json.dumps({"tool": "pytorch", "round": int(sys.argv[2]), "batch_size": start["batch_size"],
                  "variant": start["pool"] + "/" + start["act"], "device": last["device"],
                  "examples_per_sec": last["examples_per_sec"], "torch": start["torch"], "raw": last}))' \
          "$f.jsonl" "$round" >> "$out/results.jsonl"
      fi
    done
  done
done

# --- Summary. ---
python3 - "$out" "$data" "$device" "$(( $(date +%s) - start ))" > "$out/summary.txt" <<'EOF'
import json, os, statistics, sys
out, data, device, took = sys.argv[1:5]
rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl")) if l.strip()]
steps = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, "steps.tsv"))]
print(f"gpu-check: device {device}, data {data}, {took} s")
for f in ("version.txt",):
    p = os.path.join(out, f)
    if os.path.exists(p):
        print(open(p).read().strip())
smi = os.path.join(out, "nvidia-smi.txt")
gpu = [l.strip(" |") for l in open(smi) if "NVIDIA" in l] if os.path.exists(smi) else []
if gpu:
    print("\n".join(gpu[:2]))

print("\nsteps:")
for name, status, secs in steps:
    print(f"  {status:<24} {secs:>4} s  {name}")
failed = [s for s in steps if s[1] != "ok"]
print(f"  {len(steps) - len(failed)} ok, {len(failed)} not ok")

epochs = [r for r in rows if r["tool"] == "lenet-tui train"]
print("\ntraining (relu/max, lr 0.1):")
for line in open(os.path.join(out, "train.jsonl")):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "start":
        print(f"  device {e.get('device')}; data {e.get('data')}")
for e in epochs:
    print(f"  epoch {e['epoch']:g}/{e['epochs']}: loss {e['train_loss']:.3f}, train acc {e['train_acc']:.3f}, "
          f"test acc {e['test_acc']:.3f}, {e['examples_per_sec']:.0f} examples/sec on {e['device']}")
if not epochs:
    print("  no epoch finished (see train.jsonl and train.stderr)")
pngs = sorted(f for f in os.listdir(os.path.join(out, "captures")) if f.endswith(".png"))
shots = [f for f in pngs if not f.endswith("_figure.png")]
figures = [f for f in pngs if f.endswith("_figure.png")]
print(f"  dashboard screenshots (SVG, PNG, text): {len(shots)} in captures/" + (f", the last {shots[-1]}" if shots else ""))
print(f"  training figure: " + (figures[-1] if figures else "none"))

print("\nbench, training examples/sec (lenet-tui: step median of 3 repeats; PyTorch: 2nd epoch):")
print(f"  {'variant':<12} {'batch':>5}  {'lenet-tui':>10}  {'PyTorch':>10}  ratio")
def num(x):
    return f"{x:>10.0f}" if x else f"{'-':>10}"
keys = sorted({(r["variant"], r["batch_size"]) for r in rows if r["tool"] in ("lenet-tui", "pytorch")},
              key=lambda k: (k[1], k[0]))
for variant, batch in keys:
    def runs(tool):
        return [r["examples_per_sec"] for r in rows
                if r["tool"] == tool and r["variant"] == variant and r["batch_size"] == batch]
    ours, theirs = runs("lenet-tui"), runs("pytorch")
    for i in range(max(len(ours), len(theirs))):
        o = ours[i] if i < len(ours) else None
        t = theirs[i] if i < len(theirs) else None
        ratio = f"{o / t:.2f}" if o and t else "-"
        print(f"  {variant:<12} {batch:>5}  {num(o)}  {num(t)}  {ratio}  (round {i + 1})")
    if len(ours) > 1 and len(theirs) > 1:
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print(f"  {variant:<12} {batch:>5}  {mo:>10.0f}  {mt:>10.0f}  {mo / mt:.2f}  median")
EOF
cat "$out/summary.txt"
echo "output: $out"
# Exit 0 only if every step ran and passed.
! grep -qv $'\tok\t' "$out/steps.tsv"
