#!/bin/bash
# Call F (prepared 2026-12-05, third part; no device that session): batch 8
# without the host.
# 1. GPU tests of benchmark_backbone's --cuda-graph step and of the
#    pre-pass on its own tile.
# 2. The README table's command with --cuda-graph (eager forward captured
#    in one CUDA graph, replayed) at 1248² / 2048², batch 8 and 64.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callF
export PYTHONPATH=.:/tmp/site
date -u
timeout 120 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA -k "cuda_graph or pre_pass" tests/test_tools/test_benchmark_backbone.py tests/test_ops/test_selective_scan.py > $OUT/callF/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callF/gpu_tests.log | tail -8
for b in 8 64; do
  timeout $((b == 64 ? 170 : 110)) python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size $b --precisions bf16 --warmup 5 --repeats 15 --kernel-time --cuda-graph --no-plot --out-dir $OUT/callF/graph_b$b > $OUT/callF/graph_b$b.log 2>&1; echo rc=$?
  grep "^| " $OUT/callF/graph_b$b/summary.md | tail -6
done
date -u
