#!/bin/bash
# Call C (tree: conv1d_silu_proj writes B, C as (B, L, N); the time-major forward reads them in place, BC_NL): end to end against HEAD 1dc3c28 and DeiT-Ti, alternated; a no-op default_config wrapper as a control for callB's odd pair; GPU tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204b_h200
mkdir -p $OUT/callC
date -u; uptime
run() { PYTHONPATH=$1:/tmp/site MODEL=$2 PATCH=$3 LABEL=$4 SHAPES=$5 KERNELS=$6 timeout 150 python3 $S/e2e.py 2>&1 | grep "img/s\|kernels" >> $OUT/callC/e2e.log; }
run .head_src vim-tiny "" head1 1248x8,2048x8,1248x64 1
run . vim-tiny "" tree1 1248x8,2048x8,1248x64 1
run . deit-tiny-sdpa "" deit1 1248x8,2048x8,1248x64 0
for r in 2 3; do
  run . vim-tiny wrap tree-wrap$r 1248x8 0
  run .head_src vim-tiny "" head$r 1248x8 0
  run . vim-tiny "" tree$r 1248x8 0
  run . deit-tiny-sdpa "" deit$r 1248x8 0
done
cat $OUT/callC/e2e.log
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py tests/test_models/test_layers/test_bimamba.py tests/test_models/test_backbones/test_vision_mamba.py tests/test_ops/test_selective_scan.py -k "not mamba_ssm" > $OUT/callC/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callC/gpu_tests.log | tail -5
