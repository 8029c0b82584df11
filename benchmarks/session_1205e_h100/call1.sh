#!/bin/bash
# Call 1 (2026-12-05, fifth part): the GPU tests whose inputs overflowed
# (widen_bc, pre-pass tile: delta now > 0) and the CUDA-graph test fix;
# widen_diff.py on the same inputs; then callH's ncu of the batch-8 scan
# kernels (session_1205c_h200/callH.sh).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
export PYTHONPATH=.:/tmp/site
mkdir -p $OUT/call1
date -u; nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
timeout 240 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA -k "widen_bc or pre_pass or cuda_graph" tests/test_ops/test_selective_scan.py tests/test_tools/test_benchmark_backbone.py > $OUT/call1/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/call1/gpu_tests.log | tail -16
timeout 90 python3 benchmarks/session_1205b_h200/widen_diff.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/call1/widen_diff.log
date -u
OUT=$OUT/call1 timeout 230 bash benchmarks/session_1205c_h200/callH.sh 2>&1 | tail -45
date -u
