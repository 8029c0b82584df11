#!/usr/bin/env bash
# callC (2026-12-07, fourth part): the new defaults of the one-launch scan
# (look-ahead 2, register cap 168): GPU tests, then e2e_ab.py (graphs,
# old / new alternated, DeiT-Ti SDPA; the kernel alone).
set -uo pipefail
. benchmarks/device_preamble.sh callC
timeout 170 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 160 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_models/test_layers/test_bimamba.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'inference or matches_cpu or loops_forming or batch_64' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 380 python3 benchmarks/session_1207d/e2e_ab.py "$D/e2e" \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"; grep -E '^\||^==|img/s|Error' "$D/e2e.log" | head -40
date -u >> "$D/env.txt"
