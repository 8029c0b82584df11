#!/bin/bash
# Call D (2026-12-05, sixth part): the new defaults (split batch-8 main
# kernel pipelined, fp32 B and C from the conv kernel) against the commit
# before them (.head_src = `git archive e995252 mmmamba`). (1) GPU tests:
# conv fp32 B/C bit for bit, pipelined scan, Vim's launchers vs ops;
# (2) mixer core kernels A/B, two alternating rounds; (3) README command
# at 1248² and 2048² b8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/callD
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 200 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_ops/test_conv_proj.py tests/test_ops/test_selective_scan.py tests/test_models/test_layers/test_bimamba.py -k "bc_fp32 or pipelined or launchers_equal" > $OUT/callD/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/callD/gpu_tests.log | tail -10
export TILES=def SHAPES='1248x8,2048x8,1248x64'
for r in 1 2; do
  for P in .head_src:/tmp/site .:/tmp/site; do
    echo "== round $r PYTHONPATH=$P"
    PYTHONPATH=$P timeout 100 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn"
  done
done 2>&1 | tee $OUT/callD/ab.log
timeout 150 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 2048 --batch-size 8 --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/callD/b8 > $OUT/callD/b8.log 2>&1; echo rc=$?
grep -E "img/s" $OUT/callD/b8.log
date -u
