#!/usr/bin/env bash
# callI (2026-12-06, fourth part): the one-launch scan with its sums in
# halves (_sum_halves). (1) its GPU tests and BiMamba's one-launch core;
# (2) Vim-Ti and DeiT-Ti SDPA at 1248² / 2048² b64 under CUDA graphs.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callI"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 120 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 100 \
    -rfEs tests/test_ops/test_bidir_fused_scan.py \
    tests/test_models/test_layers/test_bimamba.py -k "bidir or one_launch" \
    > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "PASS|FAIL|ERROR" "$D/tests.log" | tail -8
timeout 150 python3 tools/analysis_tools/benchmark_backbone.py \
    --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 \
    --batch-size 64 --precisions bf16 --warmup 5 --repeats 15 \
    --kernel-time 3 --cuda-graph --no-plot --out-dir "$D/b64" \
    > "$D/e2e.log" 2>&1
echo "e2e rc $?"; grep -E "img/s" "$D/e2e.log" | grep -v Warn
