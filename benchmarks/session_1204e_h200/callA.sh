#!/bin/bash
# Call A: the session's start (.head_src, HEAD f301b33) against the tree (softplus + bias in the conv + projection kernel, the first direction ungated, the second gating the sum): the mixer core's kernel time by kernel; Vim-Ti end to end beside DeiT-Ti SDPA; GPU tests of the changed ops
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204e_h200
mkdir -p $OUT/callA
date -u; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader; uptime
for run in "head .head_src" "tree ." "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site SHAPES=1248x64,1248x8,2048x8,224x128 timeout 100 python3 $S/mixer_ab.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/mixer_ab.log
done
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site KERNELS=1 SHAPES=1248x64,1248x8,2048x8 timeout 150 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/e2e.log
done
MODEL=deit-tiny-sdpa LABEL=deit PYTHONPATH=.:/tmp/site SHAPES=1248x64,1248x8,2048x8 timeout 100 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/e2e.log
date -u
export PYTHONPATH=.:/tmp/site
timeout 170 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_conv_proj.py tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_bidir_scan.py > $OUT/callA/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callA/gpu_tests.log | tail -8
date -u
