#!/bin/bash
# Call J (2026-12-05, seventh part): the pre-pass with u and delta loaded
# straight into the scan tile's layout (inline-asm loads, no conversion
# through shared memory; TD_FIRST / pre_td_first as it was in this
# call's tree, later renamed). (1) GPU tests of that pre-pass against the
# plain one; (2) mixer core kernel ms at 1248² / 2048² b8: default (8 x
# 16 plain), 8 x 16 direct, 16 x 8 plain and direct, d32 t4 direct,
# default again.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callJ
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 150 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py -k "td_first_matches" > $OUT/callJ/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callJ/gpu_tests.log | tail -6
TILES='def,def+ptd,def+p16t8,def+p16t8+ptd,def+p32t4+ptd,def,def+ptd' SHAPES='1248x8,2048x8' timeout 300 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callJ/pre.log
date -u
