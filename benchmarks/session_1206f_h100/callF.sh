#!/usr/bin/env bash
# callF (2026-12-06, sixth part): GPU tests of the changed kernels, the
# clamped scan loads and the featmap kernel, today's tree end to end.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callF"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  python3 -c 'import torch, triton; print(torch.__version__, triton.__version__)'
} > "$D/env.txt" 2>&1
timeout 120 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_ops/test_token_layout.py tests/test_ops/test_patch_tokens.py \
    tests/test_models/test_layers/test_bimamba.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
timeout 300 python3 benchmarks/session_1206f_h100/callF_bench.py \
    > "$D/bench.log" 2>&1
echo "bench rc $?"; grep -v "Warn\|mmengine\|The value\|torch.Size\|^ *$" \
    "$D/bench.log" | tail -50
date -u >> "$D/env.txt"
