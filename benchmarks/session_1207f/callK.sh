#!/usr/bin/env bash
# callK (2026-12-07, sixth part): the one-launch conv kernel with both
# directions in one program (shared_x): GPU tests (one launch against two,
# with and without shared_x), then shared_x.py (kernel sweep at 2048²,
# 1248² b64 and 224² b128; Vim-Ti under graphs, default / picked twice,
# DeiT-Ti SDPA once); then wave_check.py (the scan alone at batch 56-72,
# 2048²: is its time set by the busiest SMs?).
set -uo pipefail
. benchmarks/device_preamble.sh callK
timeout 120 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_conv_proj.py -k 'bidir_launcher and b64' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 330 python3 benchmarks/session_1207f/shared_x.py "$D/e2e" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||^==|^picked|img/s|Error' "$D/bench.log" | head -60
timeout 90 python3 benchmarks/session_1207f/wave_check.py > "$D/wave.log" 2>&1
echo "wave rc $?"; grep -E '^\|' "$D/wave.log"
date -u >> "$D/env.txt"
