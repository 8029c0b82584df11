#!/bin/bash
# Call A: scan variants (pre_split, step kernel on bf16 N-last B/C) and the patch embedding's conv vs GEMM (variants.py); Vim-Ti end to end with the conv (before) and the GEMM (tree), DeiT-Ti SDPA beside; GPU tests of the patch GEMM
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204d_h200
mkdir -p $OUT/callA
date -u; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 330 python3 $S/variants.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callA/variants.log
for run in "before gemm=0" "tree pre=1"; do
  set -- $run
  LABEL=$1 PATCH=$2 KERNELS=1 SHAPES=1248x8,1248x64,2048x8 timeout 150 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/e2e.log
done
MODEL=deit-tiny-sdpa LABEL=deit SHAPES=1248x8,1248x64,2048x8 timeout 100 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/e2e.log
timeout 120 python3 -m pytest -q -p no:cacheprovider tests/test_models/test_layers/test_embed.py tests/test_models/test_backbones/test_vision_mamba.py -k "cuda or gpu_fp32" 2>&1 | tail -4 | tee $OUT/callA/gpu_tests.log
