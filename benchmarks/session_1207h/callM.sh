#!/usr/bin/env bash
# callM (2026-12-07, eighth part): GPU tests of HEAD's defaults (the op at
# Vim-Ti's shape and the wider widths' default configurations, the fused
# backbone loop against the unfused one); confirm.py (Vim-Ti and DeiT-Ti
# under CUDA graphs: 2048² / 1248² b64 twice, b8 once, with the unfused
# loop between; 738² / 1024² b8 and b64 for peak memory); then
# vims_bench.py (the fused kernel at Vim-S's width against cuBLAS + the
# norm kernel).
set -uo pipefail
. benchmarks/device_preamble.sh callM
timeout 100 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 90 \
    -rfEs tests/test_ops/test_linear_add_rms_norm.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'vim_ti_shape or wide_default or out_proj_fused' \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 170 python3 benchmarks/session_1207h/confirm.py "$D" \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -E '^==|img/s|Error' "$D/bench.log" | head -40
timeout 50 python3 benchmarks/session_1207h/vims_bench.py \
    > "$D/vims.log" 2>&1
echo "vims rc $?"; grep -E '^\||^picked|Error' "$D/vims.log" | head -24
date -u >> "$D/env.txt"
