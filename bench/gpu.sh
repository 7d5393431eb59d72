#!/usr/bin/env bash
# One command for a lent NVIDIA GPU machine (bare: no Node, no Vulkan loader, no network; Python with PyTorch
# + CUDA): the bench at 180x320, T=10 in f32, f16 and f16 on subgroup matrices (tensor cores, --unsafe-apis),
# the tuner measuring this adapter's conv variants and the bench again with its choices, with PyTorch CUDA
# (eager, our reference port) on the same weights and frames. Every step has its own time limit (10 + 20 + 20 +
# 20 s of adapter facts, then 110 + 70 + 70 + 90 + 70 s: 480 s at most): the whole stays within 8 minutes.
#
#   here:  npm ci && npm run build && bash <gpu-pack>/prepare.sh     (writes .gpu/: Node, the Vulkan loader, node_modules)
#   there: source .gpu/setup.sh && bash bench/gpu.sh                  (carry .gpu and dist)
#
# Writes under $OUT (default bench/gpu-out): adapter.txt, bench-*.json, bench-*.txt (with the per-kernel table),
# tune.json (the tuner's choices), RESULTS.rows (rows for bench/RESULTS.md) and log.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/gpu-out}
mkdir -p "$OUT"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
export MSVSR_CACHE_DIR="$OUT/cache"
start=$(date +%s)
log() { echo "[$(($(date +%s) - start)) s] $*" | tee -a "$OUT/log.txt"; }
python=${PYTHON:-$(command -v python3 || echo /usr/bin/python3)}
# A dry run of the plumbing elsewhere (53 s on lavapipe): SIZE=16x16 FRAMES=2 REPS=1 TORCH_DEVICE=cpu PYTHON=/usr/bin/python3 bash bench/gpu.sh
SIZE=${SIZE:-180x320} FRAMES=${FRAMES:-10} REPS=${REPS:-5} TORCH_DEVICE=${TORCH_DEVICE:-cuda}

log "adapter"
{
  timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  timeout 20 node dist/tools/cli.js info --unsafe-apis 2>&1
  timeout 20 "$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' 2>&1
  # What the tensor-core path (subgroup matrices, an experimental Dawn feature) has to work with.
  timeout 20 node --input-type=module -e "
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const a = await create(['enable-dawn-features=allow_unsafe_apis']).requestAdapter();
    console.log('features (unsafe APIs allowed):', [...a.features].sort().join(' '));
    console.log('subgroupMatrixConfigs:', (a.info.subgroupMatrixConfigs ?? []).map((c) => c.componentType + '->' + c.resultComponentType + ' ' + c.M + 'x' + c.N + 'x' + c.K).join(', '));
  " 2>&1
} > "$OUT/adapter.txt"
tee -a "$OUT/log.txt" < "$OUT/adapter.txt"

# bench NAME LIMIT ARGS...: one bench run, its JSON, its report and its RESULTS row.
bench() {
  local name=$1 limit=$2
  shift 2
  log "bench $name: $*"
  timeout "$limit" node dist/bench/run.js --size "$SIZE" --frames "$FRAMES" --reps "$REPS" --warmup 1 --python "$python" \
    --results "$OUT/RESULTS.rows" --json "$@" > "$OUT/bench-$name.json" 2> "$OUT/bench-$name.err"
  local rc=$?
  [ $rc -eq 0 ] || log "bench $name: exit $rc (124: over its ${limit} s): $(tail -c 400 "$OUT/bench-$name.err")"
}

bench f32 110 --precision f32 --peers torch --torch-device "$TORCH_DEVICE"
bench f16 70 --precision f16 --peers none
bench f16-matrix 70 --precision f16 --peers none --unsafe-apis
bench f32-tuned 90 --precision f32 --peers none --tune full
bench f16-tuned 70 --precision f16 --peers none --tune full --unsafe-apis
cp "$OUT/cache/tune.json" "$OUT/tune.json" 2>/dev/null || log "no tuner table written"

# The human-readable reports (per-kernel tables) from the JSON.
for f in "$OUT"/bench-*.json; do
  [ -s "$f" ] || continue
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    import { formatBench } from './dist/bench/bench.js';
    const r = JSON.parse(readFileSync('$f', 'utf8'));
    for (const x of [].concat(r)) console.log(formatBench(x, 30));
  " > "${f%.json}.txt" 2>&1
done
log "done in $(($(date +%s) - start)) s"
cat "$OUT/RESULTS.rows" 2>/dev/null
