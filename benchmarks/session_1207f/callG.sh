#!/usr/bin/env bash
# callG (2026-12-07, sixth part): GPU tests on today's defaults (8-step
# chunks of the one-launch scan under Triton 3.6), then rounds_e2e.py
# (the scan alone at 4 / 8 steps, 4-5 stages; Vim-Ti under graphs:
# today's defaults, 4-step chunks, the conv kernel's row groups of 8,
# and those with 5 scan stages, alternated twice, DeiT-Ti SDPA once).
set -uo pipefail
. benchmarks/device_preamble.sh callG
timeout 110 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_ops/test_conv_proj.py \
    tests/test_models/test_layers/test_bimamba.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'batch_64 or loops_forming or inference or matches_cpu or bidir' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 400 python3 benchmarks/session_1207f/rounds_e2e.py "$D/e2e" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||^==|img/s|Error' "$D/bench.log" | head -70
date -u >> "$D/env.txt"
