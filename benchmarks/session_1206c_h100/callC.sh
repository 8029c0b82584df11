#!/usr/bin/env bash
# callC (2026-12-06, third part): the tree as committed (one-launch scan
# with delta formed in it, the batch-64 inference default). (1) every GPU
# test of the files the change touches: BiMamba, the conv + projection
# kernel, the one-launch scan, VisionMamba, and Vim's compiled paths; (2)
# the README's eager batch-64 points (benchmark_backbone.py without CUDA
# graphs), Vim-Ti and DeiT-Ti SDPA at 1248² and 2048².
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callC"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
timeout 330 python3 -m pytest -m gpu -v -p no:cacheprovider --timeout 200 \
    -rfEs tests/test_models/test_layers/test_bimamba.py \
    tests/test_ops/test_conv_proj.py tests/test_ops/test_bidir_fused_scan.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    tests/test_models/test_model_compile.py -k "not vmamba and not ss2d" \
    > "$D/gpu_tests.log" 2>&1
echo "tests rc $?"
grep -E "PASSED|FAILED|ERROR|SKIPPED|passed|failed" "$D/gpu_tests.log" \
    | tail -40
timeout 200 python3 tools/analysis_tools/benchmark_backbone.py \
    --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 \
    --batch-size 64 --precisions bf16 --warmup 5 --repeats 15 \
    --kernel-time 3 --no-plot --out-dir "$D/eager" > "$D/eager.log" 2>&1
echo "eager rc $?"
grep -E "img/s" "$D/eager.log" | grep -v Warn | tail -8
date -u >> "$D/env.txt"
