#!/bin/bash
# Call D: the tree's 1248² b64 lead over DeiT-Ti SDPA again (two alternating rounds), then the GPU tests of the scans (whose z gate now takes the SFU SiLU) and of the backbone
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
S=benchmarks/session_1204f_h200
mkdir -p $OUT/callD
date -u; nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader; uptime
for r in 1 2; do
  LABEL=tree$r PYTHONPATH=.:/tmp/site SHAPES=1248x64 timeout 60 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callD/e2e.log
  MODEL=deit-tiny-sdpa LABEL=deit$r PYTHONPATH=.:/tmp/site SHAPES=1248x64 timeout 60 python3 $S/e2e.py 2>&1 | grep -v "Warn\|warn" | tee -a $OUT/callD/e2e.log
done
date -u
export PYTHONPATH=.:/tmp/site
timeout 100 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_models/test_backbones/test_vision_mamba.py > $OUT/callD/gpu_tests_backbone.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callD/gpu_tests_backbone.log | grep -v "warn\|Warn\|^  " | tail -4
timeout 230 python3 -m pytest -m gpu -q -p no:cacheprovider --tb=short tests/test_ops/test_selective_scan.py > $OUT/callD/gpu_tests_scan.log 2>&1; echo rc=$?
grep -v "^$" $OUT/callD/gpu_tests_scan.log | grep -v "warn\|Warn\|^  " | tail -6
date -u
