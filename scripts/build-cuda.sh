#!/usr/bin/env bash
# Builds lenet-tui with the `cuda` feature on a machine without a CUDA toolkit, taking
# a pinned CUDA 13.0 toolkit from NVIDIA's PyPI wheels (no GPU or driver needed). With
# a system CUDA 13.0 toolkit, `cargo build --release --features cuda` is all you need.
#
#   scripts/build-cuda.sh          build target/cuda/release/lenet-tui, print its ldd
#   scripts/build-cuda.sh --env    only set up the toolkit; print the exports for other
#                                  cargo commands: eval "$(scripts/build-cuda.sh --env)"
#
# Needs: Linux x86-64, cargo, gcc and g++ (nvcc's host compiler), python3 with pip or
# venv, and PyPI (0.7 GB of wheels, downloaded once; 1.2 GB unpacked in the cache).
#
# Environment (defaults):
#   LENET_CUDA_CACHE  where wheels and toolkit live (${XDG_CACHE_HOME:-~/.cache}/lenet-tui/cuda-13.0)
#   CUDA_COMPUTE_CAP  GPU architecture of the kernels (the local GPU's if nvidia-smi
#                     answers, else 90: H100/H200)
#   CARGO_TARGET_DIR  (target/cuda, apart from the CPU build's target/)
# pip's own settings (PIP_INDEX_URL, ...) apply to the download.
#
# The binary is built without debug info (CARGO_PROFILE_RELEASE_DEBUG=0; the release
# profile's line tables would add tens of MB) and also written gzipped beside the
# release dir (target/cuda/lenet-tui.gz), to stay well under the 64 MiB the GPU
# machine accepts per transfer. At run time it needs the NVIDIA driver (libcuda.so.1) and the
# CUDA 13 libraries libcudart.so.13, libcublas.so.13, libcublasLt.so.13, libcurand.so.10:
# installed system-wide, or from the toolkit here via LD_LIBRARY_PATH (printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-cuda.sh: $*" >&2; exit 1; }
step() { echo "==> $*"; }

env_only=false
case "${1:-}" in
  "") ;;
  --env) env_only=true ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument '$1' (try --help)" ;;
esac

# --- Preflight: fail early with the fix, not 10 minutes into the build. ---
[ "$(uname -s)/$(uname -m)" = Linux/x86_64 ] \
  || die "the pinned wheels are for Linux x86-64; this is $(uname -s)/$(uname -m)"
for tool in cargo gcc g++ python3; do
  command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install gcc g++ python3-venv; Rust: rustup.rs)"
done

wheels_list=scripts/cuda/wheels-13.0.txt
cache=${LENET_CUDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lenet-tui/cuda-13.0}
root="$cache/toolkit/nvidia/cu13"   # the wheels all unpack under nvidia/cu13/
stamp="$cache/toolkit.ok"
# The stamp holds the checksum of the pinned list: editing the list redoes the set-up.
want=$(sha256sum "$wheels_list" | cut -d' ' -f1)

