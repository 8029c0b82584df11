#!/bin/bash
# Call A (2026-12-05, sixth part): ScanConfig.l1_ahead, the L1 prefetch of
# chunk c + l1_ahead (no register, so no scoreboard shared with the exp2
# results). (1) GPU tests: outputs bit for bit as without; (2) the mixer
# core's kernels at 1248² / 2048² b8 (split) and 1248² b64 (unsplit) with
# l1_ahead 0 (def, twice) and 1, 2, 3.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callA
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py -k "l1_prefetch" > $OUT/callA/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callA/gpu_tests.log | tail -6
S=benchmarks/session_1205c_h200/b8_tiles.py
TILES='def,def+l2,def+l1,def+l3,def' SHAPES='1248x8,2048x8' timeout 200 python3 $S 2>&1 | grep -v "Warn\|warn" | tee $OUT/callA/b8.log
TILES='def,def+l2,def' SHAPES='1248x64' timeout 120 python3 $S 2>&1 | grep -v "Warn\|warn" | tee $OUT/callA/b64.log
date -u
