#!/usr/bin/env bash
# callD (2026-12-07, fourth part; run in the fifth): the look-ahead scan's
# stages and 8-step chunks, kernel alone (tile_bench.py's variants), and
# end to end if one is >= 1% faster (tile_e2e.py).
set -uo pipefail
. benchmarks/device_preamble.sh callD
timeout 560 python3 benchmarks/session_1207d/tile_e2e.py "$D/e2e" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||^==|^best|^no end|img/s|Error' \
    "$D/bench.log" | head -50
date -u >> "$D/env.txt"
