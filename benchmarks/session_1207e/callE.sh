#!/usr/bin/env bash
# callE (2026-12-07, fifth part): 8-step chunks of the one-launch scan,
# the new default under Triton 3.6: GPU tests, then block_t_e2e.py (the
# kernel at 4-6 stages; Vim-Ti under graphs, 8 / 4 steps alternated).
set -uo pipefail
. benchmarks/device_preamble.sh callE
timeout 110 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_models/test_layers/test_bimamba.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'batch_64 or loops_forming or inference or matches_cpu' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 230 python3 benchmarks/session_1207e/block_t_e2e.py "$D/e2e" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||^==|^not an|img/s|Error' "$D/bench.log" | head -60
date -u >> "$D/env.txt"
