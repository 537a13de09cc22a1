#!/usr/bin/env bash
# Everything striate needs on a fresh machine, installed from the package
# registries. The default build is pure Rust (HDF5, PNG, safetensors and the
# GEMM kernels are Rust crates), so this only checks the toolchain and
# fetches crates; it is safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is not installed; install Rust (https://rustup.rs) first" >&2
  exit 1
fi
cargo fetch --locked -q 2>/dev/null || cargo fetch -q
