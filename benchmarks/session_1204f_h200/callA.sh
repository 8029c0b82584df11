#!/bin/bash
# Call A: B and C read as int32 pairs of states (BC_NL == 2) against bf16 tiles (the session's start): the mixer core's kernel time by kernel per variant (register caps too); Vim-Ti end to end, head against tree, beside DeiT-Ti SDPA
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204f_h200
mkdir -p $OUT/callA
date -u; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader; uptime
PYTHONPATH=.:/tmp/site SHAPES=1248x64,1248x8,2048x8,224x128 timeout 180 python3 $S/pairs_ab.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callA/pairs_ab.log
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site KERNELS=1 SHAPES=1248x64,1248x8,2048x8,2048x64 timeout 110 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/e2e.log
done
MODEL=deit-tiny-sdpa LABEL=deit PYTHONPATH=.:/tmp/site SHAPES=1248x64,1248x8,2048x8,2048x64 timeout 80 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callA/e2e.log
date -u
