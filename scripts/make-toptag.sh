#!/usr/bin/env bash
# Writes a Top-Quark-Tagging-layout data set of generated jets (top against
# QCD, from striate's built-in generator; balanced, shuffled) as a pandas HDF5
# file and as Parquet shards laid out as the Hugging Face Hub does, streaming
# (memory stays at one chunk of jets). Then, e.g.:
#   striate pixelate --input OUT/toptag.h5 --npix 40 --out OUT/images.h5
#   striate pixelate --input OUT/toptag_parquet --npix 40 --out OUT/images.h5
# Usage: scripts/make-toptag.sh [OUT_DIR (default /tmp/toptag)] [JETS (default 1200000)]
# The files are large (GBs for 1.2M jets): keep them out of the repository.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-/tmp/toptag}"
jets="${2:-1200000}"
mkdir -p "$out"
cargo build --release --manifest-path "$here/Cargo.toml" --bin striate
bin="$here/target/release/striate"
start=$(date +%s)
"$bin" data toptag --jets "$jets" --h5 "$out/toptag.h5" --parquet "$out/toptag_parquet"
echo "generated $jets jets in $(( $(date +%s) - start )) s"
du -sh "$out/toptag.h5" "$out/toptag_parquet"