# --- The toolkit: download the pinned wheels and unpack them, once. ---
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  step "setting up CUDA 13.0 from PyPI wheels in $cache"
  mkdir -p "$cache/wheels"
  # pip download needs a pip, not a place to install into: the system's if it has one,
  # else a throwaway venv (Debian's python3 comes without pip).
  if python3 -m pip --version >/dev/null 2>&1; then
    pip=(python3 -m pip)
  else
    python3 -m venv "$cache/venv" >/dev/null \
      || die "python3 has no pip and cannot make a venv (Debian: apt-get install python3-venv)"
    pip=("$cache/venv/bin/python" -m pip)
  fi
  # Hashes are checked (--require-hashes); wheels already in the cache are reused.
  "${pip[@]}" download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
      --require-hashes -r "$wheels_list" --dest "$cache/wheels" \
    || die "downloading the CUDA wheels from PyPI failed (see pip's message above)"

  # Unpack beside the old tree and swap, so an interrupted run leaves no half toolkit
  # behind a valid stamp. Python's zipfile drops the executable bits: put them back.
  rm -rf "$cache/toolkit.partial"
  mkdir -p "$cache/toolkit.partial"
  python3 - "$cache/toolkit.partial" "$cache"/wheels/*.whl <<'EOF' || die "unpacking the wheels failed"
import os, sys, zipfile
dest = sys.argv[1]
for wheel in sys.argv[2:]:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            if info.filename.startswith("nvidia/") and not info.is_dir():
                path = z.extract(info, dest)
                mode = (info.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(path, mode)
EOF
  # The wheels ship only versioned libraries (libcublas.so.13); `-lcublas` needs the
  # unversioned name, as a real toolkit has.
  for lib in "$cache"/toolkit.partial/nvidia/cu13/lib/lib*.so.*; do
    ln -sf "$(basename "$lib")" "${lib%%.so.*}.so"
  done
  rm -rf "$cache/toolkit"
  mv "$cache/toolkit.partial" "$cache/toolkit"
  echo "$want" > "$stamp"
  # Unpacked, the wheels (and the venv) are dead weight.
  rm -rf "$cache/wheels" "$cache/venv"
fi
"$root/bin/nvcc" --version | grep -q 'release 13\.0,' \
  || die "$root/bin/nvcc is not CUDA 13.0; remove $cache and rerun"

# --- libcuda.so for the linker: a stub made from cudarc's bindings (see the script). ---
# Where cudarc's source is comes from cargo itself, so it follows Cargo.lock.
meta=$(cargo metadata --locked --format-version 1 --features cuda) \
  || die "cargo metadata --locked failed, see above (is Cargo.lock up to date with Cargo.toml?)"
cudarc=$(python3 -c 'import json, os, sys
p = [p for p in json.load(sys.stdin)["packages"] if p["name"] == "cudarc"]
print(os.path.dirname(p[0]["manifest_path"]) if p else "")' <<< "$meta")
[ -n "$cudarc" ] || die "cudarc is not among the dependencies with --features cuda"
# In lib/stubs, where a real toolkit keeps its own libcuda.so stub and where cudarc's
# build script looks; only libcuda.so, never libcuda.so.1, so nothing loads it.
if [ "$(cat "$root/lib/stubs/cudarc" 2>/dev/null)" != "$cudarc" ]; then
  scripts/cuda/libcuda-stub.sh "$cudarc" "$root/lib/stubs" >/dev/null
  echo "$cudarc" > "$root/lib/stubs/cudarc"
fi

# --- The environment the build scripts read. ---
# cudarc asks `nvcc --version` (from PATH) for the CUDA version and adds lib/ and
# lib/stubs of CUDA_ROOT and friends to the link search; candle-kernels (cudaforge)
# takes NVCC or PATH and compiles its kernels for CUDA_COMPUTE_CAP; it links cudart
# with no search path of its own, hence LIBRARY_PATH.
if [ -z "${CUDA_COMPUTE_CAP:-}" ]; then
  CUDA_COMPUTE_CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null \
                     | head -n 1 | tr -d '.' || true)
  CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
fi
exports=(
  "PATH=$root/bin:$PATH"
  "NVCC=$root/bin/nvcc"
  "CUDA_ROOT=$root" "CUDA_HOME=$root" "CUDA_PATH=$root" "CUDA_TOOLKIT_ROOT_DIR=$root"
  "LIBRARY_PATH=$root/lib:$root/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
  "CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP"
)
if $env_only; then
  for e in "${exports[@]}"; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
  echo "# run the result with: LD_LIBRARY_PATH=$root/lib (and the NVIDIA driver)"
  exit 0
fi
export "${exports[@]}"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda}
export CARGO_PROFILE_RELEASE_DEBUG=0

# --- Build. ---
step "cargo build --locked --release --features cuda (kernels for compute capability $CUDA_COMPUTE_CAP, into $CARGO_TARGET_DIR; 10 minutes or so the first time)"
start=$(date +%s)
cargo build --locked --release --features cuda \
  || die "cargo build failed (nvcc: $root/bin/nvcc; toolkit cache: $cache)"
bin=$(realpath "$CARGO_TARGET_DIR/release/lenet-tui")
echo "built in $(( $(date +%s) - start )) s"

# --- Check and report. ---
# The binary must want the driver's libcuda.so.1 (the stub's soname) and must not carry
# a search path into the toolkit cache (that would be this machine's path, and the stub's).
needed=$(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case " $needed" in
  *" libcuda.so.1 "*) ;;
  *) die "$bin does not need libcuda.so.1 (NEEDED: $needed)" ;;
esac
if readelf -d "$bin" | grep -Eq '\((RPATH|RUNPATH)\)'; then
  die "$bin has an RPATH/RUNPATH: $(readelf -d "$bin" | grep -E 'RPATH|RUNPATH')"
fi
# The CUDA libraries, directly or through each other (libcublasLt via libcublas), must
# all come from the wheels' 13.0 (nothing else on this machine may stand in for them).
lddout=$(LD_LIBRARY_PATH="$root/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ldd "$bin")
for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10; do
  grep -q "$lib => $root/lib/$lib " <<< "$lddout" \
    || die "ldd does not resolve $lib from $root/lib: $lddout"
done
# A gzip copy to carry: the binary is close to the 64 MiB a transfer to the GPU machine
# may hold with the work tree (most of it the unused quantized kernels' fatbins, which
# compress 3:1). scripts/gpu-check.sh takes either.
gz="${bin%/release/lenet-tui}/lenet-tui.gz"
{ gzip -6 -c "$bin" > "$gz.partial" && mv "$gz.partial" "$gz"; } || die "could not write $gz"
echo
echo "binary: $bin"
echo "size: $(( $(stat -c %s "$bin") / 1024 / 1024 )) MiB, no debug info (CARGO_PROFILE_RELEASE_DEBUG=0)"
echo "gzip copy: $gz, $(( $(stat -c %s "$gz") / 1024 / 1024 )) MiB"
echo "NEEDED: $needed"
echo
echo "ldd, with LD_LIBRARY_PATH=$root/lib so the CUDA libraries from the wheels resolve;"
echo "libcuda.so.1 comes with the NVIDIA driver and is 'not found' on a machine without one:"
echo "$lddout"
echo
echo "On a machine with the driver and without CUDA 13 libraries installed, run it as:"
echo "  LD_LIBRARY_PATH=$root/lib $bin train --headless --device cuda"
