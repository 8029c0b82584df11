#!/bin/bash
# Call 5 (2026-12-05, fifth part; NOT RUN: no device time was left).
# carry [".whl", ".head_src"], .head_src/mmmamba = `git archive b282885
# mmmamba` (before the segment buffers' new layout). (1) GPU tests of the
# launchers (bit for bit the ops at Vim-Ti width, split), of the pre-pass
# tiles (8x16 is now the split default) and of the scan at 1248²; (2) the
# mixer core's kernels, b282885 vs tree, alternating, two rounds; (3) the
# README table's command at 1248² b8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl >/dev/null 2>&1
mkdir -p $OUT/call5
date -u; nvidia-smi --query-gpu=name --format=csv,noheader
export PYTHONPATH=.:/tmp/site
timeout 230 python3 -m pytest -m gpu -p no:cacheprovider --tb=short -rA tests/test_models/test_layers/test_bimamba.py tests/test_ops/test_selective_scan.py -k "launch or pre_pass or vim-ti-1248" > $OUT/call5/gpu_tests.log 2>&1; echo tests rc=$?
grep -E "^(PASSED|FAILED|ERROR)|passed|failed" $OUT/call5/gpu_tests.log | tail -14
export TILES=def SHAPES='1248x8,2048x8'
for r in 1 2; do
  for P in .head_src:/tmp/site .:/tmp/site; do
    echo "== round $r PYTHONPATH=$P"
    PYTHONPATH=$P timeout 100 python3 benchmarks/session_1205c_h200/b8_tiles.py 2>&1 | grep -v "Warn\|warn"
  done
done 2>&1 | tee $OUT/call5/ab.log
timeout 70 python3 tools/analysis_tools/benchmark_backbone.py --models vim-tiny deit-tiny-sdpa --resolutions 1248 --batch-size 8 --precisions bf16 --warmup 5 --repeats 15 --kernel-time --no-plot --out-dir $OUT/call5/b8 > $OUT/call5/b8.log 2>&1; echo rc=$?
grep -E "img/s" $OUT/call5/b8.log
date -u
