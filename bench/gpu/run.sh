#!/usr/bin/env bash
# The GPU benchmark in one run: tfjs on webgpu (the bundled node app, bench/gpu/train.ts) and the same models in
# eager PyTorch fp32 (bench/gpu/torch_peer.py), per model × batch, one process each; writes every record to
# $OUT/gpu-runs.jsonl (+ the log $OUT/gpu-run.log) and prints the table with the ratio last.
#
# ON THE LENT GPU MACHINE (the device tool's `run`; the machine has no Node.js: the bundle brings it):
#   1. here, once per change of code:   npm run bench:gpu:pack        → .cache/gpubundle/ (≈ 26 MiB, printed)
#   2. device tool `run` with
#        carry:     [".cache/gpubundle"]
#        command:   bash bench/gpu/run.sh
#        timeout_s: 600
#      (options: --models din,dcnDin --batches 8192,1024,16384 --warmup 3 --steps 10 --max-seconds 40
#       --budget 540; the whole command must end inside the 600 s of one call, so runs that would start after
#       --budget seconds are skipped and recorded as such; --profile N: N more tfjs steps after the timed ones with
#       every dispatch timed by WebGPU timestamp queries (Dawn's timestamp quantisation off), printed per program
#       and kept in the records for report.ts → bench/results/gpuProfile.md)
#   3. here, on the returned files:      node --import tsx bench/gpu/report.ts <files_at>/gpu-runs.jsonl
#      → bench/results/gpu.{md,json}, stamped with the GPU machine.
#   The working tree travels with every call (64 MiB in all with the carried bundle; pack.mjs prints the sum).
#
# HERE (no GPU): bash bench/gpu/run.sh --local --batches 64
#   unpacks the same bundle into /tmp and runs it from there (proving it needs nothing of the repo) on whatever
#   backend selectBackend picks (MMCTR_BACKEND or --backend forces one; --backend webgpu uses the project's
#   lavapipe), and the PyTorch side only when python3 imports torch. Output in .cache/gpubench-out/ unless $OUT.
#
# What it sets up on the GPU machine: the Vulkan loader from the bundle's debs/ when `ldconfig -p` lacks
# libvulkan.so.1 (dpkg -x into /, ldconfig: the device README's recipe), and VK_DRIVER_FILES naming NVIDIA's ICD.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

local_mode=0
models=din,dcnDin
batches=8192,1024,16384
warmup=3
steps=10
max_seconds=40
budget=540
seq_len=64
backend=""
bundle=.cache/gpubundle
out=""
torch_mode=auto
keep=0
profile=0
steps_set=0
warmup_set=0
while [ $# -gt 0 ]; do
  case "$1" in
    --local) local_mode=1 ;;
    --models) models=$2; shift ;;
    --batches) batches=$2; shift ;;
    --warmup) warmup=$2; warmup_set=1; shift ;;
    --steps) steps=$2; steps_set=1; shift ;;
    --max-seconds) max_seconds=$2; shift ;;
    --budget) budget=$2; shift ;;
    --seq-len) seq_len=$2; shift ;;
    --backend) backend=$2; shift ;;
    --bundle) bundle=$2; shift ;;
    --out) out=$2; shift ;;
    --no-torch) torch_mode=off ;;
    --keep) keep=1 ;;
    --profile) profile=$2; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$local_mode" = 1 ]; then
  [ "$warmup_set" = 1 ] || warmup=1
  [ "$steps_set" = 1 ] || steps=2
  out=${out:-${OUT:-$root/.cache/gpubench-out}}
else
  out=${out:-${OUT:-}}
  [ -n "$out" ] || { echo "run.sh: \$OUT is not set (on the GPU machine the device tool sets it; here use --local or --out DIR)" >&2; exit 2; }
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
jsonl=$out/gpu-runs.jsonl
log=$out/gpu-run.log
: >"$jsonl"
: >"$log"
say() { printf '%s\n' "$*" | tee -a "$log"; }

for f in runtime.tar.xz app.tar.xz; do
  [ -f "$bundle/$f" ] || { echo "run.sh: no $bundle/$f: run 'npm run bench:gpu:pack' first (and carry $bundle)" >&2; exit 2; }
done
say "gpu bench: $(date -u +%FT%TZ) on $(uname -srm), $(nproc) cores; bundle $(du -sh "$bundle" | cut -f1)"

