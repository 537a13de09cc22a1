#!/usr/bin/env bash
# striate against PyTorch on this machine, in one run: builds striate,
# installs the pinned torch into .bench-venv (once), and prints one table
# with the ratio per row. Arguments go to `striate bench`
# (e.g. --rows m1,m4, --epochs 5, --smoke, --threads 2).
# Without torch (no registry, or STRIATE_BENCH_NO_TORCH=1), striate's rows
# still run and the table says PyTorch was not measured.
# Per-op throughput in GFLOP/s (no PyTorch) is `cargo bench --bench conv`
# (or matmul, pool), with `-- --quick` for a short check.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
venv=.bench-venv
torch=()
if [ -z "${STRIATE_BENCH_NO_TORCH:-}" ]; then
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "installing PyTorch into $venv (once; about 5 GB with its CUDA libraries) …" >&2
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q -r bench/requirements.txt; } >&2; then
      echo "PyTorch could not be installed: timing striate alone" >&2
    fi
  fi
  if "$venv/bin/python" -c "import torch" 2>/dev/null; then
    torch=(--torch "$venv/bin/python")
  fi
fi
exec ./target/release/striate bench "${torch[@]}" "$@"
