#!/usr/bin/env bash
# callN (2026-12-07, eighth part): callM cut to what little device time
# was left after its refusals: the GPU tests of HEAD's defaults, then
# confirm.py's first batch-64 round (Vim-Ti and DeiT-Ti at 2048² / 1248²
# under CUDA graphs).
set -uo pipefail
. benchmarks/device_preamble.sh callN
timeout 90 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 80 \
    -rfEs tests/test_ops/test_linear_add_rms_norm.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'vim_ti_shape or wide_default or out_proj_fused' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 60 python3 benchmarks/session_1207h/confirm.py "$D" quick \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^==|img/s|Error' "$D/bench.log" | head -10
date -u >> "$D/env.txt"
