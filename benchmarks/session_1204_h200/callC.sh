#!/bin/bash
# Call C: host-bound points, HEAD and the tree alternated in separate processes (callB's order effect), cProfile of the tree, GPU tests
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callC
S=benchmarks/session_1204_h200
nproc; uptime
for r in 1 2 3; do
  PYTHONPATH=.head_src:/tmp/site SHAPES=224x1,1248x8 PIECES=$([ $r = 3 ] && echo 1 || echo 0) LABEL=head$r timeout 100 python3 $S/ab_host.py 2>&1 | grep -v "Warn\|warn" | grep "img/s\|µs" >> $OUT/callC/ab_alt.log
  PYTHONPATH=.:/tmp/site SHAPES=224x1,1248x8 FAST=1 PIECES=$([ $r = 3 ] && echo 1 || echo 0) LABEL=new$r timeout 100 python3 $S/ab_host.py 2>&1 | grep -v "Warn\|warn" | grep "img/s\|µs" >> $OUT/callC/ab_alt.log
  PYTHONPATH=.:/tmp/site SHAPES=224x1,1248x8 FAST=0 PIECES=0 LABEL=new$r timeout 100 python3 $S/ab_host.py 2>&1 | grep -v "Warn\|warn" | grep "img/s\|µs" >> $OUT/callC/ab_alt.log
done
cat $OUT/callC/ab_alt.log
PYTHONPATH=.:/tmp/site SKIP1=1 timeout 120 python3 $S/host_cost.py > $OUT/callC/host_cost_new.log 2>&1; echo rc=$?
grep -A22 "Ordered by: internal" $OUT/callC/host_cost_new.log | head -24
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_launch.py tests/test_ops/test_conv_proj.py tests/test_models/test_backbones/test_vision_mamba.py > $OUT/callC/gpu_tests.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callC/gpu_tests.log | tail -8