# --- Vulkan (GPU machine) -----------------------------------------------------------------------------------------
if [ "$local_mode" = 0 ]; then
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    n=0
    for f in "$bundle"/debs/*.deb; do [ -f "$f" ] && dpkg -x "$f" / && n=$((n + 1)); done
    ldconfig
    say "vulkan loader: unpacked $n packages from $bundle/debs"
  fi
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
  egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi
  say "vulkan: $(ldconfig -p | grep -c 'libvulkan\.so\.1') loader(s); VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
  command -v nvidia-smi >/dev/null && say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
  backend=${backend:-webgpu}
else
  backend=${backend:-${MMCTR_BACKEND:-}}
  # The project's lavapipe (environment/mesa.sh) for a forced webgpu here; found by path, the run's cwd is /tmp.
  if [ "$backend" = webgpu ] && [ -z "${MMCTR_MESA_DIR:-}" ] && [ -f "$root/.gpu/mesa/stamp" ]; then
    export MMCTR_MESA_DIR=$root/.gpu/mesa
  fi
fi

# --- unpack -------------------------------------------------------------------------------------------------------
app=$(mktemp -d /tmp/mmctr-gpubench.XXXXXX)
cleanup() { [ "$keep" = 1 ] || rm -rf "$app"; }
trap cleanup EXIT
t0=$SECONDS
# tar -J needs the xz program, which slim images may lack; Python's tarfile reads xz on its own.
unpack() { # archive folder
  if command -v xz >/dev/null; then
    tar -xJf "$1" -C "$2"
  else
    python3 -c 'import sys, tarfile
t = tarfile.open(sys.argv[1], "r:xz")
try: t.extractall(sys.argv[2], filter="tar")
except TypeError: t.extractall(sys.argv[2])' "$1" "$2"
  fi
}
unpack "$bundle/runtime.tar.xz" "$app" && unpack "$bundle/app.tar.xz" "$app" || { echo "run.sh: unpacking failed" >&2; exit 1; }
say "unpacked into $app in $((SECONDS - t0)) s: $("$app/node" --version)"
# Stale bundle? The digest of the project files it was built from, against this tree's.
if [ -f "$app/sources.txt" ] && command -v sha256sum >/dev/null; then
  mapfile -t sources <"$app/sources.txt"
  now=$(sha256sum "${sources[@]}" 2>/dev/null | sha256sum | cut -d' ' -f1)
  if [ "$now" = "$(cat "$app/sources.sha256")" ]; then say "bundle: built from this tree's sources (${#sources[@]} files)"
  else say "WARNING: the bundle was built from other sources than this tree: run 'npm run bench:gpu:pack' again"; fi
fi

torch_ok=0
if [ "$torch_mode" = auto ]; then
  if tv=$(python3 -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")' 2>/dev/null); then
    torch_ok=1
    say "torch: $tv"
  else
    say "torch: not importable by python3 here: the PyTorch side is skipped"
  fi
fi

# A record for a run that printed none (killed by its timeout, crashed before its own error record).
missing_record() { # side model batch message
  printf '{"kind":"mmctr-gpubench","side":"%s","model":"%s","preset":"","batch":%s,"seqLen":%s,"ok":false,"error":"%s"}\n' \
    "$1" "$2" "$3" "$seq_len" "$4" >>"$jsonl"
}

# Runs one side: side model batch timeout command...; appends its record (or a missing one) and reports one line.
run_side() {
  local side=$1 model=$2 batch=$3 limit=$4
  shift 4
  local err rc before
  err=$(mktemp)
  before=$(wc -l <"$jsonl")
  (cd "$app" && timeout "$limit" "$@") >>"$jsonl" 2>"$err"
  rc=$?
  cat "$err" >>"$log"
  if [ "$(wc -l <"$jsonl")" = "$before" ]; then
    if [ $rc = 124 ]; then missing_record "$side" "$model" "$batch" "timed out after ${limit} s"
    else missing_record "$side" "$model" "$batch" "exited with $rc and printed no record"; fi
  fi
  local line
  line=$(tail -n 1 "$jsonl")
  case "$line" in
    *'"ok": true'*|*'"ok":true'*) say "  $side: $(printf '%s' "$line" | grep -o '"samplesPerSec": *[0-9]*' | grep -o '[0-9]*$') samples/s" ;;
    *) say "  $side: FAILED — $(printf '%s' "$line" | grep -o '"error": *"[^"]*"' | head -1)"; tail -n 5 "$err" | sed 's/^/    /' | tee -a "$log" >/dev/null; tail -n 5 "$err" | sed 's/^/    /' ;;
  esac
  rm -f "$err"
}

export MMCTR_BACKEND=$backend
common=(--warmup "$warmup" --steps "$steps" --max-seconds "$max_seconds" --seq-len "$seq_len")
tfjs_extra=()
if [ "$profile" != 0 ]; then
  tfjs_extra=(--profile "$profile")
  # Exact timestamps (Dawn rounds them otherwise); only the profiled runs set it.
  export MMCTR_DAWN_FLAGS="${MMCTR_DAWN_FLAGS:+$MMCTR_DAWN_FLAGS }disable-dawn-features=timestamp_quantization"
fi
for model in ${models//,/ }; do
  (cd "$app" && ./node train.mjs --describe --model "$model" --seq-len "$seq_len") >"$app/spec-$model.json" 2>>"$log" \
    || { say "run.sh: cannot describe model $model"; exit 1; }
done
for batch in ${batches//,/ }; do
  for model in ${models//,/ }; do
    say "$model batch $batch (backend ${backend:-auto}, elapsed $SECONDS s):"
    left=$((budget - SECONDS))
    if [ $left -lt 30 ]; then
      say "  skipped: the --budget of $budget s is spent"
      missing_record tfjs "$model" "$batch" "skipped: run budget spent"
      continue
    fi
    run_side tfjs "$model" "$batch" $((left < 180 ? left : 180)) ./node train.mjs --model "$model" --batch "$batch" "${common[@]}" "${tfjs_extra[@]}"
    if [ "$torch_ok" = 1 ]; then
      left=$((budget - SECONDS))
      if [ $left -lt 15 ]; then
        missing_record torch "$model" "$batch" "skipped: run budget spent"
      else
        run_side torch "$model" "$batch" $((left < 120 ? left : 120)) \
          env PYTHONUNBUFFERED=1 python3 "$root/bench/gpu/torch_peer.py" --spec "spec-$model.json" --batch "$batch" "${common[@]}"
      fi
    fi
  done
done

say ""
"$app/node" "$app/report.mjs" --print "$jsonl" | tee -a "$log"
[ "$profile" != 0 ] && "$app/node" "$app/report.mjs" --print-profile "$jsonl" | tee -a "$log"
echo "records: $jsonl; log: $log"
