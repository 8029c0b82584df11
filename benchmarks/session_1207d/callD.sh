#!/usr/bin/env bash
# callD (2026-12-07, fourth part): the look-ahead scan's stages and 8-step
# chunks, kernel alone (tile_bench.py).
set -uo pipefail
. benchmarks/device_preamble.sh callD
timeout 200 python3 benchmarks/session_1207d/tile_bench.py > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||Error' "$D/bench.log" | head -30
date -u >> "$D/env.txt"
