#!/usr/bin/env bash
# Whole-network speed of this checkout against another build (say main before a change), timed alternately in
# one run so that both see the same machine: for each size, precision and round, `msvsr bench` runs in the
# base checkout, then here (then here, then the base, in the next round). Prints a markdown row per
# configuration: the s/frame of every run, the medians and new/base speed ratio (above 1: this checkout is
# faster).
#
#   bench/side-by-side.sh BASE_DIR [--mesa26] [--rounds 2] [--sizes 64x64:10,180x320:2] [--precisions f32,f16]
#                         [--reps 2] [-- EXTRA BENCH ARGS FOR THIS CHECKOUT, e.g. --unsafe-apis]
#
# BASE_DIR is a built checkout (npm ci && npm run build), e.g. `git worktree add /tmp/base 19ca2c8`.
# --mesa26 runs both on Mesa 26 lavapipe through tools/mesa26.sh (root needed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: bench/side-by-side.sh BASE_DIR [options]}
base=$(cd "$base" && pwd)
shift
rounds=2 sizes=64x64:10,180x320:2 precisions=f32,f16 reps=2 wrap=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --mesa26) wrap=("$here/tools/mesa26.sh" --); shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --precisions) precisions=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "bench/side-by-side.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
extra=("$@")
[[ -f $base/dist/tools/cli.js && -f $here/dist/tools/cli.js ]] || { echo "build both checkouts first (npm run build)" >&2; exit 2; }

# One bench run in a checkout; prints its s/frame.
run() {
  local dir=$1 size=$2 frames=$3 prec=$4
  shift 4
  (cd "$dir" && "${wrap[@]}" node dist/tools/cli.js bench --size "$size" --frames "$frames" --precision "$prec" \
    --peers none --no-profile --reps "$reps" --json "$@" 2>/dev/null) |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s.slice(s.indexOf("{")));console.log(r.secondsPerFrame.toFixed(3))})'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

echo "| size | T | precision | this checkout s/frame (runs) | base s/frame (runs) | medians | speed ratio |"
echo "|---|---|---|---|---|---|---|"
for sf in ${sizes//,/ }; do
  size=${sf%%:*} frames=${sf##*:}
  for prec in ${precisions//,/ }; do
    new=() old=()
    for ((r = 0; r < rounds; r++)); do
      if ((r % 2 == 0)); then
        old+=("$(run "$base" "$size" "$frames" "$prec")")
        new+=("$(run "$here" "$size" "$frames" "$prec" "${extra[@]}")")
      else
        new+=("$(run "$here" "$size" "$frames" "$prec" "${extra[@]}")")
        old+=("$(run "$base" "$size" "$frames" "$prec")")
      fi
    done
    mn=$(median "${new[@]}") mo=$(median "${old[@]}")
    ratio=$(awk -v n="$mn" -v o="$mo" 'BEGIN { printf "%.2f", o / n }')
    echo "| $size | $frames | $prec${extra:+ ${extra[*]}} | ${new[*]} | ${old[*]} | $mn vs $mo | ×$ratio |"
  done
done
