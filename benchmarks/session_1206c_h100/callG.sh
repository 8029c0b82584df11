#!/usr/bin/env bash
# callG (2026-12-06, third part): the tree with the conv kernel's 64-channel
# conv chunks (callE, callF): Vim-Ti against DeiT-Ti SDPA under CUDA graphs
# at 1248² and 2048², batch 64 and batch 8 (benchmark_backbone.py).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
D="$OUT/callG"
mkdir -p "$D"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
} > "$D/env.txt" 2>&1
for bs in 64 8; do
    timeout 130 python3 tools/analysis_tools/benchmark_backbone.py \
        --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 \
        --batch-size $bs --precisions bf16 --warmup 5 --repeats 15 \
        --kernel-time 3 --cuda-graph --no-plot --out-dir "$D/b$bs" \
        > "$D/b$bs.log" 2>&1
    echo "b$bs rc $?"
    grep -E "img/s" "$D/b$bs.log" | grep -v Warn | tail -4
done
date -u >> "$D/env.txt"
