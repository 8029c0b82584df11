#!/bin/bash
# Call B: where callA's tree lost host time at 1248² b8 (host_ab.py, head against tree); the tree with the 16-bit softplus in the conv + projection kernel against callA's numbers (mixer_ab.py); Vim-Ti end to end at 1248² b8 / b64 (e2e.py); the remaining GPU tests of the changed ops
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204e_h200
mkdir -p $OUT/callB
date -u; uptime
for run in "head .head_src" "tree ."; do
  set -- $run
  LABEL=$1 PYTHONPATH=$2:/tmp/site SHAPES=224x1,1248x8 timeout 100 python3 $S/host_ab.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callB/host_ab.log
done
LABEL=tree PYTHONPATH=.:/tmp/site SHAPES=1248x64,1248x8,2048x8,224x128 timeout 100 python3 $S/mixer_ab.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callB/mixer_ab.log
LABEL=tree PYTHONPATH=.:/tmp/site KERNELS=1 SHAPES=1248x64,1248x8,2048x8 timeout 150 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callB/e2e.log
date -u
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_conv_proj.py tests/test_ops/test_bidir_scan.py tests/test_models/test_layers/test_bimamba.py > $OUT/callB/gpu_tests.log 2>&1; echo rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callB/gpu_tests.log | tail -40
date -u
