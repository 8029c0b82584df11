#!/bin/bash
# Call C (2026-12-05, sixth part): ScanConfig.stages, Triton's software
# pipeliner on the time-major forward kernels' chunk loops (cp.async to
# shared memory instead of the register prefetch), with B and C in fp32.
# (1) GPU tests: outputs to rounding of the register-prefetch kernels';
# (2) the mixer core's kernels at 1248² / 2048² b8 (split) and 1248² b64
# (unsplit): def (twice), +f (B and C fp32 only), +f+s2/s3/s4, +s3 (bf16).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callC
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py -k "pipelined" > $OUT/callC/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callC/gpu_tests.log | tail -6
S=benchmarks/session_1205c_h200/b8_tiles.py
TILES='def,def+f,def+f+s3,def+f+s2,def+f+s4,def+s3,def' SHAPES='1248x8,2048x8' timeout 240 python3 $S 2>&1 | grep -v "Warn\|warn" | tee $OUT/callC/b8.log
TILES='def,def+f,def+f+s3,def' SHAPES='1248x64' timeout 120 python3 $S 2>&1 | grep -v "Warn\|warn" | tee $OUT/callC/b64.log
date -u
