#!/bin/bash
# Call C: conv + projection kernel sweep (block_ec, maxnreg); Vim-Ti end to end with the sweep's best against the default (tree); the kernel's GPU tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204d_h200
mkdir -p $OUT/callC
export PYTHONPATH=.:/tmp/site
date -u
timeout 330 python3 $S/sweep_convproj.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callC/sweep.log
BEST=$(grep '^BEST ' $OUT/callC/sweep.log | cut -d' ' -f2)
for run in "tree x=0" "best cp=$BEST"; do
  set -- $run
  LABEL=$1 PATCH=$2 SHAPES=1248x8,1248x64,2048x8 timeout 100 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callC/e2e.log
done
timeout 100 python3 -m pytest -q -p no:cacheprovider tests/test_ops/test_conv_proj.py -m gpu 2>&1 | tail -3 | tee $OUT/callC/gpu_tests.log
