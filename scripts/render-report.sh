#!/usr/bin/env bash
# Renders a run's report.html in headless Chromium to a PNG screenshot, to
# check that the page displays offline. Installs Debian's chromium if needed.
# Usage: scripts/render-report.sh RUN_DIR [OUT.png]
set -euo pipefail
run="${1:?usage: $0 RUN_DIR [OUT.png]}"
out="${2:-$run/report-screenshot.png}"
if ! command -v chromium >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -q chromium >/dev/null
fi
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1200,2400 \
  --screenshot="$out" "file://$(realpath "$run")/report.html" 2>/dev/null
echo "screenshot: $out"
