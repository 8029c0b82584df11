#!/bin/bash
# Call C (prepared 2026-12-04, not run: no device was lent that session):
# ScanConfig.widen_bc, the opaque widening of B and C in the time-major
# forward (offline Triton 3.6: 11.12 -> 8.31 instructions per state update
# at batch 64 at equal registers). Its GPU tests (bit-identical outputs),
# then widen_ab.py: the mixer core's kernel time and Vim-Ti img/s with it
# off, on (B/C; B/C and u/delta), and on under a 168-register cap
# (batch-8 tiles).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callC
export PYTHONPATH=.:/tmp/site
date -u; uptime
timeout 120 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py -k widen > $OUT/callC/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "PASSED|FAILED|ERROR|passed|failed" $OUT/callC/gpu_tests.log | tail -8
timeout 500 python3 benchmarks/session_1204g_h200/widen_ab.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callC/widen_ab.log
date -u
