#!/usr/bin/env bash
# Kill soak: trains one run on the embedded subset and kills it with SIGKILL at random
# moments KILLS times (every fifth start also crashes itself halfway through writing its
# first checkpoint, through the `checkpoint-write` failpoint), resuming it each time, then
# lets it finish. Checks that
#   - every start succeeds (each process either finishes or is killed; none refuses),
#   - the final figures equal those of the same run trained without interruption,
#   - the saved history holds the whole run (its first snapshot is the fresh weights,
#     its last the end, with every epoch's confusion matrix),
#   - nothing torn or temporary is left in the run directory.
#
#   scripts/kill-soak.sh [BINARY] [KILLS] [EPOCHS]   defaults: target/release/lenet-tui 50 40
set -euo pipefail

bin=$(realpath "${1:-target/release/lenet-tui}")
kills=${2:-50}
epochs=${3:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
args=(train --headless --data embedded --batch-size 100 --epochs "$epochs" --json)

in_home() {
    local home=$1
    shift
    env XDG_DATA_HOME="$home" XDG_STATE_HOME="$home" XDG_CONFIG_HOME="$home" "$@"
}

# The uninterrupted run.
mkdir -p "$work/reference"
in_home "$work/reference" "$bin" "${args[@]}" > "$work/reference.json"
reference=$(grep '"event":"done"' "$work/reference.json" | python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
print(e["train_loss"], e["train_acc"], e["test_acc"])')

home="$work/soak"
mkdir -p "$home"
runs="$home/lenet-tui/runs"
started=$(date +%s)
killed=0
crashed=0
starts=0
finished=""
while [ -z "$finished" ]; do
    starts=$((starts + 1))
    if ls -d "$runs"/*/ckpt-* >/dev/null 2>&1; then
        resume=(--resume latest)
    else
        # Killed before its first checkpoint: nothing to resume, so it starts again.
        resume=()
    fi
    failpoint=""
    if [ $((starts % 5)) = 0 ] && [ "$killed" -lt "$kills" ]; then
        failpoint="checkpoint-write:1"
    fi
    # A simple command, so that $! is lenet-tui itself (env execs it), not a subshell.
    env XDG_DATA_HOME="$home" XDG_STATE_HOME="$home" XDG_CONFIG_HOME="$home" \
        LENET_TUI_FAILPOINT="$failpoint" \
        "$bin" "${args[@]}" "${resume[@]}" > "$work/out.json" 2> "$work/err" &
    pid=$!
    if [ "$killed" -lt "$kills" ]; then
        # 50 ms to 1.3 s: at start-up, mid-epoch, in checkpoint and history writes.
        sleep "$(python3 -c 'import random; print(round(random.uniform(0.05, 1.3), 3))')"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    status=0
    # (The shell's "Killed" notices are the soak working as meant.)
    wait "$pid" 2>/dev/null || status=$?
    case $status in
        0) finished=yes ;;
        137) killed=$((killed + 1)) ;;
        134) crashed=$((crashed + 1)) ;; # the failpoint's abort mid-checkpoint
        *)
            echo "start $starts failed with status $status:" >&2
            cat "$work/err" >&2
            exit 1
            ;;
    esac
done
took=$(($(date +%s) - started))

final=$(grep '"event":"done"' "$work/out.json" | python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
print(e["train_loss"], e["train_acc"], e["test_acc"])')

run=$(ls -d "$runs"/*/ | head -n 1)
history=$(python3 - "$run/history/timeline.safetensors" "$epochs" <<'EOF'
import json, struct, sys
path, epochs = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
meta = json.loads(header["__metadata__"]["lenet-tui"])
ats = [m["at"] for m in meta["moments"]]
confusions = [c["epoch"] for c in meta["confusions"]]
missing = sorted(set(range(1, epochs + 1)) - set(confusions))
whole = ats[0] == 0.0 and ats[-1] == float(epochs) and not missing
print(f"{'whole' if whole else 'NOT WHOLE'}: {len(ats)} snapshots from epoch {ats[0]} to {ats[-1]}, "
      f"confusion matrices of epochs {confusions[0]}-{confusions[-1]}"
      + (f" (missing: {missing})" if missing else ""))
EOF
)
leftovers=$(find "$run" -name '.tmp*' | wc -l)
torn=0
for dir in "$run"/ckpt-*; do
    [ -f "$dir/checkpoint.json" ] || torn=$((torn + 1))
done

echo "epochs: $epochs, starts: $starts, killed: $killed (SIGKILL), crashed mid-checkpoint: $crashed, $took s"
echo "uninterrupted: loss/train acc/test acc $reference"
echo "interrupted:   loss/train acc/test acc $final"
echo "history: $history"
echo "temporary files left: $leftovers; torn checkpoints: $torn"
if [ "$reference" != "$final" ] || [[ $history != whole* ]] || [ "$leftovers" != 0 ] || [ "$torn" != 0 ]; then
    echo "FAILED" >&2
    exit 1
fi
echo "passed"
