#!/usr/bin/env bash
# callL (2026-12-07, seventh part): out_proj + the next add + RMSNorm in
# one kernel, second version (three 64-wide accumulators): fuse_e2e.py
# (kernel sweep at 2048² / 1248² b64 and b8; Vim-Ti under graphs unfused /
# fused twice at b64 with DeiT-Ti, once each at b8), then GPU tests (the
# op at Vim-Ti's shape, the backbone's fused loop against the unfused
# one), then wave_five.py (the scan alone at batch 44, 55, 64, 2048²).
set -uo pipefail
. benchmarks/device_preamble.sh callL
timeout 300 python3 benchmarks/session_1207g/fuse_e2e.py "$D/e2e" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^\||^==|^picked|img/s|Error' "$D/bench.log" | head -90
timeout 90 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 80 \
    -rfEs tests/test_ops/test_linear_add_rms_norm.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'vim_ti_shape or out_proj_fused' > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 40 python3 benchmarks/session_1207g/wave_five.py > "$D/wave.log" 2>&1
echo "wave rc $?"; grep -E '^\|' "$D/wave.log"
date -u >> "$D/env.txt"
