#!/bin/bash
# Call C: the tree (SFU SiLU, conv + projection cap 168, cached bf16 prologue weights) against head (515f07c): the mixer core's kernel time by kernel; Vim-Ti end to end beside DeiT-Ti SDPA; GPU tests of the changed ops and the mixer
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204f_h200
mkdir -p $OUT/callC
date -u; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader; uptime
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site SHAPES=1248x64,1248x8,2048x8,224x128 timeout 70 python3 $S/mixer_ab.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callC/mixer_ab.log
done
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site KERNELS=1 SHAPES=1248x64,2048x64,2048x8,1248x8 timeout 90 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callC/e2e.log
done
MODEL=deit-tiny-sdpa LABEL=deit PYTHONPATH=.:/tmp/site SHAPES=1248x64,2048x64,2048x8,1248x8 timeout 70 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callC/e2e.log
date -u
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py tests/test_ops/test_causal_conv1d.py tests/test_models/test_layers/test_bimamba.py > $OUT/callC/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callC/gpu_tests.log | tail -8
date -u
