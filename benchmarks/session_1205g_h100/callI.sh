#!/bin/bash
# Call I (2026-12-05, seventh part): ScanConfig.pre_td_first, the batch-8
# pre-pass's per-step math in the loads' layout. (1) GPU tests: td-first
# against the plain pre-pass (bf16, fp32; with and without softplus);
# (2) mixer core kernel ms at 1248² / 2048² b8, the default's pre-pass
# (8 x 16) plain and td-first, td-first on 16 x 8 and d32 t4, default
# again last.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callI
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py -k "td_first" > $OUT/callI/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callI/gpu_tests.log | tail -6
TILES='def,def+ptd,def+p16t8+ptd,def+p32t4+ptd,def,def+ptd' SHAPES='1248x8,2048x8' timeout 300 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callI/pre.log
date -u
