#!/bin/bash
# Call Q (2026-12-05, seventh part): a share of the batch-8 scans' decays
# on the FMA pipe (ScanConfig.exp2_fma / pre_exp2_fma: every 8th or 4th
# step's exp2 by triton_math.exp2_fma). (1) GPU tests against the plain
# kernels; (2) mixer core kernel ms at 1248² / 2048² b8, default first
# and last.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callQ
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py -k "exp2_fma" > $OUT/callQ/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callQ/gpu_tests.log | tail -4
TILES='def,def+e8,def+pe8,def+pe4,def+e8+pe8,def+e4,def' SHAPES='1248x8,2048x8' timeout 300 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callQ/ab.log
date -u
