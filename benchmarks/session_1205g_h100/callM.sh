#!/bin/bash
# Call M (2026-12-05, seventh part): the README command with both models
# replayed from CUDA graphs (--cuda-graph: the GPU's time without the
# host's) at 1248² and 2048², batch 8 and 64, bf16, with this part's
# defaults (batch-8 pre-pass 16 x 8 td-first; pipelined 8-step main
# kernel).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callM
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
for b in 8 64; do
  timeout $((b == 64 ? 200 : 130)) python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --kernel-time --cuda-graph --no-plot --out-dir $OUT/callM/graph_b$b > $OUT/callM/graph_b$b.log 2>&1; echo rc=$?
  grep -E "img/s" $OUT/callM/graph_b$b.log
done
date -u
