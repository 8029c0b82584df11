#!/bin/bash
# Call L (2026-12-05, seventh part): the new batch-8 pre-pass default
# (16 x 8, pre_td_first). (1) GPU tests: Vim's inference launchers
# against its ops (bit for bit), the td-first and pipelined scans against
# the plain ones; (2) mixer core kernel ms, new default against the
# previous pre-pass (8 x 16 plain), alternating; (3) the README command at
# 1248² and 2048², batch 8, bf16.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callL
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py -k "launchers_equal or td_first_matches or pipelined_scan_matches" > $OUT/callL/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callL/gpu_tests.log | tail -10
TILES='def,def+p8t16+ptd0,def,def+p8t16+ptd0' SHAPES='1248x8,2048x8' timeout 200 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn" | tee $OUT/callL/ab.log
timeout 170 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 8 --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/callL/b8 > $OUT/callL/b8.log 2>&1; echo b8 rc=$?
grep -E "img/s" $OUT/callL/b8.log
date -u
