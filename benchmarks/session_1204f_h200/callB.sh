#!/bin/bash
# Call B: the SFU SiLU (conv + projection, conv, scan gate): the mixer core's kernel time by kernel, head (515f07c) against the tree; conv + projection configurations with it; Vim-Ti end to end, head against tree, beside DeiT-Ti SDPA
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204f_h200
mkdir -p $OUT/callB
date -u; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader; uptime
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site SHAPES=1248x64,1248x8,2048x8,224x128 timeout 80 python3 $S/mixer_ab.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callB/mixer_ab.log
done
PYTHONPATH=.:/tmp/site timeout 100 python3 $S/sweep_convproj.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callB/sweep_convproj.log
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site SHAPES=1248x64,2048x64,2048x8 timeout 90 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callB/e2e.log
done
MODEL=deit-tiny-sdpa LABEL=deit PYTHONPATH=.:/tmp/site SHAPES=1248x64,2048x64,2048x8 timeout 70 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callB/e2e.log
date -u
