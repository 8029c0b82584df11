#!/usr/bin/env bash
# callB (2026-12-07, fourth part): the one-launch scan forming a chunk's
# steps (and gate) ahead (ahead_bench.py: kernel A/B, then Vim-Ti under
# graphs with the two best), and the GPU tests of the one-launch scan.
set -uo pipefail
. benchmarks/device_preamble.sh callB
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 140 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 400 python3 benchmarks/session_1207d/ahead_bench.py --e2e "$D/e2e" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||^==|img/s|Error' "$D/bench.log" | head -60
date -u >> "$D/env.txt"
