#!/usr/bin/env bash
# callC (2026-12-07, third part): the new conv + projection defaults
# (3 stages, row groups of 8): the conv_proj and Vim GPU tests, then the
# README's grid under CUDA graphs (Vim-Ti and DeiT-Ti SDPA, one process).
set -uo pipefail
. benchmarks/device_preamble.sh callC
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider --timeout 190 \
    -rfEs tests/test_ops/test_conv_proj.py \
    tests/test_models/test_layers/test_bimamba.py \
    tests/test_models/test_backbones/test_vision_mamba.py \
    -k 'not autocast' > "$D/tests.log" 2>&1
echo "tests rc $?"; grep -E "FAIL|ERROR|passed|failed" "$D/tests.log" | tail -8
for p in "2048 64" "1248 8" "1248 64" "2048 8"; do
  set -- $p
  timeout 120 python3 tools/analysis_tools/benchmark_backbone.py \
      --models deit-tiny-sdpa vim-tiny --resolutions $1 --batch-size $2 \
      --precisions bf16 --warmup 3 --repeats 10 --no-plot --cuda-graph \
      --out-dir "$D/graphs_$1_b$2" > "$D/graphs_$1_b$2.log" 2>&1
  echo "graphs $1 b$2 rc $?"; grep -E "img/s" "$D/graphs_$1_b$2.log"
done
date -u >> "$D/env.txt"
