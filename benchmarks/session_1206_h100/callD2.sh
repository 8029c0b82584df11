#!/usr/bin/env bash
# callD2 (2026-12-06): callD cut to the device budget left (~140 s of
# work): Vim-Ti vs DeiT-Ti SDPA at 2048² b64 under CUDA graphs with the new
# default (the open 2.5x target), the new tile's GPU test (bf16: the
# launcher's default bit for bit), then 1248² b64 if time is left.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p "$OUT/callD2"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$OUT/callD2/env.txt" 2>&1
B="python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --batch-size 64 --precisions bf16 --warmup 5 --repeats 15 --kernel-time --cuda-graph --no-plot"
timeout 75 $B --resolutions 2048 --out-dir "$OUT/callD2/b64_2048" \
    > "$OUT/callD2/b64_2048.log" 2>&1; echo "2048 rc $?"
grep "img/s" "$OUT/callD2/b64_2048.log"
timeout 45 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 40 \
    tests/test_ops/test_selective_scan.py -k "unsplit_pipelined and bfloat16" \
    > "$OUT/callD2/gpu_test.log" 2>&1; echo "test rc $?"
grep -E "PASSED|FAILED|ERROR|passed|failed" "$OUT/callD2/gpu_test.log" | tail -3
timeout 40 $B --resolutions 1248 --out-dir "$OUT/callD2/b64_1248" \
    > "$OUT/callD2/b64_1248.log" 2>&1; echo "1248 rc $?"
grep "img/s" "$OUT/callD2/b64_1248.log"
date -u >> "$OUT/callD2/env.txt"
