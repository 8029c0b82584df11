#!/usr/bin/env bash
# callG (2026-12-06): the tree after the unsplit pipelined tile was bounded
# to L < 8192 (TMAJOR_PIPELINE_MAX_L): the new tile's GPU test, then Vim-Ti
# against DeiT-Ti SDPA at 1248² and 2048² b64 under CUDA graphs.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callG"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$OUT/callG/env.txt" 2>&1
timeout 60 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 50 \
    tests/test_ops/test_selective_scan.py -k "unsplit_pipelined" \
    > "$OUT/callG/gpu_test.log" 2>&1; echo "test rc $?"
grep -E "PASSED|FAILED|ERROR|passed|failed" "$OUT/callG/gpu_test.log" | tail -3
timeout 200 python3 tools/analysis_tools/benchmark_backbone.py \
    --models vim-tiny deit-tiny-sdpa --batch-size 64 --precisions bf16 \
    --resolutions 1248 2048 --warmup 5 --repeats 15 --kernel-time 3 \
    --cuda-graph --no-plot --out-dir "$OUT/callG/b64" \
    > "$OUT/callG/b64.log" 2>&1; echo "bench rc $?"
grep "img/s" "$OUT/callG/b64.log"
date -u >> "$OUT/callG/env.txt"
