#!/usr/bin/env bash
# `striate pixelate` against EnergyFlow's pixelate on the same jets, in one run:
# writes N generated jets (half top, half quark; examples/jets_npy.rs) to
# $DIR/jets-N.npy once, times striate on every core and on one, times
# EnergyFlow 1.4 (bench/pixelate_bench.py: the same recipe, jet after jet),
# checks that both give the same images, and prints jets/s, the ratio and the CPU.
# Usage: scripts/pixelate-bench.sh [N=150000] [PYTHON with bench/pixelate-requirements.txt, default python3]
# Env: DIR (default /tmp/striate-pixelate-bench), NPIX (40), WIDTH (0.8).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-150000}"
py="${2:-python3}"
dir="${DIR:-/tmp/striate-pixelate-bench}"
npix="${NPIX:-40}"
width="${WIDTH:-0.8}"
mkdir -p "$dir"
cargo build --release --quiet --bin striate --example jets_npy
jets="$dir/jets-$n.npy"
[ -f "$jets" ] || ./target/release/examples/jets_npy "$jets" "$n"
now() { date +%s.%N; }
declare -A rate
for threads in "$(nproc)" 1; do
  start=$(now)
  ./target/release/striate --threads "$threads" pixelate --quiet --overwrite --norm \
    --npix "$npix" --width "$width" -i "$jets" -o "$dir/images-$threads.npy"
  rate[$threads]=$("$py" -c "print(f'{$n / ($(now) - $start):.0f}')")
done
cmp -s "$dir/images-1.npy" "$dir/images-$(nproc).npy" || { echo "images differ between thread counts" >&2; exit 1; }
ef=$("$py" bench/pixelate_bench.py "$jets" --npix "$npix" --width "$width" --compare "$dir/images-1.npy")
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
"$py" - "$ef" "${rate[$(nproc)]}" "${rate[1]}" "$(nproc)" "$cpu" "$n" "$npix" <<'PY'
import json, sys
ef, par, one, cores, cpu, n, npix = json.loads(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
print(f"{n} jets to {npix}x{npix} images on {cpu} ({cores} cores)")
print(f"striate pixelate, {cores} threads: {par:,.0f} jets/s")
print(f"striate pixelate, 1 thread:  {one:,.0f} jets/s")
print(f"EnergyFlow {ef['energyflow']} pixelate (numpy {ef['numpy']}): {ef['jets_per_s']:,.0f} jets/s, "
      f"largest pixel difference {ef['max_abs_diff']:.2e}")
print(f"ratio: {par / ef['jets_per_s']:.1f}x on {cores} cores, {one / ef['jets_per_s']:.1f}x on one")
PY
